package devices_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/calibd/calibd/devices"
)

// TestSlopeSignificant: the slope test of the forecast's line, by hand:
// errors 0, 0.1, 0.1, 0.2 at days 0..3 give Sxx = 5, B = 0.06, residuals
// ∓0.01, ±0.03 so S² = 0.002/2, and t = 0.06/√(0.001/5) = 4.243 >
// t(0.95, 2) = 2.920; errors 0, 0.1, 0, 0.1 give B = 0.02, S² = 0.008/2,
// t = 0.02/√(0.004/5) = 0.707.
func TestSlopeSignificant(t *testing.T) {
	cfg := devices.DefaultDriftConfig()
	fit := func(es ...float64) devices.DriftFit {
		var st devices.DriftState
		for i, e := range es {
			st.Observe(cfg, day(float64(i)), e, 0.2, 0.05, 0.05)
		}
		f, ok := st.Fit()
		if !ok {
			t.Fatalf("no fit through %v", es)
		}
		return f
	}
	for _, tt := range []struct {
		es   []float64
		t    float64
		want bool
	}{
		{[]float64{0, 0.1, 0.1, 0.2}, 0.06 / math.Sqrt(0.0002), true},
		{[]float64{0, 0.1, 0, 0.1}, 0.02 / math.Sqrt(0.0008), false},
		{[]float64{0.1, 0.1, 0.1, 0.1}, 0, false},
	} {
		f := fit(tt.es...)
		if math.Abs(f.SlopeT()-tt.t) > 1e-9 || f.SlopeSignificant() != tt.want {
			t.Errorf("%v: t = %v, significant %v; want %v, %v", tt.es, f.SlopeT(), f.SlopeSignificant(), tt.t, tt.want)
		}
	}
	if f := fit(0, 0.01, 0.02); !math.IsInf(f.SlopeT(), 1) || !f.SlopeSignificant() {
		t.Errorf("a perfect rising line: t = %v", f.SlopeT())
	}
}

// TestPredictedDriftOnNoise is why predicted_drift is gated: on pure
// noise (σ = U = 0.05 °C, MPE 0.2 °C, one check a day for a year, next
// calibration due a year after the first check) the raw §3.3 forecast
// finds a crossing in most runs, the gated alert (DriftVerdict.
// PredictsCrossingBefore) in about 1 of 100. A real drift of 0.001 °C/day
// (the mean error reaches MPE − U at day 150) is caught in every run, and
// well before the crossing.
func TestPredictedDriftOnNoise(t *testing.T) {
	cfg := devices.DefaultDriftConfig()
	due := day(365)
	const runs = 200
	run := func(seed uint64, slope float64) (forecast, alarm bool, firstAlarm float64) {
		r := rand.New(rand.NewPCG(seed, 7))
		var st devices.DriftState
		firstAlarm = -1
		for d := range 365 {
			v := st.Observe(cfg, day(float64(d)), slope*float64(d)+r.NormFloat64()*0.05, 0.2, 0.05, 0.05)
			forecast = forecast || v.Predicted != nil
			if v.PredictsCrossingBefore(due) && !alarm {
				alarm, firstAlarm = true, float64(d)
			}
		}
		return forecast, alarm, firstAlarm
	}
	var forecasts, alarms int
	for seed := range uint64(runs) {
		f, a, _ := run(seed, 0)
		if f {
			forecasts++
		}
		if a {
			alarms++
		}
	}
	t.Logf("pure noise, %d runs: a raw forecast in %d, a predicted_drift alarm in %d", runs, forecasts, alarms)
	if forecasts < runs/2 {
		t.Errorf("raw forecasts on noise: %d of %d; the gate's reason is gone, revisit it", forecasts, runs)
	}
	if alarms > runs*3/100 {
		t.Errorf("predicted_drift alarms on pure noise: %d of %d runs, want at most 3 %%", alarms, runs)
	}
	var sum float64
	for seed := range uint64(50) {
		_, a, first := run(1000+seed, 0.001)
		if !a || first >= 130 {
			t.Errorf("seed %d: drift of 0.001 °C/day alarmed %v at day %v, want before day 130", seed, a, first)
		}
		sum += first
	}
	t.Logf("drift of 0.001 °C/day: first alarm on day %.0f on average (the mean error crosses at day 150)", sum/50)
}

// TestRepeatability: the pooled standard deviation of the readings at
// each point, as left after an adjustment, and U restated at k = 2.
func TestRepeatability(t *testing.T) {
	d := devices.CalibrationData{Points: []devices.TestPoint{
		{ReferenceC: 35, AsFoundC: []float64{35.1, 35.2, 35.3}, UC: 0.06, K: 2},
		{ReferenceC: 37, AsFoundC: []float64{37.0, 37.0, 37.0}, UC: 0.09, K: 3},
	}}
	// Σ(x − x̄)² = 0.02 + 0, df = 4: s = √0.005.
	if s, df := d.Repeatability(); df != 4 || math.Abs(s-math.Sqrt(0.005)) > 1e-9 {
		t.Errorf("as found: σ %v with %d df", s, df)
	}
	if u := d.ExpandedUncertainty(); math.Abs(u-0.06) > 1e-9 {
		t.Errorf("U = %v, want 0.06 (0.09 at k = 3 is 0.06 at k = 2)", u)
	}
	d.Adjusted = true
	d.Points[0].AsLeftC = []float64{35.0, 35.0, 35.0}
	d.Points[1].AsLeftC = []float64{37.0, 37.0, 37.0}
	if s, df := d.Repeatability(); df != 4 || s != 0 {
		t.Errorf("as left: σ %v with %d df, want 0 with 4", s, df)
	}
	if s, df := (devices.CalibrationData{}).Repeatability(); s != 0 || df != 0 {
		t.Errorf("no points: %v, %d", s, df)
	}
}
