package store_test

import (
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
