package scheduler_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/scheduler"
)

// Tests that need real cron ticks call scheduler.UseExactEvery (from
// export_test.go), which reads "@every 20ms" as an exact 20 ms interval;
// production parsing has a one-second floor. Everything else goes through
// RunNow, which takes the same path as a tick.

var t0 = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

// clock returns t0, t0+step, t0+2*step, ... on successive calls.
type clock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.t
	c.t = c.t.Add(c.step)
	return t
}

// syncBuffer is a bytes.Buffer safe for the runner's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newRunner builds a Runner on a fresh registry and stops it at cleanup.
func newRunner(tb testing.TB, opts scheduler.Options) (*scheduler.Runner, *prometheus.Registry) {
	tb.Helper()
	reg := prometheus.NewPedanticRegistry()
	opts.Registerer = reg
	r, err := scheduler.New(opts)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := r.Stop(ctx); err != nil {
			tb.Errorf("Stop: %v", err)
		}
	})
	return r, reg
}

func mustRegister(tb testing.TB, r *scheduler.Runner, j scheduler.Job) {
	tb.Helper()
	if err := r.Register(j); err != nil {
		tb.Fatalf("Register(%s): %v", j.Name, err)
	}
}

func ok(items int) func(context.Context) (scheduler.Result, error) {
	return func(context.Context) (scheduler.Result, error) {
		return scheduler.Result{Items: items, Detail: "done"}, nil
	}
}

// blocking returns a job body that signals started and then waits for
// release or for its context; it reports how many bodies ran at once.
func blocking(started chan<- struct{}, release <-chan struct{}, maxConcurrent *atomic.Int32) func(context.Context) (scheduler.Result, error) {
	var cur atomic.Int32
	return func(ctx context.Context) (scheduler.Result, error) {
		n := cur.Add(1)
		defer cur.Add(-1)
		if maxConcurrent != nil && n > maxConcurrent.Load() {
			maxConcurrent.Store(n)
		}
		select {
		case started <- struct{}{}:
		default:
		}
		select {
		case <-release:
			return scheduler.Result{Items: 1}, nil
		case <-ctx.Done():
			return scheduler.Result{}, ctx.Err()
		}
	}
}

// metric finds the series name{labels} in g, or returns nil.
func metric(tb testing.TB, g prometheus.Gatherer, name string, labels map[string]string) *dto.Metric {
	tb.Helper()
	mfs, err := g.Gather()
	if err != nil {
		tb.Fatalf("Gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; !ok || v != lp.GetValue() {
					continue next
				}
			}
			return m
		}
	}
	return nil
}

func runs(tb testing.TB, g prometheus.Gatherer, job string, o scheduler.Outcome) float64 {
	tb.Helper()
	m := metric(tb, g, "calibd_scheduler_runs_total", map[string]string{"job": job, "outcome": string(o)})
	if m == nil {
		tb.Fatalf("no calibd_scheduler_runs_total{job=%q,outcome=%q}", job, o)
	}
	return m.GetCounter().GetValue()
}

func TestNewRejects(t *testing.T) {
	if _, err := scheduler.New(scheduler.Options{Timeout: -time.Second}); err == nil {
		t.Error("New(Timeout: -1s) succeeded")
	}
	reg := prometheus.NewRegistry()
	if _, err := scheduler.New(scheduler.Options{Registerer: reg}); err != nil {
		t.Fatalf("New: %v", err)
	}
	if _, err := scheduler.New(scheduler.Options{Registerer: reg}); err == nil {
		t.Error("second New on the same registry succeeded")
	}
}

func TestRegister(t *testing.T) {
	r, _ := newRunner(t, scheduler.Options{})
	tests := []struct {
		name    string
		job     scheduler.Job
		wantErr []string // substrings of the error; nil: no error
	}{
		{"five fields", scheduler.Job{Name: "plan", Spec: "*/15 6-18 * * 1-5", Run: ok(0)}, nil},
		{"every", scheduler.Job{Name: "visits", Spec: "@every 5m", Run: ok(0)}, nil},
		{"descriptor", scheduler.Job{Name: "certificate_expiry", Spec: "@daily", Run: ok(0)}, nil},
		{"on demand", scheduler.Job{Name: "lift-cycles-2", Spec: "", Run: ok(0)}, nil},
		{"duplicate", scheduler.Job{Name: "plan", Spec: "@hourly", Run: ok(0)}, []string{`"plan"`, "already registered"}},
		{"empty name", scheduler.Job{Name: "", Spec: "@daily", Run: ok(0)}, []string{`""`, "name"}},
		{"upper case", scheduler.Job{Name: "Plan", Spec: "@daily", Run: ok(0)}, []string{`"Plan"`, "name"}},
		{"space", scheduler.Job{Name: "plan now", Spec: "@daily", Run: ok(0)}, []string{`"plan now"`}},
		{"non-ascii", scheduler.Job{Name: "plän", Spec: "@daily", Run: ok(0)}, []string{`"plän"`}},
		{"nil run", scheduler.Job{Name: "empty", Spec: "@daily"}, []string{`"empty"`, "Run is nil"}},
		{"three fields", scheduler.Job{Name: "short", Spec: "* * *", Run: ok(0)}, []string{`"short"`, `"* * *"`}},
		{"out of range", scheduler.Job{Name: "minute61", Spec: "61 * * * *", Run: ok(0)}, []string{`"minute61"`, `"61 * * * *"`}},
		{"seconds field", scheduler.Job{Name: "secs", Spec: "0 */5 * * * *", Run: ok(0)}, []string{`"secs"`, `"0 */5 * * * *"`}},
		{"unknown descriptor", scheduler.Job{Name: "weird", Spec: "@fortnightly", Run: ok(0)}, []string{`"weird"`, `"@fortnightly"`}},
		{"bad every", scheduler.Job{Name: "every", Spec: "@every soon", Run: ok(0)}, []string{`"every"`, `"@every soon"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := r.Register(tt.job)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Register(%q, %q) = %v, want nil", tt.job.Name, tt.job.Spec, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Register(%q, %q) = nil, want an error", tt.job.Name, tt.job.Spec)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Register(%q, %q) = %q, want it to mention %s", tt.job.Name, tt.job.Spec, err, s)
				}
			}
		})
	}
	var names []string
	for _, j := range r.Jobs() {
		names = append(names, j.Name)
	}
	if diff := cmp.Diff([]string{"certificate_expiry", "lift-cycles-2", "plan", "visits"}, names); diff != "" {
		t.Errorf("Jobs() names (-want +got):\n%s", diff)
	}
}

func TestRunNowOutcomes(t *testing.T) {
	boom := errors.New("store unavailable")
	tests := []struct {
		name string
		run  func(context.Context) (scheduler.Result, error)
		want scheduler.Run
	}{
		{
			name: "succeeded",
			run:  ok(3),
			want: scheduler.Run{Items: 3, Detail: "done", Outcome: scheduler.OutcomeSucceeded},
		},
		{
			name: "error keeps partial result",
			run: func(context.Context) (scheduler.Result, error) {
				return scheduler.Result{Items: 1, Detail: "1 of 4"}, boom
			},
			want: scheduler.Run{Items: 1, Detail: "1 of 4", Outcome: scheduler.OutcomeFailed, Err: "store unavailable"},
		},
		{
			name: "panic",
			run:  func(context.Context) (scheduler.Result, error) { panic("index out of range") },
			want: scheduler.Run{Outcome: scheduler.OutcomeFailed, Err: "panic: index out of range"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t: t0, step: 2 * time.Second}
			r, _ := newRunner(t, scheduler.Options{Now: clk.Now})
			mustRegister(t, r, scheduler.Job{Name: "plan", Spec: "@hourly", Run: tt.run})
			got, err := r.RunNow(t.Context(), "plan")
			if err != nil {
				t.Fatalf("RunNow: %v", err)
			}
			want := tt.want
			want.Job, want.Started, want.Finished = "plan", t0, t0.Add(2*time.Second)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("RunNow (-want +got):\n%s", diff)
			}
			last, found := r.Last("plan")
			if !found || !cmp.Equal(last, got) {
				t.Errorf("Last(plan) = %+v, %v, want %+v, true", last, found, got)
			}
		})
	}
}

func TestPanicLoggedWithStack(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r, _ := newRunner(t, scheduler.Options{Logger: log})
	mustRegister(t, r, scheduler.Job{Name: "overdue", Run: func(context.Context) (scheduler.Result, error) {
		var m map[string]int
		m["x"] = 1 // a real runtime panic
		return scheduler.Result{}, nil
	}})
	got, err := r.RunNow(t.Context(), "overdue")
	if err != nil {
		t.Fatalf("RunNow: %v", err)
	}
	if got.Outcome != scheduler.OutcomeFailed || !strings.Contains(got.Err, "assignment to entry in nil map") {
		t.Errorf("RunNow = %+v, want failed with the panic message", got)
	}
	out := buf.String()
	for _, s := range []string{"level=ERROR", `msg="job finished"`, "job=overdue", "outcome=failed", "stack=", "runner_test.go"} {
		if !strings.Contains(out, s) {
			t.Errorf("log lacks %q:\n%s", s, out)
		}
	}
	// The runner survives: the next run works.
	if _, err := r.RunNow(t.Context(), "overdue"); err != nil {
		t.Errorf("second RunNow: %v", err)
	}
}

func TestUnknownJob(t *testing.T) {
	r, _ := newRunner(t, scheduler.Options{})
	_, err := r.RunNow(t.Context(), "nope")
	if !errors.Is(err, scheduler.ErrUnknownJob) || !errors.Is(err, devices.ErrNotFound) {
		t.Errorf("RunNow(nope) = %v, want ErrUnknownJob and devices.ErrNotFound", err)
	}
	if _, found := r.Last("nope"); found {
		t.Error("Last(nope) found a run")
	}
}

func TestSkipWhileRunning(t *testing.T) {
	r, reg := newRunner(t, scheduler.Options{})
	started, release := make(chan struct{}, 1), make(chan struct{})
	var calls atomic.Int32
	body := blocking(started, release, nil)
	mustRegister(t, r, scheduler.Job{Name: "plan", Run: func(ctx context.Context) (scheduler.Result, error) {
		calls.Add(1)
		return body(ctx)
	}})
	first := make(chan scheduler.Run, 1)
	go func() {
		run, _ := r.RunNow(context.Background(), "plan")
		first <- run
	}()
	<-started
	if info := r.Jobs()[0]; !info.Running {
		t.Errorf("Jobs()[0].Running = false during a run")
	}
	second, err := r.RunNow(t.Context(), "plan")
	if err != nil {
		t.Fatalf("second RunNow: %v", err)
	}
	if second.Outcome != scheduler.OutcomeSkippedRunning || second.Err != "" {
		t.Errorf("second RunNow = %+v, want skipped_running", second)
	}
	close(release)
	if got := <-first; got.Outcome != scheduler.OutcomeSucceeded {
		t.Errorf("first RunNow = %+v, want succeeded", got)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("job ran %d times, want 1", n)
	}
	if got := runs(t, reg, "plan", scheduler.OutcomeSkippedRunning); got != 1 {
		t.Errorf("runs_total{skipped_running} = %v, want 1", got)
	}
}

func TestSkipWhenLockedElsewhere(t *testing.T) {
	// Two runners sharing one LocalLocker stand for two replicas sharing
	// one PostgreSQL advisory lock.
	var lock scheduler.LocalLocker
	a, _ := newRunner(t, scheduler.Options{Locker: &lock})
	b, regB := newRunner(t, scheduler.Options{Locker: &lock})
	started, release := make(chan struct{}, 1), make(chan struct{})
	mustRegister(t, a, scheduler.Job{Name: "overdue", Spec: "*/5 * * * *", Run: blocking(started, release, nil)})
	var calledB atomic.Bool
	mustRegister(t, b, scheduler.Job{Name: "overdue", Spec: "*/5 * * * *", Run: func(context.Context) (scheduler.Result, error) {
		calledB.Store(true)
		return scheduler.Result{}, nil
	}})

	done := make(chan scheduler.Run, 1)
	go func() {
		run, _ := a.RunNow(context.Background(), "overdue")
		done <- run
	}()
	<-started
	got, err := b.RunNow(t.Context(), "overdue")
	if err != nil {
		t.Fatalf("RunNow on b: %v", err)
	}
	if got.Outcome != scheduler.OutcomeSkippedLocked || !got.Finished.Equal(got.Started) {
		t.Errorf("RunNow on b = %+v, want skipped_locked", got)
	}
	if calledB.Load() {
		t.Error("b ran the job while a held the lock")
	}
	close(release)
	<-done
	if n := runs(t, regB, "overdue", scheduler.OutcomeSkippedLocked); n != 1 {
		t.Errorf("b runs_total{skipped_locked} = %v, want 1", n)
	}
	// The lock is released after the run: b may run now.
	if got, _ := b.RunNow(t.Context(), "overdue"); got.Outcome != scheduler.OutcomeSucceeded || !calledB.Load() {
		t.Errorf("RunNow on b after a finished = %+v, want succeeded", got)
	}
}

// lockerFunc adapts a function to scheduler.Locker.
type lockerFunc func(ctx context.Context, name string) (func(), bool, error)

func (f lockerFunc) TryLock(ctx context.Context, name string) (func(), bool, error) {
	return f(ctx, name)
}

func TestLockError(t *testing.T) {
	locker := lockerFunc(func(context.Context, string) (func(), bool, error) {
		return nil, false, errors.New("connection refused")
	})
	r, reg := newRunner(t, scheduler.Options{Locker: locker})
	var called atomic.Bool
	mustRegister(t, r, scheduler.Job{Name: "plan", Run: func(context.Context) (scheduler.Result, error) {
		called.Store(true)
		return scheduler.Result{}, nil
	}})
	got, err := r.RunNow(t.Context(), "plan")
	if err != nil {
		t.Fatalf("RunNow: %v", err)
	}
	if got.Outcome != scheduler.OutcomeFailed || got.Err != "acquire lock: connection refused" {
		t.Errorf("RunNow = %+v, want failed with the lock error", got)
	}
	if called.Load() {
		t.Error("job ran without the lock")
	}
	h := metric(t, reg, "calibd_scheduler_run_duration_seconds", map[string]string{"job": "plan"})
	if n := h.GetHistogram().GetSampleCount(); n != 0 {
		t.Errorf("duration observations = %d, want 0 for a run that never executed", n)
	}
}

func TestUnlockAfterRun(t *testing.T) {
	var mu sync.Mutex
	var events []string
	note := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, s)
	}
	locker := lockerFunc(func(_ context.Context, name string) (func(), bool, error) {
		note("lock " + name)
		return func() { note("unlock " + name) }, true, nil
	})
	r, _ := newRunner(t, scheduler.Options{Locker: locker})
	mustRegister(t, r, scheduler.Job{Name: "expiry", Run: func(context.Context) (scheduler.Result, error) {
		note("run")
		panic("after run")
	}})
	if _, err := r.RunNow(t.Context(), "expiry"); err != nil {
		t.Fatalf("RunNow: %v", err)
	}
	if diff := cmp.Diff([]string{"lock expiry", "run", "unlock expiry"}, events); diff != "" {
		t.Errorf("lock events (-want +got):\n%s", diff)
	}
}

func TestMetrics(t *testing.T) {
	clk := &clock{t: t0, step: 2 * time.Second}
	r, reg := newRunner(t, scheduler.Options{Now: clk.Now})
	fail := false
	mustRegister(t, r, scheduler.Job{Name: "plan", Run: func(context.Context) (scheduler.Result, error) {
		if fail {
			return scheduler.Result{Items: 1}, errors.New("half done")
		}
		return scheduler.Result{Items: 3}, nil
	}})

	// Series exist at zero from registration; last success only after one.
	for _, o := range []scheduler.Outcome{scheduler.OutcomeSucceeded, scheduler.OutcomeFailed, scheduler.OutcomeSkippedRunning, scheduler.OutcomeSkippedLocked} {
		if got := runs(t, reg, "plan", o); got != 0 {
			t.Errorf("runs_total{%s} before any run = %v, want 0", o, got)
		}
	}
	if m := metric(t, reg, "calibd_scheduler_last_success_timestamp_seconds", map[string]string{"job": "plan"}); m != nil {
		t.Errorf("last_success before any success = %v, want absent", m)
	}

	var lastOK scheduler.Run
	for _, f := range []bool{false, false, true} {
		fail = f
		run, err := r.RunNow(t.Context(), "plan")
		if err != nil {
			t.Fatalf("RunNow: %v", err)
		}
		if !f {
			lastOK = run
		}
	}
	if got := runs(t, reg, "plan", scheduler.OutcomeSucceeded); got != 2 {
		t.Errorf("runs_total{succeeded} = %v, want 2", got)
	}
	if got := runs(t, reg, "plan", scheduler.OutcomeFailed); got != 1 {
		t.Errorf("runs_total{failed} = %v, want 1", got)
	}
	items := metric(t, reg, "calibd_scheduler_items_total", map[string]string{"job": "plan"})
	if got := items.GetCounter().GetValue(); got != 7 {
		t.Errorf("items_total = %v, want 7 (3+3+1)", got)
	}
	h := metric(t, reg, "calibd_scheduler_run_duration_seconds", map[string]string{"job": "plan"}).GetHistogram()
	if h.GetSampleCount() != 3 || h.GetSampleSum() != 6 {
		t.Errorf("duration count, sum = %d, %v, want 3, 6", h.GetSampleCount(), h.GetSampleSum())
	}
	g := metric(t, reg, "calibd_scheduler_last_success_timestamp_seconds", map[string]string{"job": "plan"})
	if got, want := g.GetGauge().GetValue(), float64(lastOK.Finished.Unix()); got != want {
		t.Errorf("last_success = %v, want %v (finish of the last success)", got, want)
	}
}

func TestTimeoutCancelsContext(t *testing.T) {
	r, _ := newRunner(t, scheduler.Options{Timeout: 50 * time.Millisecond})
	seen := make(chan error, 1)
	mustRegister(t, r, scheduler.Job{Name: "silence", Run: func(ctx context.Context) (scheduler.Result, error) {
		<-ctx.Done()
		seen <- ctx.Err()
		return scheduler.Result{}, ctx.Err()
	}})
	got, err := r.RunNow(t.Context(), "silence")
	if err != nil {
		t.Fatalf("RunNow: %v", err)
	}
	if err := <-seen; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("job saw %v, want context.DeadlineExceeded", err)
	}
	if got.Outcome != scheduler.OutcomeFailed || !strings.HasPrefix(got.Err, "timed out after 50ms: ") {
		t.Errorf("RunNow = %+v, want failed with a timeout", got)
	}
}

func TestStopWaitsForRunningJob(t *testing.T) {
	r, err := scheduler.New(scheduler.Options{})
	if err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}, 1), make(chan struct{})
	mustRegister(t, r, scheduler.Job{Name: "plan", Spec: "@daily", Run: blocking(started, release, nil)})
	r.Start()
	done := make(chan scheduler.Run, 1)
	go func() {
		run, _ := r.RunNow(context.Background(), "plan")
		done <- run
	}()
	<-started

	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- r.Stop(ctx) }()
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned %v while a job was running", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-stopped; err != nil {
		t.Errorf("Stop = %v, want nil", err)
	}
	if got := <-done; got.Outcome != scheduler.OutcomeSucceeded {
		t.Errorf("run = %+v, want succeeded (not cancelled)", got)
	}
	if _, err := r.RunNow(t.Context(), "plan"); !errors.Is(err, scheduler.ErrStopped) {
		t.Errorf("RunNow after Stop = %v, want ErrStopped", err)
	}
	if err := r.Register(scheduler.Job{Name: "late", Run: ok(0)}); !errors.Is(err, scheduler.ErrStopped) {
		t.Errorf("Register after Stop = %v, want ErrStopped", err)
	}
	if next := r.Jobs()[0].Next; !next.IsZero() {
		t.Errorf("Next after Stop = %v, want zero", next)
	}
}

func TestStopDeadlineCancelsJobs(t *testing.T) {
	r, err := scheduler.New(scheduler.Options{})
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{}, 1)
	mustRegister(t, r, scheduler.Job{Name: "plan", Run: blocking(started, nil, nil)})
	done := make(chan scheduler.Run, 1)
	go func() {
		run, _ := r.RunNow(context.Background(), "plan")
		done <- run
	}()
	<-started
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := r.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Stop = %v, want context.DeadlineExceeded", err)
	}
	select {
	case got := <-done:
		if got.Outcome != scheduler.OutcomeFailed || got.Err != context.Canceled.Error() {
			t.Errorf("run = %+v, want failed with %q", got, context.Canceled)
		}
	case <-time.After(time.Second):
		t.Fatal("job not cancelled after Stop's deadline")
	}
}

func TestJobs(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	r, _ := newRunner(t, scheduler.Options{Now: clk.Now, Location: time.FixedZone("UTC+1", 3600)})
	mustRegister(t, r, scheduler.Job{Name: "plan", Spec: "0 6 * * *", Run: ok(2)})
	mustRegister(t, r, scheduler.Job{Name: "import", Run: ok(0)})
	if _, err := r.RunNow(t.Context(), "plan"); err != nil {
		t.Fatal(err)
	}
	at := clk.t
	want := []scheduler.JobInfo{
		{Name: "import"},
		{
			Name: "plan", Spec: "0 6 * * *",
			Next: time.Date(2026, 3, 1, 5, 0, 0, 0, time.UTC), // 06:00 at UTC+1
			Last: &scheduler.Run{Job: "plan", Started: at, Finished: at, Items: 2, Detail: "done", Outcome: scheduler.OutcomeSucceeded},
		},
	}
	if diff := cmp.Diff(want, r.Jobs()); diff != "" {
		t.Errorf("Jobs() (-want +got):\n%s", diff)
	}
}

func TestCronTicks(t *testing.T) {
	r, reg := newRunner(t, scheduler.Options{})
	scheduler.UseExactEvery(r)
	ticks := make(chan struct{}, 100)
	mustRegister(t, r, scheduler.Job{Name: "silence", Spec: "@every 20ms", Run: func(context.Context) (scheduler.Result, error) {
		ticks <- struct{}{}
		return scheduler.Result{Items: 1}, nil
	}})
	r.Start()
	// A job registered after Start is scheduled too.
	late := make(chan struct{}, 100)
	mustRegister(t, r, scheduler.Job{Name: "late", Spec: "@every 20ms", Run: func(context.Context) (scheduler.Result, error) {
		late <- struct{}{}
		return scheduler.Result{}, nil
	}})
	deadline := time.After(time.Second)
	for _, c := range []chan struct{}{ticks, ticks, late} {
		select {
		case <-c:
		case <-deadline:
			t.Fatal("fewer ticks than expected within 1s")
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	if err := r.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	n := runs(t, reg, "silence", scheduler.OutcomeSucceeded)
	if n < 2 {
		t.Errorf("runs_total{succeeded} = %v, want >= 2", n)
	}
	if last, found := r.Last("silence"); !found || last.Outcome != scheduler.OutcomeSucceeded || last.Items != 1 {
		t.Errorf("Last(silence) = %+v, %v, want a success", last, found)
	}
	time.Sleep(60 * time.Millisecond)
	if after := runs(t, reg, "silence", scheduler.OutcomeSucceeded); after != n {
		t.Errorf("runs after Stop: %v, then %v", n, after)
	}
}

func TestTickAndRunNowShareOnePath(t *testing.T) {
	r, reg := newRunner(t, scheduler.Options{})
	scheduler.UseExactEvery(r)
	started, release := make(chan struct{}, 1), make(chan struct{})
	var maxConcurrent atomic.Int32
	mustRegister(t, r, scheduler.Job{Name: "visits", Spec: "@every 20ms", Run: blocking(started, release, &maxConcurrent)})
	r.Start()
	select {
	case <-started: // a tick is running the job
	case <-time.After(time.Second):
		t.Fatal("no tick within 1s")
	}
	got, err := r.RunNow(t.Context(), "visits")
	if err != nil {
		t.Fatalf("RunNow: %v", err)
	}
	if got.Outcome != scheduler.OutcomeSkippedRunning {
		t.Errorf("RunNow during a tick = %+v, want skipped_running", got)
	}
	time.Sleep(60 * time.Millisecond) // let a few more ticks find it running
	close(release)
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	if err := r.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if n := maxConcurrent.Load(); n != 1 {
		t.Errorf("max concurrent runs = %d, want 1", n)
	}
	if n := runs(t, reg, "visits", scheduler.OutcomeSkippedRunning); n < 2 {
		t.Errorf("runs_total{skipped_running} = %v, want >= 2 (RunNow and ticks)", n)
	}
}
