package devices_test

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/calibd/calibd/devices"
)

// TestDriftStateCodec: the fast codec writes what encoding/json writes,
// and reads back the same state, for states met in practice and edge
// values; other JSON (and "{}") goes through encoding/json.
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
	} {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		got := devices.AppendDriftState(nil, s)
		if string(got) != string(want) {
			t.Errorf("AppendDriftState:\n got %s\nwant %s", got, want)
		}
		back, err := devices.DecodeDriftState(got)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(s, back, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
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
	if _, err := devices.DecodeDriftState([]byte(`{"n":`)); err == nil {
		t.Error("a truncated state decoded")
	}
}

// FuzzDriftStateCodec: whatever the numbers, the fast form matches
// encoding/json and reads back to the same state.
func FuzzDriftStateCodec(f *testing.F) {
	f.Add(3, 0.1, 0.2, 0.0, 1.5, 2.25, -0.3, 1e-9, 4e21, int64(1700000000), int64(7))
	f.Fuzz(func(t *testing.T, n int, ewma, ch, cl, st, st2, se, ste, se2 float64, sec, seq int64) {
		for _, v := range []float64{ewma, ch, cl, st, st2, se, ste, se2} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return
			}
		}
		at := time.Unix(sec%(1<<34), 0).UTC()
		s := devices.DriftState{N: n, EWMA: ewma, CUSUMHigh: ch, CUSUMLow: cl, Origin: at, SumT: st, SumT2: st2, SumE: se, SumTE: ste,
			SumE2: se2, LastAt: at.Add(time.Hour), LastSeq: seq}
		want, err := json.Marshal(s)
		if err != nil {
			return
		}
		got := devices.AppendDriftState(nil, s)
		if string(got) != string(want) {
			t.Fatalf("AppendDriftState:\n got %s\nwant %s", got, want)
		}
		back, err := devices.DecodeDriftState(got)
		if err != nil || !back.Origin.Equal(s.Origin) || back.N != s.N || back.EWMA != s.EWMA || back.SumE2 != s.SumE2 || back.LastSeq != s.LastSeq {
			t.Fatalf("round trip: %+v, %v", back, err)
		}
	})
}
