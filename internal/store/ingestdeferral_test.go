package store_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
)

// deferralOf venue covers every ear thermometer of the venue due in
// March 2026 (the world's clock is 2026-03-01).
func deferralOf(venueID, name string) devices.Deferral {
	return devices.Deferral{Name: name, Reason: "public-health emergency response level I",
		Types: []devices.ThermometerType{devices.TypeIREar}, VenueIDs: []string{venueID},
		WindowFrom: "2026-03-01", WindowTo: "2026-03-31", ExtendDays: 90}
}

// ootCheck is a calibration-mode check 0.9 °C off a 37 °C reference.
func ootCheck(id string, seq int64, ts time.Time) devices.Message {
	return devices.Message{Kind: devices.MessageChecks, Check: &devices.CheckReading{
		DeviceID: id, Seq: seq, TS: ts, ReferenceC: 37, ValueC: 37.9, Mode: devices.ModeCalibration}}
}

// urgentWork is the thermometer's active tasks in the out-of-tolerance
// priority class.
func urgentWork(t *testing.T, st *store.Store, a devices.Actor, id string) []devices.Task {
	t.Helper()
	var out []devices.Task
	for _, k := range allTasks(t, st, a, devices.TaskFilter{ThermometerID: id}) {
		active := k.State == devices.TaskOpen || k.State == devices.TaskScheduled || k.State == devices.TaskInProgress
		if active && k.Priority == devices.PriorityOutOfTolerance {
			out = append(out, k)
		}
	}
	return out
}

// TestDeferralKeepsUrgentWork: an out-of-tolerance check makes the
// thermometer's pending on-site calibration urgent; an emergency deferral
// declared afterwards moves the thermometer's routine due date but does
// not cancel that task, which is no longer routine.
func TestDeferralKeepsUrgentWork(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx
		v := w.venue(w.adminA, "Hongqiao Station")
		th := w.dueIn(w.adminA, v.ID, 10, func(th *devices.Thermometer) { th.InstituteID = &w.inst.ID })
		routine := w.dueIn(w.adminA, v.ID, 12, func(th *devices.Thermometer) { th.InstituteID = &w.inst.ID })
		if _, err := st.PlanCalibrations(ctx, w.clk.Now(), 30); err != nil {
			t.Fatal(err)
		}
		if _, err := st.SaveMessages(ctx, []devices.Message{ootCheck(th.ID, 1, t0)}, t0); err != nil {
			t.Fatal(err)
		}
		if k := urgentWork(t, st, w.reg, th.ID); len(k) != 1 || k[0].Kind != devices.TaskOnSite {
			t.Fatalf("after the alert: urgent tasks %+v, want the on-site task raised", k)
		}
		d := deferralOf(v.ID, "Emergency 2026")
		rep, err := st.DeclareDeferral(ctx, w.reg, &d)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Deferred != 2 || rep.TasksCancelled != 1 {
			t.Errorf("deferral report %+v, want both deferred and only the routine task cancelled", rep)
		}
		if k := urgentWork(t, st, w.reg, th.ID); len(k) != 1 {
			t.Errorf("after the deferral: urgent tasks %+v, want the on-site task kept", k)
		}
		for _, k := range allTasks(t, st, w.reg, devices.TaskFilter{ThermometerID: routine.ID}) {
			if k.State != devices.TaskCancelled {
				t.Errorf("routine task %s is %s, want cancelled by the deferral", k.ID, k.State)
			}
		}
	})
}

// TestIngestBesideDeferral: batches of out-of-tolerance checks and
// emergency deferrals over the same thermometers run at once, many times
// over. Both always succeed (no deadlock reaches either), and whatever the
// order, every thermometer ends out of tolerance, deferred, with urgent
// work that the deferral did not cancel.
func TestIngestBesideDeferral(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx
		const rounds, n = 6, 20
		v := w.venue(w.adminA, "Hongqiao Station")
		for round := range rounds {
			ths := make([]devices.Thermometer, n)
			for i := range ths {
				ths[i] = w.dueIn(w.adminA, v.ID, 5+i, func(th *devices.Thermometer) { th.InstituteID = &w.inst.ID })
				// A first check within tolerance: the state exists and
				// this replica has it cached.
				if _, err := st.SaveMessages(ctx, []devices.Message{{Kind: devices.MessageChecks, Check: &devices.CheckReading{
					DeviceID: ths[i].ID, Seq: 1, TS: t0, ReferenceC: 37, ValueC: 37.01, Mode: devices.ModeCalibration}}}, t0); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := st.PlanCalibrations(ctx, w.clk.Now(), 60); err != nil {
				t.Fatal(err)
			}
			batch := make([]devices.Message, n)
			for i, th := range ths {
				batch[i] = ootCheck(th.ID, 2, t0.Add(time.Minute))
			}
			errs := make(chan error, 2)
			go func() {
				_, err := st.SaveMessages(ctx, batch, t0)
				errs <- err
			}()
			go func() {
				d := deferralOf(v.ID, fmt.Sprintf("Emergency round %d", round))
				_, err := st.DeclareDeferral(ctx, w.reg, &d)
				errs <- err
			}()
			for range 2 {
				if err := <-errs; err != nil {
					if errors.Is(err, devices.ErrBusy) {
						t.Fatalf("round %d: gave way every time: %v", round, err)
					}
					t.Fatalf("round %d: %v", round, err)
				}
			}
			for i, th := range ths {
				got, err := st.GetThermometer(ctx, w.reg, th.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Status != devices.StatusOutOfTolerance || got.DeferralID == nil {
					t.Errorf("round %d thermometer %d: status %s, deferral %v; want out_of_tolerance and deferred", round, i, got.Status, got.DeferralID)
				}
				if k := urgentWork(t, st, w.reg, th.ID); len(k) != 1 {
					t.Errorf("round %d thermometer %d: %d urgent tasks, want 1", round, i, len(k))
				}
			}
		}
	})
}
