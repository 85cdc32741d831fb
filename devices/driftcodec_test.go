package devices_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/calibd/calibd/devices"
)

// sameState compares states by value, times by instant.
func sameState(a, b devices.DriftState) string {
	return cmp.Diff(a, b, cmp.Comparer(func(x, y time.Time) bool { return x.Equal(y) && x.IsZero() == y.IsZero() }),
		cmp.Comparer(func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) }))
}

// TestDriftStateCodec: the compact form reads back to exactly the state
// written, for states met in practice and edge values (the zero time stays
// zero, the Unix epoch stays the epoch); a state stored as JSON by an
// earlier version, and "{}", read as encoding/json reads them.
func TestDriftStateCodec(t *testing.T) {
	cfg := devices.DefaultDriftConfig()
	var grown devices.DriftState
	for i := range 50 {
		grown.ObserveSeq(cfg, day(float64(i)/7), int64(i+1), 0.01*math.Sin(float64(i))+0.002*float64(i), 0.2, 0.05, 0.05)
	}
	loc := time.FixedZone("CST", 8*3600)
	for _, s := range []devices.DriftState{
		{},
		grown,
		{N: 3, EWMA: -1e-9, CUSUMHigh: 1e21, CUSUMLow: 123456789.125, SumT: 5e-7, SumE: -0.1, Origin: day(0).In(loc), LastAt: day(1.5), LastSeq: math.MaxInt64},
		{N: 1, Origin: time.Unix(0, 0), LastAt: time.Unix(0, 1), LastSeq: -1, SumE2: math.Inf(1)},
	} {
		got := devices.AppendDriftState(nil, s)
		if !strings.HasPrefix(string(got), "b1:") || len(got) != 142 {
			t.Errorf("AppendDriftState = %q, want b1: and 139 base64 characters", got)
		}
		back, err := devices.DecodeDriftState(got)
		if err != nil {
			t.Fatal(err)
		}
		if diff := sameState(s, back); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
		// What an earlier version stored reads as before.
		doc, err := json.Marshal(s)
		if err != nil {
			continue // +Inf has no JSON
		}
		old, err := devices.DecodeDriftState(doc)
		if err != nil || sameState(s, old) != "" {
			t.Errorf("DecodeDriftState(%s) = %+v, %v", doc, old, err)
		}
	}
	for _, doc := range []string{"{}", `{"last_seq":4,"n":2}`, ` {"n":1}`} {
		s, err := devices.DecodeDriftState([]byte(doc))
		var want devices.DriftState
		_ = json.Unmarshal([]byte(doc), &want)
		if err != nil || s != want {
			t.Errorf("DecodeDriftState(%s) = %+v, %v; want %+v", doc, s, err, want)
		}
	}
	full := string(devices.AppendDriftState(nil, grown))
	for _, bad := range []string{`{"n":`, "b1:", full[:len(full)-1], full + "A", "b1:" + strings.Repeat("!", 139)} {
		if _, err := devices.DecodeDriftState([]byte(bad)); err == nil {
			t.Errorf("DecodeDriftState(%q) decoded", bad)
		}
	}
}

// FuzzDriftStateCodec: whatever the numbers, the compact form reads back
// to the same state, and any bytes either decode or fail without a panic.
func FuzzDriftStateCodec(f *testing.F) {
	f.Add(3, 0.1, 0.2, 0.0, 1.5, 2.25, -0.3, 1e-9, 4e21, int64(1700000000), int64(123456789), int64(7), []byte("b1:"))
	f.Fuzz(func(t *testing.T, n int, ewma, ch, cl, st, st2, se, ste, se2 float64, sec, nsec, seq int64, junk []byte) {
		_, _ = devices.DecodeDriftState(junk)
		at := time.Unix(sec, nsec).UTC()
		s := devices.DriftState{N: n, EWMA: ewma, CUSUMHigh: ch, CUSUMLow: cl, Origin: at, SumT: st, SumT2: st2, SumE: se, SumTE: ste,
			SumE2: se2, LastAt: at.Add(time.Hour), LastSeq: seq}
		back, err := devices.DecodeDriftState(devices.AppendDriftState(nil, s))
		if err != nil {
			t.Fatal(err)
		}
		if diff := sameState(s, back); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
	})
}
