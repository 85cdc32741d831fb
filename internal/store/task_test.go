package store_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
)

// dueIn registers a thermometer in venueID whose next due date is days
// from the world clock (negative: overdue), with a 365-day interval.
func (w *world) dueIn(a devices.Actor, venueID string, days int, mod func(*devices.Thermometer)) devices.Thermometer {
	w.t.Helper()
	last := w.clk.Now().AddDate(0, 0, days-365)
	return w.thermometer(a, venueID, func(th *devices.Thermometer) {
		th.IntervalDays = 365
		th.LastCalibratedAt = &last
		if mod != nil {
			mod(th)
		}
	})
}

func allTasks(t *testing.T, st *store.Store, a devices.Actor, f devices.TaskFilter) []devices.Task {
	t.Helper()
	var out []devices.Task
	p := devices.Page{Limit: devices.MaxLimit}
	for {
		items, next, err := st.ListTasks(context.Background(), a, f, p)
		if err != nil {
			t.Fatalf("ListTasks: %v", err)
		}
		out = append(out, items...)
		if next == "" {
			return out
		}
		p.Cursor = next
	}
}

// TestPlanCalibrations: the plan job creates one open on-site task per
// thermometer due within the horizon (overdue ones too) that has none,
// ranks it, and creates nothing on a second run; tasks are visible to the
// venue's operator, the assigned institute and the regulator only.
func TestPlanCalibrations(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		inst := func(th *devices.Thermometer) { th.InstituteID = &w.inst.ID }
		hospital := devices.Venue{Name: "Ruijin Hospital", Kind: devices.VenueHospital, RegionCode: "310101", TimeZone: "Asia/Shanghai"}
		if err := st.CreateVenue(w.ctx, w.adminA, &hospital); err != nil {
			t.Fatal(err)
		}
		overdue := w.dueIn(w.adminA, w.venueA.ID, -20, inst)
		soon := w.dueIn(w.adminA, hospital.ID, 10, inst)
		edge := w.dueIn(w.adminA, w.venueA.ID, 30, inst)
		later := w.dueIn(w.adminA, w.venueA.ID, 45, inst)
		unassigned := w.dueIn(w.adminB, w.venueB.ID, 5, nil)
		oot := w.dueIn(w.adminA, w.venueA.ID, 20, func(th *devices.Thermometer) {
			th.InstituteID = &w.inst.ID
			th.Status = devices.StatusOutOfTolerance
		})
		retired := w.dueIn(w.adminA, w.venueA.ID, -5, inst)
		if _, err := st.RetireThermometer(w.ctx, w.adminA, retired.ID, devices.AnyVersion); err != nil {
			t.Fatal(err)
		}
		// The world's own thermometers were registered never calibrated,
		// so they are due now too.
		fixtures := []devices.Thermometer{w.thermA, w.thermA2, w.thermB}

		rep, err := st.PlanCalibrations(w.ctx, w.clk.Now(), devices.DefaultDueHorizonDays)
		if err != nil {
			t.Fatal(err)
		}
		wantDue := map[string]bool{overdue.ID: true, soon.ID: true, edge.ID: true, unassigned.ID: true, oot.ID: true}
		for _, f := range fixtures {
			wantDue[f.ID] = true
		}
		if rep.Due != len(wantDue) || rep.Created != len(wantDue) {
			t.Errorf("first plan = %+v; want %d due and created", rep, len(wantDue))
		}
		if rep.Unassigned != 3 { // unassigned, thermA2, thermB
			t.Errorf("first plan: %d unassigned, want 3", rep.Unassigned)
		}
		tasks := allTasks(t, st, w.reg, devices.TaskFilter{})
		byDevice := map[string]devices.Task{}
		for _, k := range tasks {
			if _, dup := byDevice[k.ThermometerID]; dup {
				t.Errorf("two tasks for thermometer %s", k.ThermometerID)
			}
			byDevice[k.ThermometerID] = k
			if !wantDue[k.ThermometerID] {
				t.Errorf("task for thermometer %s, which is not due (or retired)", k.ThermometerID)
			}
			if k.State != devices.TaskOpen || k.Kind != devices.TaskOnSite || k.Version != 1 {
				t.Errorf("task %+v: want an open on_site_calibration at version 1", k)
			}
		}
		if len(byDevice) != len(wantDue) {
			t.Errorf("%d tasks, want %d", len(byDevice), len(wantDue))
		}
		if k := byDevice[later.ID]; k.ID != "" {
			t.Errorf("a thermometer due in 45 days got a task")
		}
		if k := byDevice[soon.ID]; k.Priority != devices.PriorityHospital || k.VenueID != hospital.ID ||
			k.InstituteID == nil || *k.InstituteID != w.inst.ID || !k.DueAt.Equal(soon.NextDueAt) ||
			k.DueOn != soon.NextDueAt.In(mustZone(t, "Asia/Shanghai")).Format("2006-01-02") {
			t.Errorf("hospital task = %+v; want priority %d, venue %s, institute %s, due %v", k, devices.PriorityHospital,
				hospital.ID, w.inst.ID, soon.NextDueAt)
		}
		if k := byDevice[oot.ID]; k.Priority != devices.PriorityOutOfTolerance || !strings.Contains(k.PriorityReason, "out_of_tolerance") {
			t.Errorf("out-of-tolerance task = %+v; want priority %d with the reason", k, devices.PriorityOutOfTolerance)
		}
		if k := byDevice[edge.ID]; k.Priority != devices.PriorityTransport {
			t.Errorf("airport task priority = %d, want %d", k.Priority, devices.PriorityTransport)
		}

		again, err := st.PlanCalibrations(w.ctx, w.clk.Now(), devices.DefaultDueHorizonDays)
		if err != nil || again.Created != 0 || again.Due != 0 {
			t.Errorf("second plan = %+v, %v; want nothing due and nothing created", again, err)
		}
		if n := w.count("calibration_tasks"); n != len(wantDue) {
			t.Errorf("%d task rows after two plans, want %d", n, len(wantDue))
		}

		// Visibility.
		ids := func(ts []devices.Task) map[string]bool {
			m := map[string]bool{}
			for _, k := range ts {
				m[k.ThermometerID] = true
			}
			return m
		}
		instSees := ids(allTasks(t, st, w.instAdmin, devices.TaskFilter{}))
		for id := range instSees {
			if th := byDevice[id]; th.InstituteID == nil || *th.InstituteID != w.inst.ID {
				t.Errorf("institute sees task of thermometer %s, not assigned to it", id)
			}
		}
		if !instSees[overdue.ID] || !instSees[soon.ID] || instSees[unassigned.ID] {
			t.Errorf("institute sees %v", instSees)
		}
		bSees := ids(allTasks(t, st, w.adminB, devices.TaskFilter{}))
		if len(bSees) != 2 || !bSees[unassigned.ID] || !bSees[w.thermB.ID] {
			t.Errorf("operator B sees tasks of %v; want only its own two", bSees)
		}
		if got := allTasks(t, st, w.firmAdmin, devices.TaskFilter{}); len(got) != 0 {
			t.Errorf("a maintenance firm sees %d calibration tasks", len(got))
		}
		aTask := byDevice[overdue.ID]
		_, err = st.GetTask(w.ctx, w.adminB, aTask.ID)
		wantIs(t, "operator B GetTask(A's task)", err, devices.ErrNotFound)
		if got, err := st.GetTask(w.ctx, w.memberA, aTask.ID); err != nil || got.ID != aTask.ID {
			t.Errorf("operator A GetTask(own task) = %+v, %v", got, err)
		}
		filtered := allTasks(t, st, w.reg, devices.TaskFilter{VenueID: hospital.ID})
		if len(filtered) != 1 || filtered[0].ThermometerID != soon.ID {
			t.Errorf("tasks filtered by the hospital = %+v", filtered)
		}
	})
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestPlanConcurrent: three schedulers (three stores, as on three
// replicas) planning the same database at the same moment create every
// task exactly once between them.
func TestPlanConcurrent(t *testing.T) {
	t.Parallel()
	for _, dialect := range testenv.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			url := testenv.DatabaseURL(t, dialect)
			stores := make([]*store.Store, 3)
			for i := range stores {
				st, err := store.Open(context.Background(), store.Config{URL: url, MaxOpenConns: 4}, testenv.Logger())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = st.Close() })
				if _, err := st.Migrate(context.Background()); err != nil {
					t.Fatal(err)
				}
				stores[i] = st
			}
			w := newWorld(t, stores[0])
			const n = 600
			var b strings.Builder
			b.WriteString(thermometerCSVHeader)
			for i := range n {
				b.WriteString(thermometerCSVRow(i, w.inst.ID))
			}
			if _, err := stores[0].ImportThermometers(w.ctx, w.adminA, w.venueA.ID, parseThermometers(t, b.String())); err != nil {
				t.Fatal(err)
			}
			// The imported rows were calibrated 2026-01-15 with a 180-day
			// interval: due 2026-07-14, inside the horizon on 2026-07-01.
			now := time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)
			wantDue := n + 3 // and the world's three never-calibrated ones
			reps := make([]devices.PlanReport, len(stores))
			errs := make([]error, len(stores))
			var wg sync.WaitGroup
			for i, st := range stores {
				wg.Go(func() { reps[i], errs[i] = st.PlanCalibrations(context.Background(), now, 30) })
			}
			wg.Wait()
			created := 0
			for i := range stores {
				if errs[i] != nil {
					t.Errorf("planner %d: %v", i, errs[i])
				}
				created += reps[i].Created
			}
			if created != wantDue {
				t.Errorf("three planners created %d tasks between them (%+v), want %d", created, reps, wantDue)
			}
			if got := countSQL(t, stores[0], "SELECT count(*) FROM calibration_tasks"); got != wantDue {
				t.Errorf("%d task rows, want %d", got, wantDue)
			}
			if got := countSQL(t, stores[0], "SELECT count(DISTINCT thermometer_id) FROM calibration_tasks"); got != wantDue {
				t.Errorf("%d distinct thermometers with tasks, want %d", got, wantDue)
			}
		})
	}
}

// TestDueState: a thermometer read back carries its due state, judged as a
// calendar date in its venue's zone: the same instant is overdue in
// Auckland and still due today (due_soon) in Los Angeles.
func TestDueState(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		// World clock: 2026-03-01 09:00 UTC = 22:00 in Auckland (NZDT,
		// +13), 01:00 in Los Angeles (PST, -8).
		zoned := func(name, tz string) devices.Venue {
			v := devices.Venue{Name: name, Kind: devices.VenueAirport, RegionCode: "NZ-AUK", TimeZone: tz}
			if err := st.CreateVenue(w.ctx, w.adminA, &v); err != nil {
				t.Fatal(err)
			}
			return v
		}
		akl, lax := zoned("AKL", "Pacific/Auckland"), zoned("LAX", "America/Los_Angeles")
		// Due 2026-02-28 20:00 UTC: 2026-03-01 09:00 in Auckland (today
		// there) and 2026-02-28 12:00 in Los Angeles (yesterday there).
		due := time.Date(2026, 2, 28, 20, 0, 0, 0, time.UTC)
		mk := func(venue string, at time.Time) devices.Thermometer {
			last := at.AddDate(0, 0, -365)
			return w.thermometer(w.adminA, venue, func(th *devices.Thermometer) {
				th.IntervalDays, th.LastCalibratedAt = 365, &last
			})
		}
		cases := []struct {
			name  string
			th    devices.Thermometer
			state devices.DueState
		}{
			{"Auckland, due today there", mk(akl.ID, due), devices.DueSoon},
			{"Los Angeles, due yesterday there", mk(lax.ID, due), devices.DueOverdue},
			{"Los Angeles, due in 30 days", mk(lax.ID, w.clk.Now().AddDate(0, 0, 30)), devices.DueSoon},
			{"Los Angeles, due in 31 days", mk(lax.ID, w.clk.Now().AddDate(0, 0, 31)), devices.DueOK},
		}
		for _, c := range cases {
			got, err := st.GetThermometer(w.ctx, w.reg, c.th.ID)
			if err != nil || got.DueState != c.state {
				t.Errorf("%s: due state %q, %v; want %q", c.name, got.DueState, err, c.state)
			}
			list, _, err := st.ListThermometers(w.ctx, w.adminA, devices.ThermometerFilter{VenueID: c.th.VenueID}, devices.Page{Limit: 50})
			for _, l := range list {
				if l.ID == c.th.ID && (err != nil || l.DueState != c.state) {
					t.Errorf("%s: listed due state %q, %v; want %q", c.name, l.DueState, err, c.state)
				}
			}
		}
		retired, err := st.RetireThermometer(w.ctx, w.adminA, cases[1].th.ID, devices.AnyVersion)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := st.GetThermometer(w.ctx, w.reg, retired.ID); got.DueState != "" {
			t.Errorf("a retired thermometer has due state %q, want none", got.DueState)
		}
	})
}
