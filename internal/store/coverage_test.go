package store_test

import (
	"cmp"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
)

// TestCoverage: the regulator's counts by region and venue kind, with due
// states judged in each venue's zone exactly as a thermometer's due_state
// (across a day boundary that differs between Shanghai, Honolulu and New
// York, and a DST change inside the due-soon horizon), alert columns that
// count a device once whatever alerts it has, leave lifts out and drop a
// resolved alert, retired thermometers left out; everyone else is refused.
func TestCoverage(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx
		venue := func(a devices.Actor, region, zone string, kind devices.VenueKind) devices.Venue {
			t.Helper()
			v := devices.Venue{Name: "Venue " + zone, Kind: kind, RegionCode: region, TimeZone: zone}
			if err := st.CreateVenue(ctx, a, &v); err != nil {
				t.Fatalf("CreateVenue(%s) = %v", zone, err)
			}
			return v
		}
		// due registers a thermometer falling due at the instant due (its
		// last calibration `interval` days before).
		due := func(a devices.Actor, venueID string, at time.Time, interval int, status devices.ThermometerStatus) devices.Thermometer {
			t.Helper()
			th := w.thermometer(a, venueID, func(th *devices.Thermometer) {
				th.IntervalDays, th.LastCalibratedAt, th.Status = interval, ptr(at.AddDate(0, 0, -interval)), status
			})
			if !th.NextDueAt.Equal(at) {
				t.Fatalf("thermometer due %s, want %s", th.NextDueAt, at)
			}
			return th
		}
		utc := func(mo time.Month, d, h, m, s int) time.Time { return time.Date(2026, mo, d, h, m, s, 0, time.UTC) }

		// Read at 2026-03-01 17:00 UTC: Shanghai is at 2 March 01:00,
		// Honolulu at 1 March 07:00, New York at 1 March 12:00 (EST; EDT
		// from 8 March, so the horizon's end, 31 March, is 04:00 UTC).
		// thermA, thermA2, thermB were registered at t0 and are due then
		// (1 March 17:00 in Shanghai): overdue.
		due(w.adminA, w.venueA.ID, utc(3, 1, 15, 0, 0), 365, "") // 1 March 23:00 Shanghai: overdue
		hnl := venue(w.adminB, "440305", "Pacific/Honolulu", devices.VenueHospital)
		// In Honolulu: due at 05:00 today (due soon), in September (ok),
		// retired (not counted), out of tolerance and due since t0 (28
		// February 23:00 there: overdue), quarantined (ok, still counted).
		due(w.adminB, hnl.ID, utc(3, 1, 15, 0, 0), 365, "")
		due(w.adminB, hnl.ID, utc(9, 1, 0, 0, 0), 365, "")
		retired := due(w.adminB, hnl.ID, utc(3, 1, 15, 0, 0), 365, "")
		w.thermometer(w.adminB, hnl.ID, func(th *devices.Thermometer) { th.Status = devices.StatusOutOfTolerance })
		due(w.adminB, hnl.ID, utc(9, 1, 0, 0, 0), 365, devices.StatusQuarantined)
		if _, err := st.RetireThermometer(ctx, w.adminB, retired.ID, devices.AnyVersion); err != nil {
			t.Fatal(err)
		}
		nyc := venue(w.adminA, "310115", "America/New_York", devices.VenueSchool)
		due(w.adminA, nyc.ID, utc(4, 1, 3, 59, 59), 60, "") // 31 March 23:59:59 EDT: due soon (day 30)
		due(w.adminA, nyc.ID, utc(4, 1, 4, 0, 0), 60, "")   // 1 April: ok
		due(w.adminA, nyc.ID, utc(3, 1, 4, 59, 0), 60, "")  // 28 Feb 23:59 EST: overdue
		due(w.adminA, nyc.ID, utc(3, 1, 5, 0, 0), 60, "")   // 1 March 00:00: due soon (today)

		// thermA drifts (+0.1 °C three times), then reads beyond the MPE:
		// drift and out_of_tolerance alerts, and its status out_of_tolerance.
		var msgs []devices.Message
		for i, e := range []float64{0.1, 0.1, 0.1, 0.25} {
			msgs = append(msgs, devices.Message{Kind: devices.MessageChecks, Check: &devices.CheckReading{DeviceID: w.thermA.ID,
				Seq: int64(i + 1), TS: t0.Add(time.Duration(i+1) * time.Minute), ReferenceC: 37, ValueC: 37 + e, Mode: devices.ModeCalibration}})
		}
		if _, err := st.SaveMessages(ctx, msgs, t0.Add(5*time.Minute)); err != nil {
			t.Fatal(err)
		}
		// thermB and lift elevA go silent; a lift's alert is no thermometer's.
		// (thermB gets an institute first: RaiseSilent cannot yet read the
		// NULL institute of a thermometer without one.)
		if _, err := st.UpdateThermometer(ctx, w.adminB, w.thermB.ID, devices.AnyVersion,
			devices.ThermometerPatch{InstituteID: pptr(w.inst.ID)}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.IssueDeviceSecret(ctx, w.adminB, w.thermB.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.IssueDeviceSecret(ctx, w.adminA, w.elevA.ID); err != nil {
			t.Fatal(err)
		}
		if rep, err := st.RaiseSilent(ctx, t0.Add(2*time.Hour), 24*time.Hour, 15*time.Minute); err != nil || rep.Raised != 1 {
			t.Fatalf("RaiseSilent(lift) = %+v, %v", rep, err)
		}
		if rep, err := st.RaiseSilent(ctx, t0.Add(48*time.Hour), 24*time.Hour, 15*time.Minute); err != nil || rep.Raised != 1 {
			t.Fatalf("RaiseSilent(thermometer) = %+v, %v", rep, err)
		}

		w.clk.Set(utc(3, 1, 17, 0, 0))
		row := func(region string, kind devices.VenueKind, total, soon, overdue, oot, drifting, silent int) devices.CoverageRow {
			return devices.CoverageRow{RegionCode: region, VenueKind: kind, Total: total, DueSoon: soon, Overdue: overdue,
				OutOfTolerance: oot, Drifting: drifting, Silent: silent}
		}
		want := []devices.CoverageRow{
			row("310115", devices.VenueAirport, 4, 0, 4, 1, 1, 1),
			row("310115", devices.VenueSchool, 4, 2, 1, 0, 0, 0),
			row("440305", devices.VenueHospital, 4, 1, 1, 1, 0, 0),
		}
		got, err := st.Coverage(ctx, w.reg)
		if err != nil {
			t.Fatal(err)
		}
		if diff := gocmp.Diff(want, got.Rows); diff != "" {
			t.Errorf("Coverage rows (-want +got):\n%s", diff)
		}
		if got.HorizonDays != devices.DefaultDueHorizonDays || !got.At.Equal(utc(3, 1, 17, 0, 0)) {
			t.Errorf("Coverage horizon %d at %s", got.HorizonDays, got.At)
		}
		if tot := got.Totals(); tot != row("", "", 12, 3, 6, 2, 1, 1) {
			t.Errorf("Totals() = %+v", tot)
		}

		// At other instants the counts are what each thermometer's own
		// due_state says (the store's per-device judgement).
		for _, now := range []time.Time{utc(3, 1, 4, 30, 0), utc(3, 1, 10, 0, 0), utc(3, 1, 16, 0, 0), utc(3, 2, 9, 59, 0),
			utc(3, 31, 4, 0, 0), utc(3, 31, 3, 59, 59)} {
			w.clk.Set(now)
			got, err := st.Coverage(ctx, w.reg)
			if err != nil {
				t.Fatal(err)
			}
			if diff := gocmp.Diff(fleetCoverage(t, w), got.Rows); diff != "" {
				t.Errorf("at %s, Coverage rows against the thermometers' due_state (-want +got):\n%s", now, diff)
			}
		}
		w.clk.Set(utc(3, 1, 17, 0, 0))

		// An acknowledged alert still counts; a resolved one does not.
		drift, _, err := st.ListAlerts(ctx, w.adminA, devices.AlertFilter{DeviceID: w.thermA.ID, Kind: devices.AlertDrift}, devices.Page{})
		if err != nil || len(drift) != 1 {
			t.Fatalf("thermA's drift alert: %+v, %v", drift, err)
		}
		al, err := st.ActOnAlert(ctx, w.adminA, drift[0].ID, drift[0].Version, devices.AlertAcknowledge, "")
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := st.Coverage(ctx, w.reg); got.Rows[0].Drifting != 1 {
			t.Errorf("after acknowledging: drifting %d, want 1", got.Rows[0].Drifting)
		}
		if _, err := st.ActOnAlert(ctx, w.adminA, al.ID, al.Version, devices.AlertResolve, "sensor cleaned"); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.Coverage(ctx, w.reg); got.Rows[0].Drifting != 0 || got.Rows[0].OutOfTolerance != 1 {
			t.Errorf("after resolving: %+v, want drifting 0, still out of tolerance", got.Rows[0])
		}

		for name, a := range map[string]devices.Actor{"operator": w.adminA, "member": w.memberB, "institute": w.instAdmin, "firm": w.firmAdmin} {
			if _, err := st.Coverage(ctx, a); err == nil {
				t.Errorf("Coverage(%s) = nil error, want ErrForbidden", name)
			} else {
				wantIs(t, "Coverage("+name+")", err, devices.ErrForbidden)
			}
		}
	})
}

// TestCoverageEmpty: no venues, no rows (and no error).
func TestCoverageEmpty(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		sec, err := st.Bootstrap(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		reg, err := st.Authenticate(t.Context(), sec)
		if err != nil {
			t.Fatal(err)
		}
		got, err := st.Coverage(t.Context(), reg)
		if err != nil || got.Rows == nil || len(got.Rows) != 0 {
			t.Errorf("Coverage(empty) = %+v, %v; want no rows", got, err)
		}
	})
}

// fleetCoverage computes the coverage the slow way: every thermometer the
// regulator lists, its due_state, and the alerts not resolved.
func fleetCoverage(t *testing.T, w *world) []devices.CoverageRow {
	t.Helper()
	venues := map[string]devices.Venue{}
	cursor := ""
	for {
		list, next, err := w.st.ListVenues(w.ctx, w.reg, devices.VenueFilter{}, devices.Page{Limit: 500, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range list {
			venues[v.ID] = v
		}
		if cursor = next; next == "" {
			break
		}
	}
	kinds := map[string]map[devices.AlertKind]bool{}
	for _, state := range []devices.AlertState{devices.AlertOpen, devices.AlertAcknowledged} {
		list, _, err := w.st.ListAlerts(w.ctx, w.reg, devices.AlertFilter{State: state}, devices.Page{Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		for _, al := range list {
			if kinds[al.DeviceID] == nil {
				kinds[al.DeviceID] = map[devices.AlertKind]bool{}
			}
			kinds[al.DeviceID][al.Kind] = true
		}
	}
	type key struct {
		region string
		kind   devices.VenueKind
	}
	rows := map[key]*devices.CoverageRow{}
	var order []key
	ths, _, err := w.st.ListThermometers(w.ctx, w.reg, devices.ThermometerFilter{}, devices.Page{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	for _, th := range ths {
		v := venues[th.VenueID]
		k := key{v.RegionCode, v.Kind}
		r := rows[k]
		if r == nil {
			r = &devices.CoverageRow{RegionCode: k.region, VenueKind: k.kind}
			rows[k] = r
			order = append(order, k)
		}
		r.Total++
		switch th.DueState {
		case devices.DueSoon:
			r.DueSoon++
		case devices.DueOverdue:
			r.Overdue++
		}
		al := kinds[th.ID]
		if th.Status == devices.StatusOutOfTolerance || al[devices.AlertOutOfTolerance] {
			r.OutOfTolerance++
		}
		if al[devices.AlertDrift] || al[devices.AlertPredictedDrift] {
			r.Drifting++
		}
		if al[devices.AlertSilent] {
			r.Silent++
		}
	}
	out := []devices.CoverageRow{}
	for _, k := range order {
		out = append(out, *rows[k])
	}
	slices.SortFunc(out, func(a, b devices.CoverageRow) int {
		return cmp.Or(strings.Compare(a.RegionCode, b.RegionCode), strings.Compare(string(a.VenueKind), string(b.VenueKind)))
	})
	return out
}
