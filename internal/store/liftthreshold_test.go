package store_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
)

// telemetry is one telemetry message of a device.
func telemetry(id string, seq int64, ts time.Time, metrics map[string]float64) devices.Message {
	return devices.Message{Kind: devices.MessageTelemetry, Telemetry: &devices.Telemetry{DeviceID: id, Seq: seq, TS: ts, Metrics: metrics}}
}

func leveling(mm float64) map[string]float64 {
	return map[string]float64{"leveling_error_mm": mm, "door_cycles": 120311}
}

// thresholdAlerts lists the threshold alerts a sees.
func thresholdAlerts(t *testing.T, st *store.Store, a devices.Actor, deviceID string) []devices.Alert {
	t.Helper()
	l, _, err := st.ListAlerts(t.Context(), a, devices.AlertFilter{DeviceID: deviceID, Kind: devices.AlertThreshold}, devices.Page{})
	if err != nil {
		t.Fatalf("ListAlerts(threshold): %v", err)
	}
	return l
}

// TestLiftThresholds, with the default bounds (levelling error within
// ±10 mm): in-bound telemetry raises nothing; a breach opens the lift's one
// threshold alert, which a second breach grows and a redelivery does not;
// the lift's operator, its firm and the regulator see it, another operator,
// another firm and the institute do not; the agreement stays accepted and
// no event is raised; once resolved, the next breach opens a new alert.
func TestLiftThresholds(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx
		c := devices.MaintenanceContract{ElevatorID: w.elevA.ID, FirmOrgID: w.firm.ID, StartsOn: "2026-03-01"}
		if err := st.CreateContract(ctx, w.adminA, &c); err != nil {
			t.Fatal(err)
		}
		ag := devices.CycleAgreement{ContractID: c.ID, OnSiteCycleDays: 30, RemoteIntervalDays: 7, ValidFrom: "2026-03-01",
			ValidTo: "2026-05-31", Reason: "fewer visits"}
		if err := st.ProposeAgreement(ctx, w.firmAdmin, &ag); err != nil {
			t.Fatal(err)
		}
		if _, err := st.ActOnAgreement(ctx, w.adminA, ag.ID, devices.AnyVersion, devices.AgreementAccept, ""); err != nil {
			t.Fatal(err)
		}
		events := w.count("events")
		save := func(msgs ...devices.Message) {
			t.Helper()
			if _, err := st.SaveMessages(ctx, msgs, w.clk.Now()); err != nil {
				t.Fatal(err)
			}
			w.clk.Add(time.Second)
		}
		ts := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

		// In bounds, at the limits, and a thermometer that sends a
		// levelling metric: nothing.
		save(telemetry(w.elevA.ID, 1, ts(1), leveling(4.5)), telemetry(w.elevA.ID, 2, ts(2), leveling(10)),
			telemetry(w.elevA.ID, 3, ts(3), leveling(-10)), telemetry(w.thermA.ID, 1, ts(1), leveling(50)))
		if l := thresholdAlerts(t, st, w.reg, ""); len(l) != 0 {
			t.Fatalf("in-bound telemetry raised %+v", l)
		}

		// A breach opens one alert.
		save(telemetry(w.elevA.ID, 5, ts(5), leveling(14.5)))
		l := thresholdAlerts(t, st, w.adminA, w.elevA.ID)
		if len(l) != 1 {
			t.Fatalf("threshold alerts after a breach = %+v, want 1", l)
		}
		al := l[0]
		if al.State != devices.AlertOpen || al.Evidence != 1 || al.DeviceKind != devices.DeviceElevator || al.VenueID != w.venueA.ID ||
			al.OperatorOrgID != w.opA.ID || al.InstituteID != nil || !al.FirstAt.Equal(ts(5)) || !al.LastAt.Equal(ts(5)) || al.Version != 1 {
			t.Errorf("new alert = %+v", al)
		}
		if want := "leveling_error_mm 14.5 is above 10"; !strings.Contains(al.Detail, want) || !strings.Contains(al.Detail, "seq 5") {
			t.Errorf("detail = %q, want it to name %q and seq 5", al.Detail, want)
		}

		// A redelivery adds nothing; a second breach grows the alert.
		save(telemetry(w.elevA.ID, 5, ts(5), leveling(14.5)))
		save(telemetry(w.elevA.ID, 6, ts(6), leveling(-12.5)), telemetry(w.elevA.ID, 7, ts(7), leveling(3)))
		got, err := st.GetAlert(ctx, w.firmAdmin, al.ID)
		if err != nil {
			t.Fatalf("the lift's firm reads the alert: %v", err)
		}
		if got.Evidence != 2 || !got.FirstAt.Equal(ts(5)) || !got.LastAt.Equal(ts(6)) || got.Version != 2 ||
			!strings.Contains(got.Detail, "leveling_error_mm -12.5 is below -10") {
			t.Errorf("alert after a second breach = %+v", got)
		}
		// A breach measured earlier but stored later counts and moves
		// first_at; the detail stays with the newest breach.
		save(telemetry(w.elevA.ID, 4, ts(4), leveling(11)))
		got, _ = st.GetAlert(ctx, w.reg, al.ID)
		if got.Evidence != 3 || !got.FirstAt.Equal(ts(4)) || !got.LastAt.Equal(ts(6)) || !strings.Contains(got.Detail, "-12.5") {
			t.Errorf("alert after a late breach = %+v", got)
		}
		if l := thresholdAlerts(t, st, w.reg, ""); len(l) != 1 {
			t.Errorf("the regulator sees %d threshold alerts, want 1", len(l))
		}

		// Other tenants see nothing.
		otherFirm := w.org("Other Lifts Ltd", devices.KindMaintenanceFirm)
		otherFirmAdmin := w.token(w.reg, otherFirm.ID, devices.RoleAdmin)
		for name, a := range map[string]devices.Actor{"operator B": w.adminB, "another firm": otherFirmAdmin, "the institute": w.instAdmin} {
			if l := thresholdAlerts(t, st, a, ""); len(l) != 0 {
				t.Errorf("%s lists %d threshold alerts", name, len(l))
			}
			_, err := st.GetAlert(ctx, a, al.ID)
			wantIs(t, name+" reads the alert", err, devices.ErrNotFound)
		}

		// Only critical faults suspend the agreement; a breach tells
		// nobody through an event.
		if g, _ := st.GetAgreement(ctx, w.firmAdmin, ag.ID); g.State != devices.AgreementAccepted {
			t.Errorf("agreement after threshold breaches: %s (%q)", g.State, g.StateReason)
		}
		if n := w.count("events"); n != events {
			t.Errorf("events = %d after threshold breaches, want %d", n, events)
		}

		// The firm resolves it; the next breach opens a new alert.
		if _, err := st.ActOnAlert(ctx, w.firmAdmin, al.ID, devices.AnyVersion, devices.AlertResolve, "car re-levelled on site"); err != nil {
			t.Fatal(err)
		}
		save(telemetry(w.elevA.ID, 8, ts(8), leveling(20)))
		l = thresholdAlerts(t, st, w.adminA, w.elevA.ID)
		if len(l) != 2 {
			t.Fatalf("threshold alerts after a breach past the resolved one = %+v, want 2", l)
		}
		for _, a := range l {
			if a.ID != al.ID && (a.State != devices.AlertOpen || a.Evidence != 1 || !a.FirstAt.Equal(ts(8))) {
				t.Errorf("new alert = %+v", a)
			}
		}
	})
}

// TestLiftThresholdsBatchOrder: the alert is the same whatever the order
// of the messages in a batch, and whatever batches they are split into
// (given distinct timestamps); one batch opens the alerts of several
// lifts; of two breaches at the same ts, the higher seq is the newest.
func TestLiftThresholdsBatchOrder(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		elevA3 := w.elevator(w.adminA, w.venueA.ID, nil)
		elevA4 := w.elevator(w.adminA, w.venueA.ID, nil)
		msgs := func(id string) []devices.Message {
			return []devices.Message{
				telemetry(id, 10, t0.Add(1*time.Minute), leveling(12)),
				telemetry(id, 11, t0.Add(2*time.Minute), leveling(4)),
				telemetry(id, 12, t0.Add(3*time.Minute), leveling(-15)),
				telemetry(id, 13, t0.Add(3*time.Minute), leveling(18)),
			}
		}
		batches := map[string][][]devices.Message{
			w.elevA.ID:  {msgs(w.elevA.ID)},
			w.elevA2.ID: {{msgs(w.elevA2.ID)[3], msgs(w.elevA2.ID)[0], msgs(w.elevA2.ID)[2], msgs(w.elevA2.ID)[1]}},
			elevA3.ID:   {{msgs(elevA3.ID)[2], msgs(elevA3.ID)[3]}, {msgs(elevA3.ID)[1]}, {msgs(elevA3.ID)[0]}},
			elevA4.ID:   {{msgs(elevA4.ID)[0]}, {msgs(elevA4.ID)[3], msgs(elevA4.ID)[1], msgs(elevA4.ID)[2]}},
		}
		// The first batch of each lift goes in together.
		var first []devices.Message
		for _, b := range batches {
			first = append(first, b[0]...)
		}
		if _, err := st.SaveMessages(w.ctx, first, t0); err != nil {
			t.Fatal(err)
		}
		for _, b := range batches {
			for i, later := range b[1:] {
				if _, err := st.SaveMessages(w.ctx, later, t0.Add(time.Duration(i+1)*time.Second)); err != nil {
					t.Fatal(err)
				}
			}
		}
		type shape struct {
			evidence    int
			first, last time.Time
			detail      string
		}
		var want shape
		for i, id := range []string{w.elevA.ID, w.elevA2.ID, elevA3.ID, elevA4.ID} {
			l := thresholdAlerts(t, st, w.reg, id)
			if len(l) != 1 {
				t.Fatalf("lift %d: threshold alerts = %+v, want 1", i, l)
			}
			got := shape{l[0].Evidence, l[0].FirstAt, l[0].LastAt, l[0].Detail}
			if i == 0 {
				want = got
				if got.evidence != 3 || !got.first.Equal(t0.Add(time.Minute)) || !got.last.Equal(t0.Add(3*time.Minute)) ||
					!strings.Contains(got.detail, "seq 13") || !strings.Contains(got.detail, "leveling_error_mm 18 is above 10") {
					t.Errorf("alert from one batch = %+v", got)
				}
				continue
			}
			if got.evidence != want.evidence || !got.first.Equal(want.first) || !got.last.Equal(want.last) || got.detail != want.detail {
				t.Errorf("lift %d: alert = %+v, want %+v as from one ordered batch", i, got, want)
			}
		}
	})
}

// TestLiftThresholdsConcurrent: batches committed at the same moment (two
// replicas of the ingest) grow one alert and none fails on the one-open
// index.
func TestLiftThresholdsConcurrent(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		const n = 6
		errs := make(chan error, n)
		for i := range n {
			go func() {
				_, err := st.SaveMessages(w.ctx, []devices.Message{telemetry(w.elevA.ID, int64(i+1), t0.Add(time.Duration(i)*time.Second),
					leveling(11+float64(i)))}, t0)
				errs <- err
			}()
		}
		for range n {
			if err := <-errs; err != nil {
				t.Errorf("concurrent SaveMessages: %v", err)
			}
		}
		l := thresholdAlerts(t, st, w.reg, w.elevA.ID)
		if len(l) != 1 || l[0].Evidence != n || !l[0].LastAt.Equal(t0.Add((n-1)*time.Second)) || !strings.Contains(l[0].Detail, "seq 6") {
			t.Errorf("alerts after %d concurrent breaches = %+v, want one with evidence %d", n, l, n)
		}
	})
}

// TestLiftThresholdsConfigured: the bounds come from the store's Config:
// LIFT_THRESHOLDS=none raises nothing, and a set of its own replaces the
// default levelling bound.
func TestLiftThresholdsConfigured(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec    string
		metrics map[string]float64
		want    string // a fragment of the detail; "" for no alert
	}{
		{"none", map[string]float64{"leveling_error_mm": 50}, ""},
		{"vibration_mm_s>=4.5,machine_room_temp_c>40", map[string]float64{"leveling_error_mm": 50, "vibration_mm_s": 4.4}, ""},
		{"vibration_mm_s>=4.5,machine_room_temp_c>40", map[string]float64{"vibration_mm_s": 4.5, "machine_room_temp_c": 41},
			"vibration_mm_s 4.5 is above or at 4.5; machine_room_temp_c 41 is above 40"},
	}
	for _, d := range testenv.Dialects() {
		t.Run(d, func(t *testing.T) {
			for _, tt := range tests {
				th, err := devices.ParseThresholds(tt.spec)
				if err != nil {
					t.Fatal(err)
				}
				st, err := store.Open(context.Background(), store.Config{URL: testenv.DatabaseURL(t, d), MaxOpenConns: 4, LiftThresholds: th},
					testenv.Logger())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = st.Close() })
				if _, err := st.Migrate(context.Background()); err != nil {
					t.Fatal(err)
				}
				w := newWorld(t, st)
				if _, err := st.SaveMessages(w.ctx, []devices.Message{telemetry(w.elevA.ID, 1, t0, tt.metrics)}, t0); err != nil {
					t.Fatal(err)
				}
				l := thresholdAlerts(t, st, w.reg, "")
				switch {
				case tt.want == "" && len(l) != 0:
					t.Errorf("LIFT_THRESHOLDS=%s, %v: alerts %+v, want none", tt.spec, tt.metrics, l)
				case tt.want != "" && (len(l) != 1 || !strings.Contains(l[0].Detail, tt.want)):
					t.Errorf("LIFT_THRESHOLDS=%s, %v: alerts %+v, want one naming %q", tt.spec, tt.metrics, l, tt.want)
				}
			}
		})
	}
	// A set built by hand is checked when the store opens.
	bad := devices.Thresholds{{Metric: "Bad Name", Bound: devices.BoundAbove, Limit: 1}}
	if _, err := store.Open(context.Background(), store.Config{URL: filepath.Join(t.TempDir(), "x.db"), LiftThresholds: bad}, testenv.Logger()); err == nil ||
		!strings.Contains(err.Error(), "lift thresholds") {
		t.Errorf("Open with an invalid threshold = %v, want an error", err)
	}
}
