package store_test

import (
	"strings"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
)

// TestDeferrals: the regulator declares an emergency deferral for ear
// thermometers in Shanghai due in March 2026. Their due dates move to the
// end of March plus 90 days at once (a device registered later too), their
// open tasks are cancelled and a planned visit left empty with them; the
// plan job then leaves them alone. Devices out of scope keep their dates
// and tasks. Lifting it restores every date and reopens the tasks.
func TestDeferrals(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx
		sh, _ := time.LoadLocation("Asia/Shanghai")
		inst := func(th *devices.Thermometer) { th.InstituteID = &w.inst.ID }
		forehead := func(th *devices.Thermometer) { th.InstituteID = &w.inst.ID; th.Type = devices.TypeIRForehead }
		hospital := devices.Venue{Name: "Ruijin Hospital", Kind: devices.VenueHospital, RegionCode: "310101", TimeZone: "Asia/Shanghai"}
		wuhan := devices.Venue{Name: "Wuhan Station", Kind: devices.VenueRailwayStation, RegionCode: "420106", TimeZone: "Asia/Shanghai"}
		if err := st.CreateVenue(ctx, w.adminA, &hospital); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateVenue(ctx, w.adminB, &wuhan); err != nil {
			t.Fatal(err)
		}
		ear := w.dueIn(w.adminA, w.venueA.ID, 10, inst)    // in scope
		fh := w.dueIn(w.adminA, hospital.ID, 10, forehead) // another type
		later := w.dueIn(w.adminA, w.venueA.ID, 60, inst)  // due after the window
		elsewhere := w.dueIn(w.adminB, wuhan.ID, 10, nil)  // another province
		if _, err := st.PlanCalibrations(ctx, w.clk.Now(), 30); err != nil {
			t.Fatal(err)
		}
		if _, err := st.PlanVisits(ctx, w.clk.Now(), 60); err != nil {
			t.Fatal(err)
		}
		earTask := allTasks(t, st, w.reg, devices.TaskFilter{ThermometerID: ear.ID})[0]
		if earTask.State != devices.TaskScheduled || earTask.VisitID == nil {
			t.Fatalf("before: ear task %s in visit %v", earTask.State, earTask.VisitID)
		}

		decl := func() devices.Deferral {
			return devices.Deferral{Name: "Emergency 2026", Reason: "public-health emergency response level I",
				Types: []devices.ThermometerType{devices.TypeIREar}, RegionCodes: []string{"310000"},
				WindowFrom: "2026-03-01", WindowTo: "2026-03-31", ExtendDays: 90}
		}
		d := decl()
		_, err := st.DeclareDeferral(ctx, w.adminA, &d)
		wantIs(t, "operator declares", err, devices.ErrForbidden)
		d = decl()
		d.WindowTo = "2026-02-01"
		_, err = st.DeclareDeferral(ctx, w.reg, &d)
		wantFields(t, "ends before it starts", err, "window_to")
		d = decl()
		d.VenueIDs = []string{w.venueA.ID, "0195a2f1-0000-7000-8000-000000000000"}
		_, err = st.DeclareDeferral(ctx, w.reg, &d)
		wantFields(t, "unknown venue", err, "venue_ids[1]")
		if n := w.count("deferrals"); n != 0 {
			t.Fatalf("refused declarations wrote %d deferrals", n)
		}

		d = decl()
		rep, err := st.DeclareDeferral(ctx, w.reg, &d)
		if err != nil {
			t.Fatalf("DeclareDeferral: %v", err)
		}
		// The world's three ear thermometers (never calibrated: due at
		// registration, 2026-03-01, in Shanghai) are in scope too; each had
		// a task, and venueA's visit held thermA's and ear's.
		if rep.Deferred != 4 || rep.TasksCancelled != 4 || rep.VisitsCancelled != 1 || d.Deferred != 4 {
			t.Errorf("declare report = %+v (deferred %d), want 4 devices, 4 tasks, 1 visit", rep, d.Deferred)
		}
		got, err := st.GetThermometer(ctx, w.adminA, ear.ID)
		if err != nil {
			t.Fatal(err)
		}
		local := ear.NextDueAt.In(sh)
		want := time.Date(2026, 6, 29, local.Hour(), local.Minute(), local.Second(), local.Nanosecond(), sh)
		if !got.NextDueAt.Equal(want) || got.NormalDueAt == nil || !got.NormalDueAt.Equal(ear.NextDueAt) ||
			got.DeferralID == nil || *got.DeferralID != d.ID || got.DueState != devices.DueOK || got.Version != ear.Version+1 {
			t.Errorf("deferred ear thermometer: due %v (normal %v, deferral %v, state %s, version %d), want due %v",
				got.NextDueAt, got.NormalDueAt, got.DeferralID, got.DueState, got.Version, want)
		}
		for _, th := range []devices.Thermometer{fh, later, elsewhere} {
			g, err := st.GetThermometer(ctx, w.reg, th.ID)
			if err != nil || !g.NextDueAt.Equal(th.NextDueAt) || g.DeferralID != nil {
				t.Errorf("out of scope %s moved: due %v (was %v), deferral %v, err %v", th.ID, g.NextDueAt, th.NextDueAt, g.DeferralID, err)
			}
		}
		task, err := st.GetTask(ctx, w.reg, earTask.ID)
		if err != nil || task.State != devices.TaskCancelled || task.VisitID != nil || !strings.Contains(task.CancelReason, "Emergency 2026") {
			t.Errorf("ear task after the deferral: %s in %v (%q), %v", task.State, task.VisitID, task.CancelReason, err)
		}
		visit, err := st.GetVisit(ctx, w.reg, *earTask.VisitID)
		if err != nil || visit.State != devices.VisitCancelled {
			t.Errorf("its emptied visit: %s, %v", visit.State, err)
		}
		if fhTask := allTasks(t, st, w.reg, devices.TaskFilter{ThermometerID: fh.ID}); len(fhTask) != 1 || !fhTask[0].State.Active() {
			t.Errorf("out-of-scope task: %+v", fhTask)
		}
		again, err := st.PlanCalibrations(ctx, w.clk.Now(), 30)
		if err != nil || again.Created != 0 {
			t.Errorf("plan after the deferral created %d tasks (%v), want 0", again.Created, err)
		}

		// A thermometer registered during the deferral is deferred at once.
		fresh := w.dueIn(w.adminA, w.venueA.ID, 5, inst)
		if fresh.DeferralID == nil || *fresh.DeferralID != d.ID || fresh.NormalDueAt == nil || fresh.NextDueAt.Before(want.Add(-24*time.Hour)) {
			t.Errorf("new thermometer during the deferral: due %v, deferral %v", fresh.NextDueAt, fresh.DeferralID)
		}

		// A deferral naming venues is seen only through them.
		only := devices.Deferral{Name: "Pudong T2 works", Reason: "terminal closed", VenueIDs: []string{w.venueA.ID},
			WindowFrom: "2026-09-01", WindowTo: "2026-09-30", ExtendDays: 30}
		if _, err := st.DeclareDeferral(ctx, w.reg, &only); err != nil {
			t.Fatal(err)
		}
		_, err = st.GetDeferral(ctx, w.adminB, only.ID)
		wantIs(t, "operator B reads a deferral naming only A's venue", err, devices.ErrNotFound)
		for _, a := range []devices.Actor{w.adminA, w.instAdmin, w.reg} {
			g, err := st.GetDeferral(ctx, a, only.ID)
			if err != nil || len(g.VenueIDs) != 1 {
				t.Errorf("%s reads the venue deferral: %+v, %v", a.OrgKind, g.VenueIDs, err)
			}
		}
		listB, _, err := st.ListDeferrals(ctx, w.adminB, "", devices.Page{})
		if err != nil || len(listB) != 1 || listB[0].ID != d.ID || listB[0].Deferred != 1 {
			t.Errorf("operator B's list: %+v, %v; want only the public deferral, holding thermB alone of B's devices", listB, err)
		}
		listA, _, err := st.ListDeferrals(ctx, w.adminA, devices.DeferralActive, devices.Page{})
		if err != nil || len(listA) != 2 {
			t.Errorf("operator A's active list: %d items, %v", len(listA), err)
		}

		// Lifting.
		_, _, err = st.LiftDeferral(ctx, w.adminA, d.ID, devices.AnyVersion, "over")
		wantIs(t, "operator lifts", err, devices.ErrForbidden)
		_, _, err = st.LiftDeferral(ctx, w.reg, d.ID, d.Version+5, "over")
		wantIs(t, "stale version", err, devices.ErrPreconditionFailed)
		_, _, err = st.LiftDeferral(ctx, w.reg, d.ID, d.Version, " ")
		wantFields(t, "no reason", err, "reason")
		lifted, lrep, err := st.LiftDeferral(ctx, w.reg, d.ID, d.Version, "emergency response ended")
		if err != nil {
			t.Fatalf("LiftDeferral: %v", err)
		}
		if lifted.State != devices.DeferralLifted || lifted.LiftedAt == nil || lrep.Restored != 5 || lrep.TasksReopened != 4 || lifted.Deferred != 0 {
			t.Errorf("lift: %s at %v, report %+v, holding %d", lifted.State, lifted.LiftedAt, lrep, lifted.Deferred)
		}
		back, _ := st.GetThermometer(ctx, w.adminA, ear.ID)
		if !back.NextDueAt.Equal(ear.NextDueAt) || back.DeferralID != nil || back.NormalDueAt != nil || back.DueState != devices.DueSoon {
			t.Errorf("after lifting: due %v (want %v), deferral %v, state %s", back.NextDueAt, ear.NextDueAt, back.DeferralID, back.DueState)
		}
		reopened, _ := st.GetTask(ctx, w.reg, earTask.ID)
		if reopened.State != devices.TaskOpen || reopened.CancelReason != "" {
			t.Errorf("ear task after lifting: %s %q", reopened.State, reopened.CancelReason)
		}
		_, _, err = st.LiftDeferral(ctx, w.reg, d.ID, devices.AnyVersion, "again")
		wantConflict(t, "lift twice", err, "invalid_transition")
		if n := countSQL(t, st, "SELECT count(*) FROM audit_events WHERE resource = 'deferral'"); n != 3 {
			t.Errorf("audit events on deferrals = %d, want 3 (two declarations, one lift)", n)
		}
	})
}

// TestDeferralsChain: lifting a deferral hands its devices to another
// active one that covers their normal dates; a calibration gives a device
// its own due date again.
func TestDeferralsChain(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx
		th := w.dueIn(w.adminA, w.venueA.ID, 10, nil)
		first := devices.Deferral{Name: "first", Reason: "r", WindowFrom: "2026-03-01", WindowTo: "2026-03-20", ExtendDays: 10}
		second := devices.Deferral{Name: "second", Reason: "r", RegionCodes: []string{"31"}, WindowFrom: "2026-03-05",
			WindowTo: "2026-04-30", ExtendDays: 60}
		for _, d := range []*devices.Deferral{&first, &second} {
			if _, err := st.DeclareDeferral(ctx, w.reg, d); err != nil {
				t.Fatal(err)
			}
		}
		g, _ := st.GetThermometer(ctx, w.adminA, th.ID)
		if g.DeferralID == nil || *g.DeferralID != first.ID {
			t.Fatalf("held by %v, want the first deferral", g.DeferralID)
		}
		_, rep, err := st.LiftDeferral(ctx, w.reg, first.ID, devices.AnyVersion, "done")
		// The world's three devices (due 2026-03-01) come back for good; th
		// (due 2026-03-11) falls in the second window.
		if err != nil || rep.Restored != 4 || rep.Deferred != 1 {
			t.Fatalf("lift first: %+v, %v; want 4 restored, 1 deferred again", rep, err)
		}
		g, _ = st.GetThermometer(ctx, w.adminA, th.ID)
		if g.DeferralID == nil || *g.DeferralID != second.ID || !g.NormalDueAt.Equal(th.NextDueAt) ||
			g.NextDueAt.Format(devices.DateLayout) != "2026-06-29" {
			t.Errorf("after lifting the first: deferral %v, due %v, normal %v", g.DeferralID, g.NextDueAt, g.NormalDueAt)
		}
		// Moving the last calibration gives the device a due date of its
		// own; the second deferral takes it only if it falls in its window.
		last := w.clk.Now().AddDate(0, 0, -1)
		u, err := st.UpdateThermometer(ctx, w.adminA, th.ID, devices.AnyVersion, devices.ThermometerPatch{LastCalibratedAt: pptr(last)})
		if err != nil || u.DeferralID != nil || u.NormalDueAt != nil || !u.NextDueAt.Equal(last.AddDate(0, 0, 365)) {
			t.Errorf("recalibrated: due %v, deferral %v, %v", u.NextDueAt, u.DeferralID, err)
		}
		last = time.Date(2025, 3, 10, 2, 0, 0, 0, time.UTC)
		u, err = st.UpdateThermometer(ctx, w.adminA, th.ID, devices.AnyVersion, devices.ThermometerPatch{LastCalibratedAt: pptr(last)})
		if err != nil || u.DeferralID == nil || *u.DeferralID != second.ID || !u.NormalDueAt.Equal(last.AddDate(0, 0, 365)) {
			t.Errorf("back in the second window: due %v, normal %v, deferral %v, %v", u.NextDueAt, u.NormalDueAt, u.DeferralID, err)
		}
	})
}
