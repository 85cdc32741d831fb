package store_test

import (
	"strings"
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
func TestSilentDevices(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx
		for _, id := range []string{w.thermA.ID, w.elevA.ID} {
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
		if rep := run(t0.Add(20 * time.Minute)); rep.Watched != 2 || rep.Silent != 0 {
			t.Errorf("after 20 min: %+v, want 2 watched, none silent", rep)
		}
		if rep := run(t0.Add(30 * time.Minute)); rep.Silent != 1 || rep.Raised != 1 {
			t.Errorf("after 30 min: %+v, want the lift silent", rep)
		}
		if rep := run(t0.Add(25 * time.Hour)); rep.Silent != 2 || rep.Raised != 1 {
			t.Errorf("after 25 h: %+v, want both silent, the thermometer newly", rep)
		}
		if rep := run(t0.Add(26 * time.Hour)); rep.Raised != 0 {
			t.Errorf("a second run raised %d more", rep.Raised)
		}
		if _, err := st.SaveMessages(ctx, []devices.Message{{Kind: devices.MessageTelemetry, Telemetry: &devices.Telemetry{
			DeviceID: w.elevA.ID, Seq: 2, TS: t0.Add(26 * time.Hour), Metrics: map[string]float64{"door_cycles": 2}}}}, t0.Add(26*time.Hour)); err != nil {
			t.Fatal(err)
		}
		open, _, _ := st.ListAlerts(ctx, w.reg, devices.AlertFilter{Kind: devices.AlertSilent, State: devices.AlertOpen}, devices.Page{})
		if len(open) != 1 || open[0].DeviceID != w.thermA.ID {
			t.Errorf("open silent alerts after the lift reported: %+v, want the thermometer's only", open)
		}
	})
}
