package store_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
)

const sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

// onsiteReport covers every item of cat, all ok.
func onsiteReport(elevatorID string, cat devices.MaintenanceCategory, at time.Time) devices.MaintenanceReport {
	r := devices.MaintenanceReport{Kind: devices.ReportOnSite, ElevatorID: elevatorID, Category: cat, PerformedAt: at, Technician: "Wang Wei"}
	for _, it := range devices.ChecklistFor(cat, false) {
		r.Items = append(r.Items, devices.ItemCheck{Code: it.Code, Result: devices.ItemOK})
	}
	return r
}

// remoteReport checks every half-monthly item over video: the remote ones
// ok (or not_ok when listed in failed), the rest not checkable.
func remoteReport(elevatorID string, at time.Time, failed ...string) devices.MaintenanceReport {
	r := devices.MaintenanceReport{Kind: devices.ReportRemote, ElevatorID: elevatorID, PerformedAt: at, Technician: "Wang Wei",
		VenuePerson: "Li Na (duty manager)",
		Evidence:    []devices.Evidence{{URL: "https://video.example.org/v1.mp4", SHA256: sha, DurationSeconds: 600, CapturedAt: at}}}
	for _, it := range devices.ChecklistFor(devices.CategoryHalfMonthly, false) {
		c := devices.ItemCheck{Code: it.Code, Result: devices.ItemNotCheckableRemotely}
		if it.Remote {
			c.Result = devices.ItemOK
			for _, f := range failed {
				if f == it.Code {
					c.Result, c.Note = devices.ItemNotOK, "fails"
				}
			}
		}
		r.Items = append(r.Items, c)
	}
	return r
}

// liftTasks lists a lift's tasks as the regulator sees them.
func liftTasks(t *testing.T, st *store.Store, w *world, f devices.LiftTaskFilter) []devices.LiftTask {
	t.Helper()
	out, _, err := st.ListLiftTasks(w.ctx, w.reg, f, devices.Page{Limit: 200})
	if err != nil {
		t.Fatalf("ListLiftTasks: %v", err)
	}
	return out
}

func openOf(t *testing.T, st *store.Store, w *world, elevatorID string, kind devices.LiftTaskKind) []devices.LiftTask {
	t.Helper()
	return liftTasks(t, st, w, devices.LiftTaskFilter{ElevatorID: elevatorID, Kind: kind, State: devices.LiftTaskOpen})
}

func (w *world) planLifts(what string) devices.LiftWorkReport {
	w.t.Helper()
	rep, err := w.st.PlanLiftWork(w.ctx, w.clk.Now(), 7)
	if err != nil {
		w.t.Fatalf("%s: PlanLiftWork: %v", what, err)
	}
	return rep
}

func wantDue(t *testing.T, what string, tasks []devices.LiftTask, days ...string) {
	t.Helper()
	var got []string
	for _, k := range tasks {
		got = append(got, k.DueOn)
	}
	if strings.Join(got, ",") != strings.Join(days, ",") {
		t.Errorf("%s: open tasks due %v, want %v", what, got, days)
	}
}

// TestLiftWorkJob: the lifts job across agreement changes and a
// contract's end. Tasks are created once on repeated and concurrent runs;
// the on-site task moves when an agreement is accepted and back when it is
// revoked; remote inspections come weekly under a 30/7 agreement, a missed
// one is flagged once and the next still comes; they vanish with the
// agreement; overdue maintenance and inspection reminders are raised once;
// an ended contract's open tasks are cancelled.
func TestLiftWorkJob(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx
		c := devices.MaintenanceContract{ElevatorID: w.elevA.ID, FirmOrgID: w.firm.ID, StartsOn: "2026-03-01"}
		if err := st.CreateContract(ctx, w.adminA, &c); err != nil {
			t.Fatal(err)
		}
		// t0 is 2026-03-01 17:00 in Shanghai: the first visit is due today.
		rep := w.planLifts("first run")
		if rep.Created != 1 || rep.Contracts != 1 {
			t.Errorf("first run: %+v", rep)
		}
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := st.PlanLiftWork(ctx, w.clk.Now(), 7); err != nil {
					t.Errorf("concurrent run: %v", err)
				}
			}()
		}
		wg.Wait()
		if rep := w.planLifts("again"); rep.Created != 0 || rep.Moved != 0 {
			t.Errorf("repeated run: %+v", rep)
		}
		first := openOf(t, st, w, w.elevA.ID, devices.LiftTaskOnSite)
		wantDue(t, "first visit", first, "2026-03-01")
		if n := countSQL(t, st, "SELECT count(*) FROM maintenance_tasks"); n != 1 {
			t.Errorf("tasks after five runs: %d, want 1", n)
		}
		visit := onsiteReport(w.elevA.ID, devices.CategoryHalfMonthly, t0.Add(-time.Hour))
		if err := st.FileReport(ctx, w.firmAdmin, &visit); err != nil {
			t.Fatalf("FileReport: %v", err)
		}
		if got, _ := st.GetLiftTask(ctx, w.firmAdmin, first[0].ID); got.State != devices.LiftTaskCompleted {
			t.Errorf("the visit's task: %s", got.State)
		}

		ag := devices.CycleAgreement{ContractID: c.ID, OnSiteCycleDays: 30, RemoteIntervalDays: 7, ValidFrom: "2026-03-01",
			ValidTo: "2026-04-30", Reason: "video checks between visits"}
		if err := st.ProposeAgreement(ctx, w.firmAdmin, &ag); err != nil {
			t.Fatal(err)
		}
		// A proposal changes nothing: the 15-day cycle puts the next visit
		// on 03-16.
		w.clk.Set(at(2026, 3, 10, 1))
		w.planLifts("proposed")
		wantDue(t, "under the contract's cycle", openOf(t, st, w, w.elevA.ID, devices.LiftTaskOnSite), "2026-03-16")
		wantDue(t, "no remote checks yet", openOf(t, st, w, w.elevA.ID, devices.LiftTaskRemote))
		if _, err := st.ActOnAgreement(ctx, w.adminA, ag.ID, devices.AnyVersion, devices.AgreementAccept, ""); err != nil {
			t.Fatal(err)
		}
		if rep := w.planLifts("accepted"); rep.Moved != 1 || rep.Created != 1 {
			t.Errorf("after acceptance: %+v", rep)
		}
		onsite := openOf(t, st, w, w.elevA.ID, devices.LiftTaskOnSite)
		wantDue(t, "moved by the agreement", onsite, "2026-03-31")
		if onsite[0].AgreementID == nil || *onsite[0].AgreementID != ag.ID || !strings.Contains(onsite[0].Why, "30-day cycle of agreement") {
			t.Errorf("moved task: %+v", onsite[0])
		}
		// The 03-08 check fell before the acceptance: the next is 03-15.
		wantDue(t, "first remote check", openOf(t, st, w, w.elevA.ID, devices.LiftTaskRemote), "2026-03-15")

		w.clk.Set(at(2026, 3, 15, 2))
		check := remoteReport(w.elevA.ID, w.clk.Now().Add(-time.Hour))
		if err := st.FileReport(ctx, w.firmAdmin, &check); err != nil {
			t.Fatalf("remote report: %v", err)
		}
		onsite = openOf(t, st, w, w.elevA.ID, devices.LiftTaskOnSite)
		if len(onsite) != 1 || len(onsite[0].CarriedItems) != len(devices.ChecklistFor(devices.CategoryHalfMonthly, false))-len(devices.ChecklistFor(devices.CategoryHalfMonthly, true)) {
			t.Errorf("items carried to the visit: %+v", onsite)
		}
		w.planLifts("after the check")
		wantDue(t, "weekly", openOf(t, st, w, w.elevA.ID, devices.LiftTaskRemote), "2026-03-22")
		if got := openOf(t, st, w, w.elevA.ID, devices.LiftTaskOnSite); len(got) != 1 || got[0].CarriedItems == nil {
			t.Errorf("the job keeps the carried items: %+v", got)
		}

		// Nobody reports the 03-22 check: it is missed once, the next comes.
		w.clk.Set(at(2026, 3, 23, 2))
		if rep := w.planLifts("missed"); rep.Missed != 1 || rep.EventsRaised != 1 || rep.Created != 1 {
			t.Errorf("missed run: %+v", rep)
		}
		if rep := w.planLifts("missed again"); rep.Missed != 0 || rep.EventsRaised != 0 || rep.Created != 0 {
			t.Errorf("repeated missed run: %+v", rep)
		}
		wantDue(t, "after a missed check", openOf(t, st, w, w.elevA.ID, devices.LiftTaskRemote), "2026-03-29")
		if n := len(liftTasks(t, st, w, devices.LiftTaskFilter{State: devices.LiftTaskMissed})); n != 1 {
			t.Errorf("missed tasks: %d", n)
		}
		if ev := allEvents(t, st, w.adminA, devices.EventFilter{Kind: devices.EventRemoteInspectionMissed}, 10); len(ev) != 1 {
			t.Errorf("missed events the operator sees: %d", len(ev))
		}

		// Revoked: the visit is due 15 days after 03-01 again, so overdue;
		// the remote check is cancelled.
		if _, err := st.ActOnAgreement(ctx, w.firmAdmin, ag.ID, devices.AnyVersion, devices.AgreementRevoke, "staff back"); err != nil {
			t.Fatal(err)
		}
		if rep := w.planLifts("revoked"); rep.Moved != 1 || rep.Cancelled != 1 {
			t.Errorf("after revocation: %+v", rep)
		}
		wantDue(t, "back to the contract's cycle", openOf(t, st, w, w.elevA.ID, devices.LiftTaskOnSite), "2026-03-16")
		wantDue(t, "no remote checks", openOf(t, st, w, w.elevA.ID, devices.LiftTaskRemote))
		if rep := w.planLifts("overdue"); rep.Overdue != 1 || rep.EventsRaised != 1 {
			t.Errorf("overdue run: %+v", rep)
		}
		if rep := w.planLifts("overdue again"); rep.Overdue != 0 || rep.EventsRaised != 0 {
			t.Errorf("repeated overdue run: %+v", rep)
		}
		if ev := allEvents(t, st, w.reg, devices.EventFilter{Kind: devices.EventMaintenanceOverdue}, 10); len(ev) != 1 ||
			deref(ev[0].OperatorOrgID) != w.opA.ID {
			t.Errorf("overdue events: %+v", ev)
		}
		if ev := allEvents(t, st, w.adminB, devices.EventFilter{}, 10); len(ev) != 0 {
			t.Errorf("operator B sees %d lift events", len(ev))
		}

		// A lift commissioned 2025-04-10 is inspected in 2026-04-10: 18
		// days away, reminded once.
		comm := time.Date(2025, 4, 10, 0, 0, 0, 0, time.UTC)
		w.elevator(w.adminA, w.venueA.ID, func(e *devices.Elevator) { e.CommissioningDate = &comm })
		if rep := w.planLifts("reminder"); rep.EventsRaised != 1 {
			t.Errorf("reminder run: %+v", rep)
		}
		if rep := w.planLifts("reminder again"); rep.EventsRaised != 0 {
			t.Errorf("repeated reminder run: %+v", rep)
		}
		if ev := allEvents(t, st, w.adminA, devices.EventFilter{Kind: devices.EventInspectionDue}, 10); len(ev) != 1 ||
			!strings.Contains(ev[0].Message, "2026-04-10") {
			t.Errorf("inspection reminders: %+v", ev)
		}

		// The contract ends: its open tasks are cancelled, nothing new.
		if _, err := st.EndContract(ctx, w.adminA, c.ID, devices.AnyVersion, "2026-03-23", "firm replaced"); err != nil {
			t.Fatal(err)
		}
		w.clk.Set(at(2026, 3, 24, 2))
		if rep := w.planLifts("ended"); rep.Cancelled != 1 || rep.Created != 0 || rep.Contracts != 0 {
			t.Errorf("after the contract's end: %+v", rep)
		}
		if got := liftTasks(t, st, w, devices.LiftTaskFilter{State: devices.LiftTaskOpen}); len(got) != 0 {
			t.Errorf("open tasks after the end: %+v", got)
		}
		if n := countSQL(t, st, "SELECT count(*) FROM maintenance_tasks"); n != 5 {
			t.Errorf("tasks kept: %d, want 5 (records are never deleted)", n)
		}
	})
}
