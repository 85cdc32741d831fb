package store_test

import (
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
)

func visitsOf(t *testing.T, st *store.Store, a devices.Actor, f devices.VisitFilter) []devices.Visit {
	t.Helper()
	var out []devices.Visit
	p := devices.Page{Limit: devices.MaxLimit}
	for {
		items, next, err := st.ListVisits(t.Context(), a, f, p)
		if err != nil {
			t.Fatalf("ListVisits: %v", err)
		}
		out = append(out, items...)
		if next == "" {
			return out
		}
		p.Cursor = next
	}
}

// plan runs the plan job (30 days ahead) and the visits job (60 days) at
// the world's clock.
func (w *world) plan() {
	w.t.Helper()
	if _, err := w.st.PlanCalibrations(w.ctx, w.clk.Now(), 30); err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.st.PlanVisits(w.ctx, w.clk.Now(), 60); err != nil {
		w.t.Fatal(err)
	}
}

// TestPlanVisits: the visits job puts each venue's open tasks into one
// visit, most urgent first, one visit a day for an institute with one
// technician doing one visit a day, on working days only; a second run
// changes nothing; a confirmed visit never moves; a cancelled visit's
// tasks go back to open and into the next plan.
func TestPlanVisits(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx
		// 2026-03-01 09:00 UTC is a Sunday (17:00 in Shanghai): the first
		// plannable day is Monday 2026-03-02.
		cal := devices.InstituteCalendar{TimeZone: "Asia/Shanghai", Technicians: 1, VisitsPerTechnicianPerDay: 1,
			WorkingDays: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday},
			Holidays:    []string{"2026-03-03"}}
		if _, _, err := st.PutCalendar(ctx, w.instAdmin, w.inst.ID, devices.AnyVersion, cal); err != nil {
			t.Fatal(err)
		}
		hospital := devices.Venue{Name: "Ruijin Hospital", Kind: devices.VenueHospital, RegionCode: "310101", TimeZone: "Asia/Shanghai"}
		mall := devices.Venue{Name: "Grand Gateway", Kind: devices.VenueMall, RegionCode: "310104", TimeZone: "Asia/Shanghai"}
		for _, v := range []*devices.Venue{&hospital, &mall} {
			if err := st.CreateVenue(ctx, w.adminA, v); err != nil {
				t.Fatal(err)
			}
		}
		inst := func(th *devices.Thermometer) { th.InstituteID = &w.inst.ID }
		w.dueIn(w.adminA, mall.ID, 3, inst)
		w.dueIn(w.adminA, hospital.ID, 20, inst)
		w.dueIn(w.adminA, hospital.ID, 25, inst)
		// venueA (airport) already holds thermA, assigned and due now.

		if _, err := st.PlanCalibrations(ctx, w.clk.Now(), 30); err != nil {
			t.Fatal(err)
		}
		rep, err := st.PlanVisits(ctx, w.clk.Now(), 60)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Planned != 3 || rep.Unplaced != 0 {
			t.Errorf("first visits run = %+v; want 3 visits planned", rep)
		}
		visits := visitsOf(t, st, w.reg, devices.VisitFilter{InstituteID: w.inst.ID})
		byVenue := map[string]devices.Visit{}
		for _, v := range visits {
			byVenue[v.VenueID] = v
			if v.State != devices.VisitPlanned || v.Why == "" || v.OperatorOrgID != w.opA.ID {
				t.Errorf("visit %+v: want planned, explained, operator A", v)
			}
		}
		// Hospital first (Mon 2 March), the 3rd is a holiday, then the
		// airport (Wed 4), then the mall (Thu 5).
		want := map[string]struct {
			day   string
			tasks int
		}{hospital.ID: {"2026-03-02", 2}, w.venueA.ID: {"2026-03-04", 1}, mall.ID: {"2026-03-05", 1}}
		for venue, wv := range want {
			v := byVenue[venue]
			if v.Day != wv.day || len(v.TaskIDs) != wv.tasks {
				t.Errorf("visit to venue %s: day %s with %d tasks; want %s with %d", venue, v.Day, len(v.TaskIDs), wv.day, wv.tasks)
			}
		}
		for _, id := range byVenue[hospital.ID].TaskIDs {
			task, err := st.GetTask(ctx, w.instAdmin, id)
			if err != nil || task.State != devices.TaskScheduled || task.VisitID == nil || *task.VisitID != byVenue[hospital.ID].ID {
				t.Errorf("hospital task %s = %+v, %v; want scheduled in the hospital visit", id, task, err)
			}
		}

		again, err := st.PlanVisits(ctx, w.clk.Now(), 60)
		if err != nil || again.Planned != 0 || again.Emptied != 0 || again.Unchanged != 3 {
			t.Errorf("second visits run = %+v, %v; want 3 unchanged", again, err)
		}
		for _, v := range visitsOf(t, st, w.reg, devices.VisitFilter{InstituteID: w.inst.ID}) {
			if v.Version != 1 {
				t.Errorf("visit %s at version %d after an idle re-plan, want 1", v.ID, v.Version)
			}
		}

		// The institute confirms the hospital visit; a new urgent device
		// at the hospital must not move it, and gets its own visit.
		hv, err := st.ActOnVisit(ctx, w.instAdmin, byVenue[hospital.ID].ID, 1, devices.VisitConfirm, "")
		if err != nil || hv.State != devices.VisitConfirmed || hv.Version != 2 {
			t.Fatalf("confirm = %+v, %v", hv, err)
		}
		w.dueIn(w.adminA, hospital.ID, -1, func(th *devices.Thermometer) {
			th.InstituteID = &w.inst.ID
			th.Status = devices.StatusOutOfTolerance
		})
		w.plan()
		if got, _ := st.GetVisit(ctx, w.reg, hv.ID); got.Day != "2026-03-02" || got.State != devices.VisitConfirmed || len(got.TaskIDs) != 2 {
			t.Errorf("confirmed visit after re-plan = %+v; want it unmoved with its 2 tasks", got)
		}
		// The out-of-tolerance device goes first among the movable visits,
		// on the first free day: Wed 4 (Mon is taken by the confirmed visit,
		// Tue is a holiday); the airport and mall move one day later.
		planned := visitsOf(t, st, w.reg, devices.VisitFilter{InstituteID: w.inst.ID, State: devices.VisitPlanned})
		days := map[string]string{}
		for _, v := range planned {
			days[v.VenueID] = v.Day
		}
		if days[hospital.ID] != "2026-03-04" || days[w.venueA.ID] != "2026-03-05" || days[mall.ID] != "2026-03-06" {
			t.Errorf("planned visits after an urgent device = %v", days)
		}
		if v := byVenue[w.venueA.ID]; true {
			if got, _ := st.GetVisit(ctx, w.reg, v.ID); got.ID != v.ID || got.Day != "2026-03-05" {
				t.Errorf("the airport visit kept id %s? got %+v", v.ID, got)
			}
		}

		// Workflow: start needs a confirmed visit; complete needs results.
		mv := byVenue[mall.ID]
		_, err = st.ActOnVisit(ctx, w.instAdmin, mv.ID, devices.AnyVersion, devices.VisitStart, "")
		wantConflict(t, "start a planned visit", err, "invalid_transition")
		_, err = st.ActOnVisit(ctx, w.adminA, mv.ID, devices.AnyVersion, devices.VisitConfirm, "")
		wantIs(t, "operator confirms", err, devices.ErrForbidden)
		_, err = st.ActOnVisit(ctx, w.adminB, mv.ID, devices.AnyVersion, devices.VisitConfirm, "")
		wantIs(t, "another operator confirms", err, devices.ErrNotFound)
		_, err = st.ActOnVisit(ctx, w.instAdmin, mv.ID, 99, devices.VisitConfirm, "")
		wantIs(t, "stale confirm", err, devices.ErrPreconditionFailed)
		_, err = st.ActOnVisit(ctx, w.instAdmin, hv.ID, devices.AnyVersion, devices.VisitCancel, "  ")
		wantFields(t, "cancel without reason", err, "reason")
		started, err := st.ActOnVisit(ctx, w.instAdmin, hv.ID, devices.AnyVersion, devices.VisitStart, "")
		if err != nil || started.State != devices.VisitInProgress {
			t.Fatalf("start = %+v, %v", started, err)
		}
		for _, id := range started.TaskIDs {
			if task, _ := st.GetTask(ctx, w.reg, id); task.State != devices.TaskInProgress {
				t.Errorf("task %s of a started visit is %s", id, task.State)
			}
		}
		_, err = st.ActOnVisit(ctx, w.instAdmin, hv.ID, devices.AnyVersion, devices.VisitComplete, "")
		wantConflict(t, "complete with tasks in progress", err, "tasks_pending")

		// Cancelling a planned visit returns its task to open; the next
		// run plans it again.
		av, err := st.ActOnVisit(ctx, w.instAdmin, byVenue[w.venueA.ID].ID, devices.AnyVersion, devices.VisitCancel, "runway works")
		if err != nil || av.State != devices.VisitCancelled || av.CancelReason != "runway works" {
			t.Fatalf("cancel = %+v, %v", av, err)
		}
		task, _ := st.GetTask(ctx, w.reg, byVenue[w.venueA.ID].TaskIDs[0])
		if task.State != devices.TaskOpen || task.VisitID != nil {
			t.Errorf("task of a cancelled visit = %+v; want open, no visit", task)
		}
		if _, err := st.PlanVisits(ctx, w.clk.Now(), 60); err != nil {
			t.Fatal(err)
		}
		if task, _ = st.GetTask(ctx, w.reg, task.ID); task.State != devices.TaskScheduled || task.VisitID == nil || *task.VisitID == av.ID {
			t.Errorf("re-planned task = %+v; want scheduled in a new visit", task)
		}

		// Visibility.
		if got := visitsOf(t, st, w.adminB, devices.VisitFilter{}); len(got) != 0 {
			t.Errorf("operator B sees %d visits", len(got))
		}
		if got := visitsOf(t, st, w.firmAdmin, devices.VisitFilter{}); len(got) != 0 {
			t.Errorf("a maintenance firm sees %d visits", len(got))
		}
		// On 2026-03-05: the cancelled airport visit and its replacement.
		if got := visitsOf(t, st, w.memberA, devices.VisitFilter{From: "2026-03-05", To: "2026-03-05"}); len(got) != 2 {
			t.Errorf("operator A sees %d visits on 2026-03-05, want 2", len(got))
		}
		if got := visitsOf(t, st, w.memberA, devices.VisitFilter{From: "2026-03-05", To: "2026-03-05", State: devices.VisitPlanned}); len(got) != 1 {
			t.Errorf("operator A sees %d planned visits on 2026-03-05, want 1", len(got))
		}
		_, err = st.GetVisit(ctx, w.adminB, hv.ID)
		wantIs(t, "operator B reads A's visit", err, devices.ErrNotFound)
	})
}

// TestInstituteCalendar: an institute reads its default calendar, its
// admin replaces it (validated, versioned, audited); members and other
// organizations cannot.
func TestInstituteCalendar(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx
		cal, v, err := st.GetCalendar(ctx, w.instAdmin, w.inst.ID)
		if err != nil || v != 0 || cal.DailyCapacity() != devices.DefaultInstituteCalendar().DailyCapacity() {
			t.Fatalf("default calendar = %+v v%d, %v", cal, v, err)
		}
		_, _, err = st.GetCalendar(ctx, w.adminA, w.inst.ID)
		wantIs(t, "operator reads an institute's calendar", err, devices.ErrNotFound)
		if _, _, err := st.GetCalendar(ctx, w.reg, w.inst.ID); err != nil {
			t.Errorf("regulator reads the calendar: %v", err)
		}
		_, _, err = st.GetCalendar(ctx, w.reg, w.opA.ID)
		wantIs(t, "calendar of a venue operator", err, devices.ErrNotFound)

		bad := devices.InstituteCalendar{TimeZone: "Mars/Olympus", Technicians: 0, VisitsPerTechnicianPerDay: 3,
			WorkingDays: []time.Weekday{time.Monday}}
		_, _, err = st.PutCalendar(ctx, w.instAdmin, w.inst.ID, devices.AnyVersion, bad)
		wantFields(t, "bad calendar", err, "time_zone", "technicians")

		good := devices.InstituteCalendar{TimeZone: "Asia/Shanghai", Technicians: 3, VisitsPerTechnicianPerDay: 2,
			WorkingDays: []time.Weekday{time.Friday, time.Monday}, Holidays: []string{"2026-10-01"}}
		saved, v, err := st.PutCalendar(ctx, w.instAdmin, w.inst.ID, devices.AnyVersion, good)
		if err != nil || v != 1 || saved.DailyCapacity() != 6 || saved.WorkingDays[0] != time.Monday {
			t.Fatalf("PutCalendar = %+v v%d, %v", saved, v, err)
		}
		_, _, err = st.PutCalendar(ctx, w.instAdmin, w.inst.ID, 7, good)
		wantIs(t, "stale calendar", err, devices.ErrPreconditionFailed)
		if _, v, err = st.PutCalendar(ctx, w.instAdmin, w.inst.ID, 1, good); err != nil || v != 2 {
			t.Errorf("PutCalendar at version 1 = v%d, %v", v, err)
		}
		instMember := w.token(w.reg, w.inst.ID, devices.RoleMember)
		_, _, err = st.PutCalendar(ctx, instMember, w.inst.ID, devices.AnyVersion, good)
		wantIs(t, "member changes the calendar", err, devices.ErrForbidden)
		_, _, err = st.PutCalendar(ctx, w.adminA, w.inst.ID, devices.AnyVersion, good)
		wantIs(t, "operator changes an institute's calendar", err, devices.ErrNotFound)
		got, v, err := st.GetCalendar(ctx, w.instAdmin, w.inst.ID)
		if err != nil || v != 2 || got.Technicians != 3 || len(got.Holidays) != 1 || got.Holidays[0] != "2026-10-01" {
			t.Errorf("calendar read back = %+v v%d, %v", got, v, err)
		}
	})
}
