package store_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
)

// TestReadings: a batch of checks, telemetry and events is stored once
// whatever is redelivered ((device, seq) spans the three topics); the
// ingest learns each device's kind and range; dead letters are kept
// bounded, newest first, even with a payload cut inside a character.
func TestReadings(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx
		at := t0.Add(-time.Minute)
		check := func(seq int64, v float64) devices.Message {
			return devices.Message{Kind: devices.MessageChecks, Check: &devices.CheckReading{DeviceID: w.thermA.ID, Seq: seq, TS: at,
				ReferenceC: 37, ValueC: v, Mode: devices.ModeCalibration}}
		}
		batch := []devices.Message{check(1, 37.05), check(2, 37.08),
			{Kind: devices.MessageTelemetry, Telemetry: &devices.Telemetry{DeviceID: w.elevA.ID, Seq: 1, TS: at,
				Metrics: map[string]float64{"leveling_error_mm": 4.5, "door_cycles": 120311}}},
			{Kind: devices.MessageEvents, Event: &devices.DeviceEvent{DeviceID: w.elevA.ID, Seq: 2, TS: at, Code: "trapped_passenger",
				Severity: devices.SeverityCritical}}}
		n, err := st.SaveMessages(ctx, batch, t0)
		if err != nil || n != 4 {
			t.Fatalf("SaveMessages = %d, %v; want 4", n, err)
		}
		// A redelivery of the whole batch, and seq 1 of thermA again on
		// another topic, add nothing; seq 3 is new.
		again := append(batch, devices.Message{Kind: devices.MessageEvents, Event: &devices.DeviceEvent{DeviceID: w.thermA.ID, Seq: 1,
			TS: at, Code: "self_check_failed", Severity: devices.SeverityWarning}}, check(3, 37.1))
		if n, err := st.SaveMessages(ctx, again, t0); err != nil || n != 1 {
			t.Errorf("redelivery stored %d new, %v; want 1", n, err)
		}
		if got := w.count("readings"); got != 5 {
			t.Errorf("readings rows = %d, want 5", got)
		}

		devs, err := st.IngestDevices(ctx, []string{w.thermA.ID, w.elevA.ID, "0195a2f1-0000-7000-8000-000000000000", "not-an-id"})
		if err != nil || len(devs) != 2 {
			t.Fatalf("IngestDevices = %v, %v", devs, err)
		}
		if d := devs[w.thermA.ID]; d.Kind != devices.DeviceThermometer || d.RangeMinC != 35 || d.RangeMaxC != 42 || d.Retired {
			t.Errorf("thermometer = %+v", d)
		}
		if d := devs[w.elevA.ID]; d.Kind != devices.DeviceElevator {
			t.Errorf("lift = %+v", d)
		}

		st.SetDeadLetterLimit(3)
		// Details of 1,201 bytes: the 1,000-byte cut falls inside a
		// character, which a text column would refuse.
		var letters []devices.DeadLetter
		for i := range 5 {
			letters = append(letters, devices.DeadLetter{Topic: "calibd/v1/devices/x/checks", Reason: "not_json",
				Detail: "a" + strings.Repeat("é", 600), Payload: []byte(strings.Repeat("x", 300) + string(rune('a'+i))), Received: t0})
		}
		if err := st.SaveDeadLetters(ctx, letters); err != nil {
			t.Fatalf("SaveDeadLetters: %v", err)
		}
		if err := st.SaveDeadLetters(ctx, letters[:1]); err != nil {
			t.Fatal(err)
		}
		if got := w.count("dead_letters"); got != 3 {
			t.Errorf("dead letters kept = %d, want 3", got)
		}
		if got := countSQL(t, st, "SELECT count(*) FROM dead_letters WHERE length(payload) = 256"); got != 3 {
			t.Errorf("dead letters with a 256-byte payload = %d, want 3", got)
		}
	})
}

// TestReadingHistory: a device's readings page oldest first by (ts, seq)
// across cursors, filter by kind and time, downsample calibration-mode
// checks into buckets (body mode left out), and stay with the tenants
// who see the device.
func TestReadingHistory(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx
		var msgs []devices.Message
		for i := range 10 {
			mode := devices.ModeCalibration
			if i == 9 {
				mode = devices.ModeBody
			}
			// Two readings per hour, the seq not in time order.
			msgs = append(msgs, devices.Message{Kind: devices.MessageChecks, Check: &devices.CheckReading{DeviceID: w.thermA.ID,
				Seq: int64(100 - i), TS: t0.Add(time.Duration(i) * 30 * time.Minute), ReferenceC: 37, ValueC: 37 + float64(i)/100, Mode: mode}})
		}
		if _, err := st.SaveMessages(ctx, msgs, t0); err != nil {
			t.Fatal(err)
		}
		var seqs []int64
		p := devices.Page{Limit: 4}
		for pages := 0; ; pages++ {
			items, next, err := st.ListReadings(ctx, w.instAdmin, w.thermA.ID, devices.ReadingFilter{Kind: devices.MessageChecks}, p)
			if err != nil || pages > 3 {
				t.Fatalf("ListReadings: %v (pages %d)", err, pages)
			}
			for _, r := range items {
				seqs = append(seqs, r.Seq)
			}
			if next == "" {
				break
			}
			p.Cursor = next
		}
		if len(seqs) != 10 || seqs[0] != 100 || seqs[9] != 91 {
			t.Errorf("paged seqs = %v, want 100 down to 91 in time order", seqs)
		}
		from, to := t0.Add(time.Hour), t0.Add(2*time.Hour)
		if items, _, _ := st.ListReadings(ctx, w.adminA, w.thermA.ID, devices.ReadingFilter{From: &from, To: &to}, devices.Page{}); len(items) != 2 ||
			items[0].ErrorC == nil || *items[0].ErrorC < 0.019 || *items[0].ErrorC > 0.021 {
			t.Errorf("readings in [1h, 2h): %+v", items)
		}
		_, _, err := st.ListReadings(ctx, w.adminB, w.thermA.ID, devices.ReadingFilter{}, devices.Page{})
		wantIs(t, "operator B reads A's readings", err, devices.ErrNotFound)

		// The export gives the same readings in the same order, across its
		// pages; an error from the callback stops it.
		st.SetExportPage(3)
		var exported []int64
		if err := st.ExportReadings(ctx, w.reg, w.thermA.ID, devices.ReadingFilter{Kind: devices.MessageChecks}, func(r devices.Reading) error {
			exported = append(exported, r.Seq)
			return nil
		}); err != nil || !slices.Equal(exported, seqs) {
			t.Errorf("ExportReadings = %v, %v; want %v", exported, err, seqs)
		}
		stop := errors.New("stop")
		calls := 0
		if err := st.ExportReadings(ctx, w.adminA, w.thermA.ID, devices.ReadingFilter{}, func(devices.Reading) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
			t.Errorf("ExportReadings with a failing callback = %v after %d calls", err, calls)
		}
		err = st.ExportReadings(ctx, w.adminB, w.thermA.ID, devices.ReadingFilter{}, func(devices.Reading) error { t.Error("called"); return nil })
		wantIs(t, "operator B exports A's readings", err, devices.ErrNotFound)
		_, _, err = st.ListReadings(ctx, w.adminA, w.thermA.ID, devices.ReadingFilter{}, devices.Page{Cursor: "bm90LWEtY3Vyc29y"})
		wantFields(t, "a forged cursor", err, "cursor")

		bs, err := st.CheckBuckets(ctx, w.adminA, w.thermA.ID, t0, t0.Add(5*time.Hour), time.Hour)
		if err != nil || len(bs) != 5 {
			t.Fatalf("CheckBuckets = %+v, %v; want 5 hourly buckets", bs, err)
		}
		// The fifth hour holds readings 8 (calibration, +0.08) and 9
		// (body mode, left out).
		if b := bs[4]; b.Count != 1 || b.MaxErrC < 0.079 || b.MaxErrC > 0.081 {
			t.Errorf("last bucket = %+v, want the calibration reading only", b)
		}
		if b := bs[0]; b.Count != 2 || b.MinErrC != 0 || b.AvgErrC < 0.0049 || b.AvgErrC > 0.0051 {
			t.Errorf("first bucket = %+v", b)
		}
		_, err = st.CheckBuckets(ctx, w.adminA, w.thermA.ID, t0, t0.AddDate(1, 0, 0), time.Minute)
		wantFields(t, "too many buckets", err, "bucket")
	})
}
