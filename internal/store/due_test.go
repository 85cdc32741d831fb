package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
)

// TestThermometerDue: a thermometer is due its interval after its last
// calibration, or at registration when never calibrated, and DueBefore
// keeps exactly those due strictly before the bound.
func TestThermometerDue(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx
		hall := w.venue(w.adminA, "Due hall")
		mk := func(last *time.Time, interval int) devices.Thermometer {
			return w.thermometer(w.adminA, hall.ID, func(th *devices.Thermometer) {
				th.LastCalibratedAt, th.IntervalDays = last, interval
			})
		}
		never := mk(nil, 0)                                    // due t0, registered then
		overdue := mk(ptr(t0.AddDate(0, 0, -400)), 365)        // due t0-35d
		fresh := mk(ptr(t0.AddDate(0, 0, -30)), 365)           // due t0+335d
		short := mk(ptr(t0.Add(-36*time.Hour)), 1)             // due t0-12h
		subsecond := mk(ptr(t0.Add(-500*time.Millisecond)), 1) // due t0+1d-0.5s
		w.clk.Add(10 * 24 * time.Hour)
		later := mk(nil, 0) // registered t0+10d, due then
		w.clk.Set(t0)

		wantDue := map[string]time.Time{
			never.ID: t0, overdue.ID: t0.AddDate(0, 0, -35), fresh.ID: t0.AddDate(0, 0, 335),
			short.ID: t0.Add(-12 * time.Hour), subsecond.ID: t0.Add(24*time.Hour - 500*time.Millisecond),
			later.ID: t0.AddDate(0, 0, 10),
		}
		for id, want := range wantDue {
			th, err := st.GetThermometer(ctx, w.adminA, id)
			if err != nil || !th.NextDueAt.Equal(want) {
				t.Errorf("thermometer %s next due = %v, %v; want %v", id, th.NextDueAt, err, want)
			}
		}

		tests := []struct {
			name   string
			before time.Time
			want   []string
		}{
			{"before everything", t0.AddDate(0, 0, -100), nil},
			{"just after the overdue one", t0.AddDate(0, 0, -35).Add(time.Second), []string{overdue.ID}},
			{"at the overdue one (strict)", t0.AddDate(0, 0, -35), nil},
			{"at t0: registration time is not before itself", t0, []string{overdue.ID, short.ID}},
			{"a second after t0", t0.Add(time.Second), []string{overdue.ID, short.ID, never.ID}},
			{"a day later", t0.AddDate(0, 0, 1), []string{overdue.ID, short.ID, never.ID, subsecond.ID}},
			{"in eleven days", t0.AddDate(0, 0, 11), []string{overdue.ID, short.ID, never.ID, subsecond.ID, later.ID}},
			{"in a year", t0.AddDate(1, 0, 0), []string{overdue.ID, short.ID, never.ID, subsecond.ID, later.ID, fresh.ID}},
			{"bound in another zone", t0.Add(time.Second).In(time.FixedZone("CST", 8*3600)), []string{overdue.ID, short.ID, never.ID}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				b := tt.before
				ths, _, err := st.ListThermometers(ctx, w.adminA, devices.ThermometerFilter{VenueID: hall.ID, DueBefore: &b}, devices.Page{})
				if err != nil {
					t.Fatal(err)
				}
				if got := ids(ths, thermometerID); !sameSet(got, tt.want) {
					t.Errorf("DueBefore(%v) = %v, want %v", tt.before, got, tt.want)
				}
			})
		}

		t.Run("edits keep the registration due date", func(t *testing.T) {
			w.clk.Add(20 * 24 * time.Hour)
			defer w.clk.Set(t0)
			th, err := st.UpdateThermometer(ctx, w.adminA, never.ID, 1, devices.ThermometerPatch{LocationNote: ptr("moved")})
			if err != nil || !th.NextDueAt.Equal(t0) {
				t.Errorf("never-calibrated after an edit: due %v, %v; want still %v", th.NextDueAt, err, t0)
			}
			cal := t0.AddDate(0, 0, 15)
			th, err = st.UpdateThermometer(ctx, w.adminA, never.ID, 2, devices.ThermometerPatch{LastCalibratedAt: pptr(cal)})
			if err != nil || !th.NextDueAt.Equal(cal.AddDate(0, 0, 365)) {
				t.Errorf("after recording a calibration: due %v, %v; want %v", th.NextDueAt, err, cal.AddDate(0, 0, 365))
			}
			th, err = st.UpdateThermometer(ctx, w.adminA, fresh.ID, 1, devices.ThermometerPatch{IntervalDays: ptr(20)})
			if err != nil || !th.NextDueAt.Equal(t0.AddDate(0, 0, -10)) {
				t.Errorf("after shortening the interval: due %v, %v; want %v", th.NextDueAt, err, t0.AddDate(0, 0, -10))
			}
		})

		t.Run("retired thermometers are not due", func(t *testing.T) {
			if _, err := st.RetireThermometer(ctx, w.adminA, overdue.ID, 1); err != nil {
				t.Fatal(err)
			}
			b := t0.Add(time.Second)
			ths, _, err := st.ListThermometers(ctx, w.adminA, devices.ThermometerFilter{VenueID: hall.ID, DueBefore: &b}, devices.Page{})
			if err != nil || slices.Contains(ids(ths, thermometerID), overdue.ID) {
				t.Errorf("DueBefore lists the retired thermometer: %v, %v", ids(ths, thermometerID), err)
			}
			// The institute's worklist holds only its own thermometers.
			ths, _, err = st.ListThermometers(ctx, w.instAdmin, devices.ThermometerFilter{DueBefore: &b}, devices.Page{})
			if err != nil || !slices.Equal(ids(ths, thermometerID), []string{w.thermA.ID}) {
				t.Errorf("institute DueBefore(t0+1s) = %v, %v; want [thermA]", ids(ths, thermometerID), err)
			}
		})
	})
}

// TestDueStateFollowsTheVenueZone: due_state is judged in the venue's
// zone, and a change of the venue's zone shows at once on this replica
// (the zone is cached per replica, not joined into every read).
func TestDueStateFollowsTheVenueZone(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx
		// Due 2026-03-01 15:00 UTC, read at 17:00 UTC: in Shanghai the due
		// date (the 1st, 23:00) is already yesterday; in Honolulu (05:00,
		// now 07:00) it is today.
		th := w.thermometer(w.adminA, w.venueA.ID, func(th *devices.Thermometer) {
			th.IntervalDays, th.LastCalibratedAt = 365, ptr(time.Date(2025, 3, 1, 15, 0, 0, 0, time.UTC))
		})
		w.clk.Set(time.Date(2026, 3, 1, 17, 0, 0, 0, time.UTC))
		got, err := st.GetThermometer(ctx, w.adminA, th.ID)
		if err != nil || got.DueState != devices.DueOverdue {
			t.Fatalf("in Shanghai: %s, %v; want overdue", got.DueState, err)
		}
		zone := "Pacific/Honolulu"
		if _, err := st.UpdateVenue(ctx, w.adminA, w.venueA.ID, devices.AnyVersion, devices.VenuePatch{TimeZone: &zone}); err != nil {
			t.Fatal(err)
		}
		got, _ = st.GetThermometer(ctx, w.adminA, th.ID)
		list, _, _ := st.ListThermometers(ctx, w.adminA, devices.ThermometerFilter{VenueID: w.venueA.ID}, devices.Page{})
		i := slices.IndexFunc(list, func(x devices.Thermometer) bool { return x.ID == th.ID })
		if got.DueState != devices.DueSoon || i < 0 || list[i].DueState != devices.DueSoon {
			t.Errorf("in Honolulu: get %s, list %v; want due_soon", got.DueState, list)
		}
	})
}
