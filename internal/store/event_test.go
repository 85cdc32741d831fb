package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
	"github.com/calibd/calibd/scheduler"
)

// dueAt registers a thermometer in venueID due exactly at due (calibrated
// 365 days before, on a 365-day interval).
func (w *world) dueAt(a devices.Actor, venueID string, due time.Time, mod func(*devices.Thermometer)) devices.Thermometer {
	w.t.Helper()
	last := due.AddDate(0, 0, -365)
	th := w.thermometer(a, venueID, func(th *devices.Thermometer) {
		th.IntervalDays = 365
		th.LastCalibratedAt = &last
		if mod != nil {
			mod(th)
		}
	})
	if !th.NextDueAt.Equal(due) {
		w.t.Fatalf("thermometer %s due at %v, want %v", th.Serial, th.NextDueAt, due)
	}
	return th
}

func (w *world) zonedVenue(a devices.Actor, name, region, zone string) devices.Venue {
	w.t.Helper()
	v := devices.Venue{Name: name, Kind: devices.VenueAirport, RegionCode: region, TimeZone: zone}
	if err := w.st.CreateVenue(w.ctx, a, &v); err != nil {
		w.t.Fatalf("CreateVenue(%s) = %v", name, err)
	}
	return v
}

func allEvents(t *testing.T, st *store.Store, a devices.Actor, f devices.EventFilter, limit int) []devices.Event {
	t.Helper()
	var out []devices.Event
	p := devices.Page{Limit: limit}
	for {
		items, next, err := st.ListEvents(context.Background(), a, f, p)
		if err != nil {
			t.Fatalf("ListEvents(%+v): %v", f, err)
		}
		out = append(out, items...)
		if next == "" {
			return out
		}
		p.Cursor = next
	}
}

// sqlStrings runs a one-column query straight on the database.
func sqlStrings(t *testing.T, st *store.Store, query string) []string {
	t.Helper()
	rows, err := st.SQLDB().QueryContext(context.Background(), query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return out
}

func eventID(e devices.Event) string { return e.ID }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// TestMarkOverdue: the overdue job judges tasks and thermometers in their
// venues' zones (the same UTC instant is overdue in Auckland and due today
// in Los Angeles), marks each overdue task once, raises one event per task
// and one per device and due cycle, never for a retired device, and shows
// each event only to the venue's operator, the assigned institute and the
// regulator.
func TestMarkOverdue(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		inst2 := w.org("Pacific Metrology Lab", devices.KindMetrologyInstitute)
		inst2Admin := w.token(w.reg, inst2.ID, devices.RoleAdmin)
		inst := func(th *devices.Thermometer) { th.InstituteID = &w.inst.ID }
		inst2of := func(th *devices.Thermometer) { th.InstituteID = &inst2.ID }
		akl := w.zonedVenue(w.adminA, "Auckland Airport", "NZ-AUK", "Pacific/Auckland")            // UTC+13 in March
		lax := w.zonedVenue(w.adminB, "LAX Terminal 4", "US-CA", "America/Los_Angeles")            // UTC-8 until March 8
		now := time.Date(2026, 3, 1, 11, 30, 0, 0, time.UTC)                                       // Auckland 03-02 00:30, LA 03-01 03:30, Shanghai 03-01 19:30
		sameInstant := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)                                // Auckland 03-01 23:00, LA 03-01 02:00
		aklOver := w.dueAt(w.adminA, akl.ID, sameInstant, inst)                                    // due 03-01, today 03-02: overdue
		laToday := w.dueAt(w.adminB, lax.ID, sameInstant, nil)                                     // due 03-01, today 03-01: not yet
		aklToday := w.dueAt(w.adminA, akl.ID, time.Date(2026, 3, 1, 11, 10, 0, 0, time.UTC), inst) // Auckland 03-02 00:10: today
		laLate := w.dueAt(w.adminB, lax.ID, time.Date(2026, 3, 1, 7, 0, 0, 0, time.UTC), inst2of)  // LA 02-28 23:00: overdue, though 03-01 in UTC
		oot := w.dueAt(w.adminA, akl.ID, time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC), func(th *devices.Thermometer) {
			th.InstituteID = &w.inst.ID
			th.Status = devices.StatusOutOfTolerance
		})
		future := w.dueAt(w.adminB, lax.ID, time.Date(2026, 3, 11, 10, 0, 0, 0, time.UTC), inst2of)
		retired := w.dueAt(w.adminB, lax.ID, time.Date(2026, 2, 10, 10, 0, 0, 0, time.UTC), inst2of)
		if _, err := st.RetireThermometer(w.ctx, w.adminB, retired.ID, devices.AnyVersion); err != nil {
			t.Fatal(err)
		}
		cancelled := w.dueAt(w.adminB, lax.ID, time.Date(2026, 2, 25, 10, 0, 0, 0, time.UTC), inst2of) // LA 02-25

		// Tasks for everything due within 30 days, the world's three
		// (due 03-01 17:00 in Shanghai, today there) included.
		plan, err := st.PlanCalibrations(w.ctx, now, 30)
		if err != nil || plan.Created != 10 {
			t.Fatalf("PlanCalibrations = %+v, %v; want 10 tasks", plan, err)
		}
		task := map[string]string{} // thermometer id -> task id
		for _, k := range allTasks(t, st, w.reg, devices.TaskFilter{}) {
			task[k.ThermometerID] = k.ID
		}
		if _, err := st.SQLDB().ExecContext(w.ctx, fmt.Sprintf(
			"UPDATE calibration_tasks SET state = 'cancelled', cancel_reason = 'venue closed' WHERE id = '%s'", task[cancelled.ID])); err != nil {
			t.Fatal(err)
		}

		w.clk.Set(now)
		rep, err := st.MarkOverdue(w.ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		if want := (devices.OverdueReport{TasksMarked: 3, DevicesOverdue: 4, EventsRaised: 7}); rep != want {
			t.Errorf("first MarkOverdue = %+v, want %+v", rep, want)
		}
		wantKeys := []string{
			"task_overdue:" + task[aklOver.ID], "task_overdue:" + task[oot.ID], "task_overdue:" + task[laLate.ID],
			"device_overdue:" + aklOver.ID + ":2026-03-01", "device_overdue:" + oot.ID + ":2026-02-20",
			"device_overdue:" + laLate.ID + ":2026-02-28", "device_overdue:" + cancelled.ID + ":2026-02-25",
		}
		if got := sqlStrings(t, st, "SELECT dedup_key FROM events"); !sameSet(got, wantKeys) {
			t.Errorf("events raised %v, want %v", got, wantKeys)
		}
		wantMarked := []string{task[aklOver.ID], task[oot.ID], task[laLate.ID]}
		if got := sqlStrings(t, st, "SELECT id FROM calibration_tasks WHERE overdue_since IS NOT NULL"); !sameSet(got, wantMarked) {
			t.Errorf("tasks marked overdue %v, want %v", got, wantMarked)
		}
		var since sql.NullTime
		if err := st.SQLDB().QueryRowContext(w.ctx, fmt.Sprintf(
			"SELECT overdue_since FROM calibration_tasks WHERE id = '%s'", task[laLate.ID])).Scan(&since); err != nil {
			t.Fatal(err)
		}
		if !since.Valid || !since.Time.Equal(now) {
			t.Errorf("overdue_since = %v, want %v", since, now)
		}

		evs := allEvents(t, st, w.reg, devices.EventFilter{}, devices.MaxLimit)
		find := func(kind devices.EventKind, resourceID string) devices.Event {
			t.Helper()
			for _, e := range evs {
				if e.Kind == kind && e.ResourceID == resourceID {
					return e
				}
			}
			t.Fatalf("no %s event for %s in %+v", kind, resourceID, evs)
			return devices.Event{}
		}
		d := find(devices.EventDeviceOverdue, aklOver.ID)
		if d.Severity != devices.SeverityWarning || d.Resource != "thermometer" || deref(d.OperatorOrgID) != w.opA.ID ||
			deref(d.InstituteID) != w.inst.ID || deref(d.VenueID) != akl.ID || !d.At.Equal(now) {
			t.Errorf("device event = %+v; want a warning on thermometer %s for operator A, the institute, venue %s, at %v",
				d, aklOver.ID, akl.ID, now)
		}
		for _, s := range []string{"Braun", "IRT6520", aklOver.Serial, "Auckland Airport", "2026-03-01"} {
			if !strings.Contains(d.Message, s) {
				t.Errorf("device event message %q does not name %q", d.Message, s)
			}
		}
		if e := find(devices.EventDeviceOverdue, oot.ID); e.Severity != devices.SeverityCritical {
			t.Errorf("out-of-tolerance device event severity = %s, want critical", e.Severity)
		}
		if e := find(devices.EventTaskOverdue, task[oot.ID]); e.Severity != devices.SeverityCritical || e.Resource != devices.EventResourceTask {
			t.Errorf("out-of-tolerance task event = %+v, want a critical calibration_task event", e)
		}
		e := find(devices.EventTaskOverdue, task[laLate.ID])
		if e.Severity != devices.SeverityWarning || deref(e.OperatorOrgID) != w.opB.ID || deref(e.InstituteID) != inst2.ID ||
			deref(e.VenueID) != lax.ID || !strings.Contains(e.Message, laLate.Serial) || !strings.Contains(e.Message, "2026-02-28") {
			t.Errorf("task event = %+v; want a warning for operator B and the second institute naming the device and 2026-02-28", e)
		}
		if e := find(devices.EventDeviceOverdue, cancelled.ID); e.InstituteID == nil || *e.InstituteID != inst2.ID {
			t.Errorf("device event of a cancelled task's thermometer = %+v", e)
		}

		// A second run, through the scheduler job, finds nothing new.
		w.clk.Add(time.Hour)
		job := scheduler.OverdueJob(st, func() time.Time { return now }, "")
		if job.Name != scheduler.JobOverdue {
			t.Errorf("job name %q", job.Name)
		}
		res, err := job.Run(w.ctx)
		if err != nil || res.Items != 0 || res.Detail != "0 tasks marked overdue; 4 thermometers overdue; 0 events raised" {
			t.Errorf("second run = %+v, %v; want nothing marked or raised", res, err)
		}
		if n := w.count("events"); n != 7 {
			t.Errorf("%d events after two runs, want 7", n)
		}

		// A new due cycle (the interval shortened to 360 days: due 02-23 in
		// LA) raises a new device event; the task is not marked again.
		up, err := st.UpdateThermometer(w.ctx, w.adminB, laLate.ID, devices.AnyVersion, devices.ThermometerPatch{IntervalDays: ptr(360)})
		if err != nil || !up.NextDueAt.Equal(time.Date(2026, 2, 24, 7, 0, 0, 0, time.UTC)) {
			t.Fatalf("UpdateThermometer(interval 360) = next due %v, %v", up.NextDueAt, err)
		}
		rep, err = st.MarkOverdue(w.ctx, now)
		if want := (devices.OverdueReport{TasksMarked: 0, DevicesOverdue: 4, EventsRaised: 1}); err != nil || rep != want {
			t.Errorf("MarkOverdue after a new due cycle = %+v, %v; want %+v", rep, err, want)
		}
		if got := sqlStrings(t, st, "SELECT dedup_key FROM events WHERE resource_id = '"+laLate.ID+"'"); !sameSet(got,
			[]string{"device_overdue:" + laLate.ID + ":2026-02-28", "device_overdue:" + laLate.ID + ":2026-02-23"}) {
			t.Errorf("device events of %s: %v", laLate.ID, got)
		}

		// A day later, what was due today everywhere is overdue.
		now2 := now.Add(24 * time.Hour)
		w.clk.Set(now2)
		rep, err = st.MarkOverdue(w.ctx, now2)
		if want := (devices.OverdueReport{TasksMarked: 5, DevicesOverdue: 9, EventsRaised: 10}); err != nil || rep != want {
			t.Errorf("MarkOverdue a day later = %+v, %v; want %+v", rep, err, want)
		}
		newly := []devices.Thermometer{aklToday, laToday, w.thermA, w.thermA2, w.thermB}
		var wantNew []string
		for _, th := range newly {
			wantNew = append(wantNew, th.ID, task[th.ID])
		}
		later := allEvents(t, st, w.reg, devices.EventFilter{Since: &now2}, devices.MaxLimit)
		if got := ids(later, func(e devices.Event) string { return e.ResourceID }); !sameSet(got, wantNew) {
			t.Errorf("events since %v are about %v, want %v", now2, got, wantNew)
		}
		for _, e := range allEvents(t, st, w.reg, devices.EventFilter{}, devices.MaxLimit) {
			if e.ResourceID == future.ID || e.ResourceID == task[future.ID] || e.ResourceID == retired.ID || e.ResourceID == task[cancelled.ID] {
				t.Errorf("event %+v about a device due later, a retired device or a cancelled task", e)
			}
		}

		// Newest first, page by page, and the filters.
		all := allEvents(t, st, w.reg, devices.EventFilter{}, 5)
		if len(all) != 18 {
			t.Fatalf("regulator pages through %d events, want 18", len(all))
		}
		if got := ids(all, eventID); !slices.IsSortedFunc(got, func(a, b string) int { return strings.Compare(b, a) }) ||
			len(slices.Compact(slices.Clone(got))) != 18 {
			t.Errorf("event pages not in strictly descending id order: %v", got)
		}
		if !all[0].At.Equal(now2) || !all[17].At.Equal(now) {
			t.Errorf("first and last events at %v and %v, want %v and %v", all[0].At, all[17].At, now2, now)
		}
		if got := allEvents(t, st, w.reg, devices.EventFilter{Kind: devices.EventTaskOverdue}, 50); len(got) != 8 {
			t.Errorf("%d task_overdue events, want 8", len(got))
		}
		if got := allEvents(t, st, w.reg, devices.EventFilter{VenueID: lax.ID}, 50); len(got) != 6 {
			t.Errorf("%d events at LAX, want 6", len(got))
		}
		if got := allEvents(t, st, w.adminA, devices.EventFilter{VenueID: lax.ID}, 50); len(got) != 0 {
			t.Errorf("operator A filtering by B's venue sees %d events", len(got))
		}
		_, _, err = st.ListEvents(w.ctx, w.reg, devices.EventFilter{Kind: "fever", VenueID: "lax"}, devices.Page{})
		wantFields(t, "ListEvents(bad filter)", err, "kind", "venue_id")

		// Visibility.
		for _, c := range []struct {
			name  string
			a     devices.Actor
			owner func(devices.Event) bool
			n     int
		}{
			{"operator A", w.memberA, func(e devices.Event) bool { return deref(e.OperatorOrgID) == w.opA.ID }, 10},
			{"operator B", w.adminB, func(e devices.Event) bool { return deref(e.OperatorOrgID) == w.opB.ID }, 8},
			{"institute", w.instAdmin, func(e devices.Event) bool { return deref(e.InstituteID) == w.inst.ID }, 8},
			{"second institute", inst2Admin, func(e devices.Event) bool { return deref(e.InstituteID) == inst2.ID }, 4},
			{"maintenance firm", w.firmAdmin, func(devices.Event) bool { return false }, 0},
		} {
			var want []string
			for _, e := range all {
				if c.owner(e) {
					want = append(want, e.ID)
				}
			}
			got := ids(allEvents(t, st, c.a, devices.EventFilter{}, devices.MaxLimit), eventID)
			if len(got) != c.n || !sameSet(got, want) {
				t.Errorf("%s sees %d events %v, want %d: %v", c.name, len(got), got, c.n, want)
			}
		}
		aEvent := find(devices.EventDeviceOverdue, aklOver.ID)
		for _, c := range []struct {
			name string
			a    devices.Actor
		}{{"operator B", w.adminB}, {"second institute", inst2Admin}, {"maintenance firm", w.firmAdmin}} {
			_, err := st.GetEvent(w.ctx, c.a, aEvent.ID)
			wantIs(t, c.name+" GetEvent(A's event)", err, devices.ErrNotFound)
		}
		for _, a := range []devices.Actor{w.memberA, w.instAdmin, w.reg} {
			if got, err := st.GetEvent(w.ctx, a, aEvent.ID); err != nil || !reflect.DeepEqual(got, aEvent) {
				t.Errorf("GetEvent(%s) as %s = %+v, %v; want %+v", aEvent.ID, a.OrgKind, got, err, aEvent)
			}
		}
		_, err = st.GetEvent(w.ctx, w.reg, "not-an-id")
		wantIs(t, "GetEvent(not an id)", err, devices.ErrNotFound)
		_, err = st.GetEvent(w.ctx, w.reg, "01900000-0000-7000-8000-000000000000")
		wantIs(t, "GetEvent(unknown id)", err, devices.ErrNotFound)
	})
}

// TestEventsAppendOnly: the database itself refuses to change or delete an
// event, whoever connects.
func TestEventsAppendOnly(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		now := t0.Add(48 * time.Hour) // the world's thermometers are overdue
		rep, err := st.MarkOverdue(w.ctx, now)
		if err != nil || rep.EventsRaised != 3 {
			t.Fatalf("MarkOverdue = %+v, %v; want 3 events", rep, err)
		}
		before := sqlStrings(t, st, "SELECT message FROM events ORDER BY id")
		for _, q := range []string{
			"UPDATE events SET message = 'nothing to see'",
			"UPDATE events SET severity = 'info' WHERE resource_id = '" + w.thermB.ID + "'",
			"DELETE FROM events",
			"DELETE FROM events WHERE resource_id = '" + w.thermA.ID + "'",
		} {
			if _, err := st.SQLDB().ExecContext(w.ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: err = %v, want the append-only refusal", q, err)
			}
		}
		if after := sqlStrings(t, st, "SELECT message FROM events ORDER BY id"); !slices.Equal(after, before) {
			t.Errorf("events changed: %v, was %v", after, before)
		}
	})
}

// TestMarkOverdueConcurrent: three replicas (three stores on one database)
// running the overdue job at the same moment mark every task and raise
// every event exactly once between them, across more than one batch.
func TestMarkOverdueConcurrent(t *testing.T) {
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
			const n = 2100 // with the world's three, two batches
			var b strings.Builder
			b.WriteString(thermometerCSVHeader)
			for i := range n {
				b.WriteString(thermometerCSVRow(i, w.inst.ID))
			}
			if _, err := stores[0].ImportThermometers(w.ctx, w.adminA, w.venueA.ID, parseThermometers(t, b.String())); err != nil {
				t.Fatal(err)
			}
			// Imported: due 2026-07-14; the world's: 2026-03-01.
			const due = n + 3
			if rep, err := stores[0].PlanCalibrations(w.ctx, time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC), 30); err != nil || rep.Created != due {
				t.Fatalf("PlanCalibrations = %+v, %v; want %d tasks", rep, err, due)
			}
			now := time.Date(2026, 7, 20, 9, 0, 0, 0, time.UTC)
			run := func() (devices.OverdueReport, []devices.OverdueReport) {
				reps := make([]devices.OverdueReport, len(stores))
				errs := make([]error, len(stores))
				var wg sync.WaitGroup
				for i, st := range stores {
					wg.Go(func() { reps[i], errs[i] = st.MarkOverdue(context.Background(), now) })
				}
				wg.Wait()
				var sum devices.OverdueReport
				for i, r := range reps {
					if errs[i] != nil {
						t.Errorf("replica %d: %v", i, errs[i])
					}
					if r.DevicesOverdue != due {
						t.Errorf("replica %d found %d devices overdue, want %d", i, r.DevicesOverdue, due)
					}
					sum.TasksMarked += r.TasksMarked
					sum.EventsRaised += r.EventsRaised
				}
				return sum, reps
			}
			if sum, reps := run(); sum.TasksMarked != due || sum.EventsRaised != 2*due {
				t.Errorf("three replicas marked %d tasks and raised %d events between them (%+v), want %d and %d",
					sum.TasksMarked, sum.EventsRaised, reps, due, 2*due)
			}
			if got := countSQL(t, stores[0], "SELECT count(*) FROM events"); got != 2*due {
				t.Errorf("%d event rows, want %d", got, 2*due)
			}
			if got := countSQL(t, stores[0], "SELECT count(DISTINCT resource_id) FROM events WHERE kind = 'device_overdue'"); got != due {
				t.Errorf("device events about %d thermometers, want %d", got, due)
			}
			if got := countSQL(t, stores[0], "SELECT count(*) FROM calibration_tasks WHERE overdue_since IS NOT NULL"); got != due {
				t.Errorf("%d tasks marked overdue, want %d", got, due)
			}
			if sum, reps := run(); sum.TasksMarked != 0 || sum.EventsRaised != 0 {
				t.Errorf("a second concurrent run marked or raised something: %+v", reps)
			}
		})
	}
}
