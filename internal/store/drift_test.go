package store_test

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
)

// TestDriftAlerts: a steady +0.1 °C check error on an ear thermometer
// (MPE 0.2, σ 0.05) raises one drift alert by the third reading and grows
// it after; a reading beyond the MPE raises out_of_tolerance. The same
// readings stored in another order (a later batch committed first, as two
// replicas may) leave exactly the same detector state and alerts.
func TestDriftAlerts(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx
		errs := []float64{0.1, 0.1, 0.1, 0.1, 0.25, 0.1}
		checks := func(dev string, idx ...int) []devices.Message {
			var out []devices.Message
			for _, i := range idx {
				out = append(out, devices.Message{Kind: devices.MessageChecks, Check: &devices.CheckReading{DeviceID: dev, Seq: int64(i + 1),
					TS: t0.Add(time.Duration(i) * time.Hour), ReferenceC: 37, ValueC: 37 + errs[i], Mode: devices.ModeCalibration}})
			}
			return out
		}
		save := func(msgs []devices.Message, at time.Time) {
			t.Helper()
			if _, err := st.SaveMessages(ctx, msgs, at); err != nil {
				t.Fatalf("SaveMessages: %v", err)
			}
		}
		// thermA: in order, in two batches. thermA2: the later batch first.
		save(checks(w.thermA.ID, 0, 1, 2), t0.Add(time.Minute))
		save(checks(w.thermA.ID, 3, 4, 5), t0.Add(2*time.Minute))
		save(checks(w.thermA2.ID, 3, 4, 5), t0.Add(3*time.Minute))
		save(checks(w.thermA2.ID, 0, 1, 2), t0.Add(4*time.Minute))
		// A body-mode reading and a redelivery change nothing.
		body := checks(w.thermA.ID, 5)
		body[0].Check.Seq, body[0].Check.Mode, body[0].Check.ValueC = 99, devices.ModeBody, 40
		save(append(body, checks(w.thermA.ID, 5)...), t0.Add(5*time.Minute))

		alerts := func(a devices.Actor, dev string) map[devices.AlertKind]devices.Alert {
			t.Helper()
			list, _, err := st.ListAlerts(ctx, a, devices.AlertFilter{DeviceID: dev}, devices.Page{})
			if err != nil {
				t.Fatal(err)
			}
			out := map[devices.AlertKind]devices.Alert{}
			for _, al := range list {
				out[al.Kind] = al
			}
			return out
		}
		a := alerts(w.adminA, w.thermA.ID)
		drift, oot := a[devices.AlertDrift], a[devices.AlertOutOfTolerance]
		if len(a) != 2 || drift.State != devices.AlertOpen || !drift.FirstAt.Equal(t0.Add(2*time.Hour)) || drift.Evidence != 4 ||
			oot.Evidence != 1 || !oot.FirstAt.Equal(t0.Add(4*time.Hour)) || oot.InstituteID == nil {
			t.Errorf("thermA alerts = %+v", a)
		}
		b := alerts(w.reg, w.thermA2.ID)
		if len(b) != 2 || b[devices.AlertDrift].Evidence != drift.Evidence || !b[devices.AlertDrift].FirstAt.Equal(drift.FirstAt) ||
			b[devices.AlertOutOfTolerance].Evidence != 1 {
			t.Errorf("thermA2 (stored out of order) alerts = %+v, want the same as thermA's", b)
		}
		stateOf := func(dev string) string {
			var s string
			if err := st.SQLDB().QueryRowContext(ctx, "SELECT state FROM drift_states WHERE device_id = '"+dev+"'").Scan(&s); err != nil {
				t.Fatal(err)
			}
			return s
		}
		if sa, sb := stateOf(w.thermA.ID), stateOf(w.thermA2.ID); sa != sb {
			t.Errorf("detector states differ with the arrival order:\n%s\n%s", sa, sb)
		}
		if n := countSQL(t, st, "SELECT replays FROM drift_states WHERE device_id = '"+w.thermA2.ID+"'"); n != 1 {
			t.Errorf("replays of thermA2 = %d, want 1", n)
		}

		// The alerts' effect: the out-of-tolerance reading marked the
		// device, and it has one urgent recheck task (one, though two
		// alerts opened).
		for _, id := range []string{w.thermA.ID, w.thermA2.ID} {
			th, err := st.GetThermometer(ctx, w.reg, id)
			if err != nil || th.Status != devices.StatusOutOfTolerance {
				t.Errorf("thermometer %s after the alerts: %s, %v", id, th.Status, err)
			}
			tasks := allTasks(t, st, w.reg, devices.TaskFilter{ThermometerID: id})
			if len(tasks) != 1 || tasks[0].Kind != devices.TaskRecheck || tasks[0].Priority != devices.PriorityOutOfTolerance ||
				!strings.Contains(tasks[0].PriorityReason, "alert") {
				t.Errorf("tasks of %s: %+v", id, tasks)
			}
		}

		// Visibility: operator B sees none; the institute sees thermA's
		// (assigned to it), not thermA2's.
		if l, _, _ := st.ListAlerts(ctx, w.adminB, devices.AlertFilter{}, devices.Page{}); len(l) != 0 {
			t.Errorf("operator B sees %d alerts", len(l))
		}
		if l, _, _ := st.ListAlerts(ctx, w.instAdmin, devices.AlertFilter{}, devices.Page{}); len(l) != 2 {
			t.Errorf("the institute sees %d alerts, want thermA's 2", len(l))
		}
		_, err := st.GetAlert(ctx, w.adminB, drift.ID)
		wantIs(t, "operator B reads A's alert", err, devices.ErrNotFound)
	})
}

// TestSilentDevices: a thermometer with a credential that sends nothing
// for more than a day, and a lift quiet for more than 15 minutes, get one
// silent alert each (however often the job runs); a device without a
// credential is not watched; the alert resolves when the device reports.
// thermA2 has no institute: its alert names none (a NULL there once
// failed the whole run).
func TestSilentDevices(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx
		for _, id := range []string{w.thermA.ID, w.thermA2.ID, w.elevA.ID} {
			if _, _, err := st.IssueDeviceSecret(ctx, w.adminA, id); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := st.SaveMessages(ctx, []devices.Message{{Kind: devices.MessageTelemetry, Telemetry: &devices.Telemetry{
			DeviceID: w.elevA.ID, Seq: 1, TS: t0, Metrics: map[string]float64{"door_cycles": 1}}}}, t0.Add(10*time.Minute)); err != nil {
			t.Fatal(err)
		}
		run := func(at time.Time) devices.SilenceReport {
			t.Helper()
			rep, err := st.RaiseSilent(ctx, at, 24*time.Hour, 15*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			return rep
		}
		if rep := run(t0.Add(20 * time.Minute)); rep.Watched != 3 || rep.Silent != 0 {
			t.Errorf("after 20 min: %+v, want 3 watched, none silent", rep)
		}
		if rep := run(t0.Add(30 * time.Minute)); rep.Silent != 1 || rep.Raised != 1 {
			t.Errorf("after 30 min: %+v, want the lift silent", rep)
		}
		if rep := run(t0.Add(25 * time.Hour)); rep.Silent != 3 || rep.Raised != 2 {
			t.Errorf("after 25 h: %+v, want all three silent, the thermometers newly", rep)
		}
		if rep := run(t0.Add(26 * time.Hour)); rep.Raised != 0 {
			t.Errorf("a second run raised %d more", rep.Raised)
		}
		if _, err := st.SaveMessages(ctx, []devices.Message{{Kind: devices.MessageTelemetry, Telemetry: &devices.Telemetry{
			DeviceID: w.elevA.ID, Seq: 2, TS: t0.Add(26 * time.Hour), Metrics: map[string]float64{"door_cycles": 2}}}}, t0.Add(26*time.Hour)); err != nil {
			t.Fatal(err)
		}
		open, _, _ := st.ListAlerts(ctx, w.reg, devices.AlertFilter{Kind: devices.AlertSilent, State: devices.AlertOpen}, devices.Page{})
		if len(open) != 2 || open[0].DeviceID == w.elevA.ID || open[1].DeviceID == w.elevA.ID {
			t.Errorf("open silent alerts after the lift reported: %+v, want the thermometers' only", open)
		}
		// The lift's clock falls back a day: its newest message by time
		// is an old one, but it did report (its newest by sequence), so
		// it is not silent.
		if _, err := st.SaveMessages(ctx, []devices.Message{{Kind: devices.MessageTelemetry, Telemetry: &devices.Telemetry{
			DeviceID: w.elevA.ID, Seq: 3, TS: t0.Add(2 * time.Hour), Metrics: map[string]float64{"door_cycles": 3}}}}, t0.Add(27*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if rep := run(t0.Add(27*time.Hour + 10*time.Minute)); rep.Silent != 2 {
			t.Errorf("10 min after the lift's message with a lagging clock: %+v, want only the thermometers silent", rep)
		}
		for _, al := range open {
			if (al.DeviceID == w.thermA2.ID) != (al.InstituteID == nil) {
				t.Errorf("silent alert of %s names institute %v", al.DeviceID, al.InstituteID)
			}
		}
	})
}

// TestPredictedDrift: a steady drift of 0.003 °C/day (the error reaches
// MPE − U = 0.15 °C on day 50) on a thermometer next due in a year
// raises predicted_drift once the regression has 30 daily checks, dated
// on day 50 (a noise-free line: the prediction bound is the line), and
// the detector report shows the same forecast.
func TestPredictedDrift(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		if _, err := st.SQLDB().ExecContext(w.ctx, "UPDATE thermometers SET next_due_at = $1 WHERE id = $2", t0.AddDate(1, 0, 0),
			w.thermA.ID); err != nil {
			t.Fatal(err)
		}
		var msgs []devices.Message
		for d := range 35 {
			msgs = append(msgs, devices.Message{Kind: devices.MessageChecks, Check: &devices.CheckReading{DeviceID: w.thermA.ID,
				Seq: int64(d + 1), TS: t0.AddDate(0, 0, d), ReferenceC: 37, ValueC: 37 + 0.003*float64(d), Mode: devices.ModeCalibration}})
		}
		for chunk := range slices.Chunk(msgs, 10) {
			if _, err := st.SaveMessages(w.ctx, chunk, chunk[0].TS()); err != nil {
				t.Fatal(err)
			}
		}
		list, _, err := st.ListAlerts(w.ctx, w.adminA, devices.AlertFilter{DeviceID: w.thermA.ID, Kind: devices.AlertPredictedDrift}, devices.Page{})
		if err != nil || len(list) != 1 {
			t.Fatalf("predicted_drift alerts: %+v, %v", list, err)
		}
		al, crossing := list[0], t0.AddDate(0, 0, 50)
		if al.PredictedAt == nil || al.PredictedAt.Sub(crossing).Abs() > time.Minute || !al.FirstAt.Equal(t0.AddDate(0, 0, 29)) ||
			al.Evidence != 6 || !strings.Contains(al.Detail, "before the next calibration due") {
			t.Errorf("predicted_drift alert = %+v, want it dated %s, first at day 29, 6 checks", al, crossing)
		}
		rep, err := st.DriftReport(w.ctx, w.instAdmin, w.thermA.ID)
		if err != nil {
			t.Fatal(err)
		}
		if rep.N != 35 || rep.Forecast.Predicted == nil || rep.Forecast.Predicted.Sub(crossing).Abs() > time.Minute || !rep.PredictedBeforeDue ||
			rep.SigmaC != devices.DefaultDriftSigmaC || rep.Forecast.Fit == nil || math.Abs(rep.Forecast.Fit.B-0.003) > 1e-9 {
			t.Errorf("drift report = %+v, forecast %+v", rep, rep.Forecast)
		}
		_, err = st.DriftReport(w.ctx, w.adminB, w.thermA.ID)
		wantIs(t, "operator B reads A's drift", err, devices.ErrNotFound)
	})
}

// TestDriftSplitAcrossReplicas: one stream of checks (a drift that
// crosses the MPE, with redeliveries) stored through one replica in order
// and, for a second thermometer, through three replicas committing
// interleaved batches at once, leaves identical detector state and
// alerts: the outcome does not depend on how the stream was split.
func TestDriftSplitAcrossReplicas(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		stream := func(dev string) []devices.Message {
			var out []devices.Message
			for i := range 60 {
				e := 0.004 * float64(i)
				out = append(out, devices.Message{Kind: devices.MessageChecks, Check: &devices.CheckReading{DeviceID: dev, Seq: int64(i + 1),
					TS: t0.Add(time.Duration(i) * time.Hour), ReferenceC: 37, ValueC: 37 + e, Mode: devices.ModeCalibration}})
			}
			return out
		}
		one := stream(w.thermA.ID)
		if _, err := st.SaveMessages(w.ctx, one, t0); err != nil {
			t.Fatal(err)
		}
		// Three replicas, each with its own caches: message i goes to
		// replica i%3 in batches of 4, and replica 2 also receives a
		// redelivery of every fifth message.
		replicas := [3]*store.Store{st, st.Replica(), st.Replica()}
		three := stream(w.thermA2.ID)
		var parts [3][]devices.Message
		for i, m := range three {
			parts[i%3] = append(parts[i%3], m)
			if i%5 == 0 {
				parts[2] = append(parts[2], m)
			}
		}
		var wg sync.WaitGroup
		errs := make(chan error, 3)
		for r := range 3 {
			wg.Go(func() {
				for b := range slices.Chunk(parts[r], 4) {
					if _, err := replicas[r].SaveMessages(w.ctx, b, t0.Add(time.Duration(r+1)*time.Microsecond)); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("a replica's batch: %v", err)
		}
		type view struct {
			Kind        devices.AlertKind
			State       devices.AlertState
			First, Last time.Time
			Evidence    int
			Predicted   *time.Time
		}
		alerts := func(dev string) []view {
			list, _, err := st.ListAlerts(w.ctx, w.reg, devices.AlertFilter{DeviceID: dev}, devices.Page{})
			if err != nil {
				t.Fatal(err)
			}
			var out []view
			for _, a := range list {
				out = append(out, view{a.Kind, a.State, a.FirstAt, a.LastAt, a.Evidence, a.PredictedAt})
			}
			slices.SortFunc(out, func(a, b view) int { return strings.Compare(string(a.Kind), string(b.Kind)) })
			return out
		}
		a, b := alerts(w.thermA.ID), alerts(w.thermA2.ID)
		if len(a) < 2 {
			t.Fatalf("the stream raised %+v, want drift and out_of_tolerance at least", a)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("alerts differ with the split:\none replica:    %+v\nthree replicas: %+v", a, b)
		}
		state := func(dev string) string {
			var s string
			if err := st.SQLDB().QueryRowContext(w.ctx, "SELECT state FROM drift_states WHERE device_id = $1", dev).Scan(&s); err != nil {
				t.Fatal(err)
			}
			return s
		}
		if sa, sb := state(w.thermA.ID), state(w.thermA2.ID); sa != sb {
			t.Errorf("detector states differ with the split:\n%s\n%s", sa, sb)
		}
		// The replicas' first batches interleave, so whichever committed
		// second held a check older than the state's newest: a replay.
		if n := countSQL(t, st, "SELECT replays FROM drift_states WHERE device_id = '"+w.thermA2.ID+"'"); n < 1 {
			t.Errorf("replays = %d; the split never exercised the out-of-order path", n)
		}
	})
}

// TestDriftStateAfterAnotherReplica: a replica remembers the drift states
// it wrote, but another replica may have moved a device on since. Replica
// A applies 5 checks, replica B 3 later ones, then A one more: A's next
// write must build on B's 8, not on its own 5 (the compare and set finds
// the row moved on and A reads it again).
func TestDriftStateAfterAnotherReplica(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		a, b := st, st.Replica()
		seq := int64(0)
		checks := func(n int) []devices.Message {
			var out []devices.Message
			for range n {
				seq++
				out = append(out, devices.Message{Kind: devices.MessageChecks, Check: &devices.CheckReading{DeviceID: w.thermA.ID, Seq: seq,
					TS: t0.Add(time.Duration(seq) * time.Hour), ReferenceC: 37, ValueC: 37.01, Mode: devices.ModeCalibration}})
			}
			return out
		}
		applied := func() int {
			t.Helper()
			var s string
			if err := st.SQLDB().QueryRowContext(w.ctx, "SELECT state FROM drift_states WHERE device_id = $1", w.thermA.ID).Scan(&s); err != nil {
				t.Fatal(err)
			}
			ds, err := devices.DecodeDriftState([]byte(s))
			if err != nil {
				t.Fatal(err)
			}
			return ds.N
		}
		for _, step := range []struct {
			replica *store.Store
			n, want int
		}{{a, 5, 5}, {b, 3, 8}, {a, 1, 9}, {b, 1, 10}, {a, 2, 12}} {
			if _, err := step.replica.SaveMessages(w.ctx, checks(step.n), t0); err != nil {
				t.Fatal(err)
			}
			if got := applied(); got != step.want {
				t.Fatalf("after %d more checks the state has applied %d, want %d", step.n, got, step.want)
			}
		}
	})
}

// TestDriftSeesThermometerChanges: a replica keeps the thermometer rows
// its drift states were judged by; when the thermometer changes between
// two batches (here its MPE, tightened through the API), the next check
// is judged by the new MPE, not the kept one.
func TestDriftSeesThermometerChanges(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx
		check := func(seq int64, e float64) []devices.Message {
			return []devices.Message{{Kind: devices.MessageChecks, Check: &devices.CheckReading{DeviceID: w.thermA.ID, Seq: seq,
				TS: t0.Add(time.Duration(seq) * time.Minute), ReferenceC: 37, ValueC: 37 + e, Mode: devices.ModeCalibration}}}
		}
		ootAlerts := func() int {
			t.Helper()
			list, _, err := st.ListAlerts(ctx, w.reg, devices.AlertFilter{DeviceID: w.thermA.ID, Kind: devices.AlertOutOfTolerance}, devices.Page{})
			if err != nil {
				t.Fatal(err)
			}
			return len(list)
		}
		// Two batches within the MPE: the second runs on what the first
		// left in this replica's cache.
		for seq := int64(1); seq <= 2; seq++ {
			if _, err := st.SaveMessages(ctx, check(seq, 0.05), t0.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		if n := ootAlerts(); n != 0 {
			t.Fatalf("out-of-tolerance alerts at +0.05 °C within the MPE: %d", n)
		}
		mpe, why := new(float64), "manufacturer's tighter specification"
		*mpe = 0.03
		if _, err := st.UpdateThermometer(ctx, w.adminA, w.thermA.ID, devices.AnyVersion,
			devices.ThermometerPatch{MPEOverrideC: &mpe, MPEOverrideReason: &why}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.SaveMessages(ctx, check(3, 0.05), t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if n := ootAlerts(); n != 1 {
			t.Errorf("out-of-tolerance alerts at +0.05 °C after the MPE became 0.03 °C: %d, want 1", n)
		}
	})
}

// TestDriftAlertsBesideThermometerEdits: an operator editing thermometers
// while their out-of-tolerance checks are committed. The ingest's batch
// marks each thermometer out of tolerance after writing its drift state,
// and an edit of the thermometer writes the drift state's facts version
// after the thermometer: the ingest takes the thermometer's lock first,
// so the two wait for each other instead of deadlocking (PostgreSQL would
// abort one, failing an API request or a batch).
func TestDriftAlertsBesideThermometerEdits(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx
		const n = 24
		ths := make([]devices.Thermometer, n)
		for i := range ths {
			ths[i] = w.thermometer(w.adminA, w.venueA.ID, nil)
			// A first check within tolerance: the state exists and this
			// replica has it cached.
			if _, err := st.SaveMessages(ctx, []devices.Message{{Kind: devices.MessageChecks, Check: &devices.CheckReading{
				DeviceID: ths[i].ID, Seq: 1, TS: t0, ReferenceC: 37, ValueC: 37.01, Mode: devices.ModeCalibration}}}, t0); err != nil {
				t.Fatal(err)
			}
		}
		for i, th := range ths {
			errs := make(chan error, 2)
			go func() {
				_, err := st.SaveMessages(ctx, []devices.Message{{Kind: devices.MessageChecks, Check: &devices.CheckReading{
					DeviceID: th.ID, Seq: 2, TS: t0.Add(time.Minute), ReferenceC: 37, ValueC: 37.9, Mode: devices.ModeCalibration}}}, t0)
				errs <- err
			}()
			go func() {
				// The batch may change the thermometer between the edit's
				// read and its write (the edit then answers 412, as the
				// API does); the client tries again.
				note := fmt.Sprintf("gate %d", i)
				var err error
				for range 5 {
					_, err = st.UpdateThermometer(ctx, w.adminA, th.ID, devices.AnyVersion, devices.ThermometerPatch{LocationNote: &note})
					if !errors.Is(err, devices.ErrPreconditionFailed) {
						break
					}
				}
				errs <- err
			}()
			for range 2 {
				if err := <-errs; err != nil {
					t.Fatalf("thermometer %d: %v", i, err)
				}
			}
			got, err := st.GetThermometer(ctx, w.reg, th.ID)
			if err != nil || got.Status != devices.StatusOutOfTolerance || got.LocationNote != fmt.Sprintf("gate %d", i) {
				t.Fatalf("thermometer %d after both: %+v, %v", i, got, err)
			}
		}
	})
}
