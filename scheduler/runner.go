package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/calibd/calibd/devices"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"
)

// ErrUnknownJob: no job is registered under the name. It wraps
// devices.ErrNotFound, so the HTTP layer answers 404.
var ErrUnknownJob = fmt.Errorf("unknown scheduler job: %w", devices.ErrNotFound)

// ErrStopped: the Runner has been stopped and runs nothing more.
var ErrStopped = errors.New("scheduler stopped")

// DefaultTimeout bounds a run when Options.Timeout is zero.
const DefaultTimeout = 10 * time.Minute

// Job is a unit of scheduled work.
type Job struct {
	// Name identifies the job in logs, metrics, locks and the API:
	// lowercase letters, digits, '_' and '-'.
	Name string
	// Spec is a standard 5-field cron spec ("30 2 * * *") or a descriptor
	// ("@daily", "@every 5m"), read in Options.Location. Empty means the
	// job runs only on demand.
	Spec string
	// Run does the work. It must return soon after ctx is done and must be
	// idempotent: a tick may repeat on another replica.
	Run func(ctx context.Context) (Result, error)
}

// Result is what a job reports about a run.
type Result struct {
	Items  int    // objects created or changed
	Detail string // a short human summary
}

// Outcome is how a run ended.
type Outcome string

// Run outcomes, also the outcome label of calibd_scheduler_runs_total.
const (
	OutcomeSucceeded      Outcome = "succeeded"
	OutcomeFailed         Outcome = "failed"          // error, panic, timeout or lock failure
	OutcomeSkippedRunning Outcome = "skipped_running" // this process is already running the job
	OutcomeSkippedLocked  Outcome = "skipped_locked"  // another replica holds the job's lock
)

// Run records one attempt to run a job.
type Run struct {
	Job      string
	Started  time.Time // UTC
	Finished time.Time // UTC; equals Started for skips
	Items    int
	Detail   string
	Outcome  Outcome
	Err      string // why the run failed; empty otherwise
}

// JobInfo describes a registered job.
type JobInfo struct {
	Name    string
	Spec    string
	Next    time.Time // next tick after Now, UTC; zero for on-demand jobs and once stopped
	Running bool      // this process is running the job now
	Last    *Run      // the last run in this process, nil if none
}

// Options configures a Runner. Only Locker matters for correctness across
// replicas; the zero value of every field has a usable default.
type Options struct {
	Logger     *slog.Logger          // default: discard
	Registerer prometheus.Registerer // default: a private registry
	Locker     Locker                // default: a LocalLocker
	Location   *time.Location        // time zone of the specs; default UTC
	Timeout    time.Duration         // per run; default DefaultTimeout
	Now        func() time.Time      // clock for Run times and Next; default time.Now
}

// Runner runs registered jobs on their cron specs and on demand. Its
// methods are safe for concurrent use.
type Runner struct {
	log     *slog.Logger
	locker  Locker
	loc     *time.Location
	timeout time.Duration
	now     func() time.Time
	metrics *metrics
	cron    *cron.Cron
	parse   func(spec string) (cron.Schedule, error)

	// base is the parent of every run's context; Stop cancels it when its
	// own context ends before the runs do.
	base       context.Context
	cancelBase context.CancelFunc
	wg         sync.WaitGroup // runs in flight

	mu      sync.Mutex
	jobs    map[string]*entry
	stopped bool
}

// entry is a registered job and its state.
type entry struct {
	job      Job
	schedule cron.Schedule // nil for on-demand jobs
	running  atomic.Bool
	last     *Run // guarded by Runner.mu
}

// New builds a Runner. It registers the scheduler metrics with
// opts.Registerer and fails if they are already registered there.
func New(opts Options) (*Runner, error) {
	if opts.Timeout < 0 {
		return nil, fmt.Errorf("scheduler: negative timeout %s", opts.Timeout)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	if opts.Locker == nil {
		opts.Locker = &LocalLocker{}
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	cl := cronLogger{opts.Logger}
	r := &Runner{
		log:     opts.Logger,
		locker:  opts.Locker,
		loc:     opts.Location,
		timeout: opts.Timeout,
		now:     opts.Now,
		metrics: m,
		// Runner.execute recovers job panics and skips overlapping runs
		// itself, because RunNow shares that path; cron.Recover only guards
		// against a bug in the Runner.
		cron: cron.New(
			cron.WithLocation(opts.Location),
			cron.WithLogger(cl),
			cron.WithChain(cron.Recover(cl)),
		),
		parse: cron.ParseStandard,
		jobs:  make(map[string]*entry),
	}
	r.base, r.cancelBase = context.WithCancel(context.Background())
	return r, nil
}

// Register adds a job. It fails if the name is malformed or taken, Run is
// nil, the spec does not parse, or the Runner is stopped. A job registered
// after Start is scheduled at once.
func (r *Runner) Register(j Job) error {
	if !validName(j.Name) {
		return fmt.Errorf("register job %q: name must be non-empty lowercase letters, digits, '_' or '-'", j.Name)
	}
	if j.Run == nil {
		return fmt.Errorf("register job %q: Run is nil", j.Name)
	}
	e := &entry{job: j}
	r.mu.Lock()
	defer r.mu.Unlock()
	if j.Spec != "" {
		s, err := r.parse(j.Spec)
		if err != nil {
			return fmt.Errorf("register job %q: spec %q: %w", j.Name, j.Spec, err)
		}
		e.schedule = s
	}
	if r.stopped {
		return fmt.Errorf("register job %q: %w", j.Name, ErrStopped)
	}
	if _, dup := r.jobs[j.Name]; dup {
		return fmt.Errorf("register job %q: already registered", j.Name)
	}
	r.jobs[j.Name] = e
	r.metrics.add(j.Name)
	if e.schedule != nil {
		r.cron.Schedule(e.schedule, cron.FuncJob(func() {
			// ErrStopped only: a tick that lost the race with Stop.
			_, _ = r.execute(r.base, e, "schedule")
		}))
	}
	return nil
}

func validName(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-')
	})
}

// Start starts firing ticks. It does nothing if already started or
// stopped.
func (r *Runner) Start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.stopped {
		r.cron.Start()
	}
}

// Stop stops firing ticks, refuses new runs with ErrStopped, and waits for
// the runs in flight, scheduled or RunNow, to finish. If ctx ends first it
// cancels their contexts and returns ctx's error without waiting further.
func (r *Runner) Stop(ctx context.Context) error {
	r.mu.Lock()
	r.stopped = true
	cronDone := r.cron.Stop()
	r.mu.Unlock()
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		<-cronDone.Done()
		close(done)
	}()
	select {
	case <-done:
		r.cancelBase()
		return nil
	case <-ctx.Done():
		r.cancelBase()
		return fmt.Errorf("stop scheduler: %w", ctx.Err())
	}
}

// RunNow runs the named job at once, through the same path as a tick, and
// returns its Run. A skip is a Run with a skipped outcome, not an error;
// errors are ErrUnknownJob and ErrStopped only. The run's context derives
// from ctx, so cancelling ctx cancels the job.
func (r *Runner) RunNow(ctx context.Context, name string) (Run, error) {
	r.mu.Lock()
	e, ok := r.jobs[name]
	r.mu.Unlock()
	if !ok {
		return Run{}, fmt.Errorf("run job %q: %w", name, ErrUnknownJob)
	}
	run, err := r.execute(ctx, e, "manual")
	if err != nil {
		return Run{}, fmt.Errorf("run job %q: %w", name, err)
	}
	return run, nil
}

// Last returns the job's last run in this process.
func (r *Runner) Last(name string) (Run, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.jobs[name]; ok && e.last != nil {
		return *e.last, true
	}
	return Run{}, false
}

// Jobs lists the registered jobs by name.
func (r *Runner) Jobs() []JobInfo {
	now := r.now().In(r.loc)
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]JobInfo, 0, len(r.jobs))
	for _, e := range r.jobs {
		ji := JobInfo{Name: e.job.Name, Spec: e.job.Spec, Running: e.running.Load()}
		if e.schedule != nil && !r.stopped {
			ji.Next = e.schedule.Next(now).UTC()
		}
		if e.last != nil {
			l := *e.last
			ji.Last = &l
		}
		out = append(out, ji)
	}
	slices.SortFunc(out, func(a, b JobInfo) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// execute is the one path every run takes; trigger ("schedule" or
// "manual") is only logged.
func (r *Runner) execute(ctx context.Context, e *entry, trigger string) (Run, error) {
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		return Run{}, ErrStopped
	}
	r.wg.Add(1)
	r.mu.Unlock()
	defer r.wg.Done()

	start := r.now()
	run, executed, stack := r.attempt(ctx, e, trigger)
	end := r.now()
	run.Job = e.job.Name
	run.Started = start.UTC()
	run.Finished = end.UTC()
	if !executed {
		run.Finished = run.Started
	}
	d := end.Sub(start)

	r.mu.Lock()
	last := run
	e.last = &last
	r.mu.Unlock()
	r.metrics.record(run, executed, d)
	r.logRun(run, trigger, d, stack)
	return run, nil
}

// attempt skips, locks and runs. executed reports whether the job's Run
// was called; stack is set when it panicked.
func (r *Runner) attempt(ctx context.Context, e *entry, trigger string) (run Run, executed bool, stack []byte) {
	if !e.running.CompareAndSwap(false, true) {
		return Run{Outcome: OutcomeSkippedRunning}, false, nil
	}
	defer e.running.Store(false)

	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	defer context.AfterFunc(r.base, cancel)()

	unlock, ok, err := r.locker.TryLock(ctx, e.job.Name)
	if err != nil {
		return Run{Outcome: OutcomeFailed, Err: "acquire lock: " + err.Error()}, false, nil
	}
	if !ok {
		return Run{Outcome: OutcomeSkippedLocked}, false, nil
	}
	defer unlock()

	r.log.Debug("job started", "job", e.job.Name, "trigger", trigger)
	res, err := call(ctx, e.job.Run)
	run = Run{Items: res.Items, Detail: res.Detail, Outcome: OutcomeSucceeded}
	if err != nil {
		run.Outcome = OutcomeFailed
		run.Err = err.Error()
		if pe, ok := errors.AsType[*panicError](err); ok {
			stack = pe.stack
		} else if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			run.Err = fmt.Sprintf("timed out after %s: %s", r.timeout, run.Err)
		}
	}
	return run, true, stack
}

// panicError is a job's panic turned into an error.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

// call runs fn, turning a panic into a *panicError.
func call(ctx context.Context, fn func(context.Context) (Result, error)) (res Result, err error) {
	defer func() {
		if v := recover(); v != nil {
			res, err = Result{}, &panicError{value: v, stack: debug.Stack()}
		}
	}()
	return fn(ctx)
}

// logRun logs a finished run once, at a level that fits its outcome:
// skipped_locked is the normal lot of every replica but one, so debug.
func (r *Runner) logRun(run Run, trigger string, d time.Duration, stack []byte) {
	attrs := []any{"job", run.Job, "trigger", trigger, "outcome", string(run.Outcome),
		"items", run.Items, "duration_ms", float64(d.Microseconds()) / 1000}
	if run.Detail != "" {
		attrs = append(attrs, "detail", run.Detail)
	}
	level := slog.LevelInfo
	switch run.Outcome {
	case OutcomeFailed:
		level = slog.LevelError
		attrs = append(attrs, "error", run.Err)
		if stack != nil {
			attrs = append(attrs, "stack", string(stack))
		}
	case OutcomeSkippedRunning:
		level = slog.LevelWarn
	case OutcomeSkippedLocked:
		level = slog.LevelDebug
	}
	r.log.Log(context.Background(), level, "job finished", attrs...)
}

// cronLogger bridges cron's logger to slog. cron logs every wake-up at
// info, so its info goes to debug.
type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.Debug("cron: "+msg, kv...) }

func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error("cron: "+msg, append([]any{"error", err}, kv...)...)
}
