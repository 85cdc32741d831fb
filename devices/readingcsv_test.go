package devices_test

import (
	"bytes"
	"encoding/csv"
	"slices"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
)

// TestReadingCSVWriter: a check, telemetry and an event each fill their
// own columns and leave the others empty; the file reads back as CSV.
func TestReadingCSVWriter(t *testing.T) {
	at := time.Date(2026, 11, 24, 8, 0, 0, 500_000_000, time.FixedZone("CST", 8*3600))
	ref, val, e := 37.0, 37.08, 0.08
	var buf bytes.Buffer
	w, err := devices.NewReadingCSVWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []devices.Reading{
		{DeviceID: "d1", Seq: 17, Kind: devices.MessageChecks, TS: at, ReceivedAt: at.Add(time.Second), ReferenceC: &ref, ValueC: &val, ErrorC: &e,
			Mode: "calibration"},
		{DeviceID: "d2", Seq: 18, Kind: devices.MessageTelemetry, TS: at, ReceivedAt: at, Metrics: map[string]float64{"runs": 3, "leveling_error_mm": -4.5}},
		{DeviceID: "d2", Seq: 19, Kind: devices.MessageEvents, TS: at, ReceivedAt: at, Code: "trapped_passenger", Severity: "critical"},
	} {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		devices.ReadingColumns,
		{"d1", "17", "checks", "2026-11-24T00:00:00.5Z", "2026-11-24T00:00:01.5Z", "37", "37.08", "0.08", "calibration", "", "", ""},
		{"d2", "18", "telemetry", "2026-11-24T00:00:00.5Z", "2026-11-24T00:00:00.5Z", "", "", "", "", `{"leveling_error_mm":-4.5,"runs":3}`, "", ""},
		{"d2", "19", "events", "2026-11-24T00:00:00.5Z", "2026-11-24T00:00:00.5Z", "", "", "", "", "", "trapped_passenger", "critical"},
	}
	if !slices.EqualFunc(rows, want, slices.Equal[[]string]) {
		t.Errorf("rows:\n%q\nwant\n%q", rows, want)
	}
}
