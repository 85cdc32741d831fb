package devices_test

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/calibd/calibd/devices"
)

// validCalibration is a JJG 1164-style ear-thermometer calibration at
// 35.0, 37.0 and 41.5 °C (DOMAIN.md §1.3), all within the ±0.2 °C MPE.
func validCalibration() devices.CalibrationData {
	return devices.CalibrationData{
		Mode: devices.ModeCalibration,
		Points: []devices.TestPoint{
			{ReferenceC: 35.0, AsFoundC: []float64{35.1, 35.0, 35.05}, UC: 0.05, K: 2}, // mean 35.05: +0.05
			{ReferenceC: 37.0, AsFoundC: []float64{37.1, 37.1, 37.1}, UC: 0.05},        // +0.10; K defaults
			{ReferenceC: 41.5, AsFoundC: []float64{41.4, 41.45, 41.5}, UC: 0.05, K: 2}, // mean 41.45: -0.05
		},
		Ambient: devices.Ambient{TempC: 23, RHPercent: 50},
		Rule:    devices.RuleSimple, MPEC: 0.2, RangeMinC: 35, RangeMaxC: 42,
	}
}

// three returns three equal readings.
func three(v float64) []float64 { return []float64{v, v, v} }

func TestCalibrationDataValidate(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name       string
		edit       func(d *devices.CalibrationData)
		wantFields []string
	}{
		{name: "valid", edit: func(d *devices.CalibrationData) {}},
		{name: "body mode", edit: func(d *devices.CalibrationData) { d.Mode = devices.ModeBody }},
		{name: "adjusted with as-left", edit: func(d *devices.CalibrationData) {
			d.Adjusted = true
			for i := range d.Points {
				d.Points[i].AsLeftC = three(d.Points[i].ReferenceC)
			}
		}},
		{name: "range limits are inside", edit: func(d *devices.CalibrationData) {
			d.Points[0].AsFoundC = []float64{35, 35, 35.1}
			d.Points[2].ReferenceC, d.Points[2].AsFoundC = 42, three(42)
		}},
		{name: "ambient limits are inside", edit: func(d *devices.CalibrationData) { d.Ambient = devices.Ambient{TempC: 10, RHPercent: 0} }},
		{name: "ambient upper limits", edit: func(d *devices.CalibrationData) { d.Ambient = devices.Ambient{TempC: 40, RHPercent: 100} }},

		{name: "no mode", edit: func(d *devices.CalibrationData) { d.Mode = "" }, wantFields: sorted("mode")},
		{name: "unknown rule", edit: func(d *devices.CalibrationData) { d.Rule = "lenient" }, wantFields: sorted("rule")},
		{name: "zero MPE", edit: func(d *devices.CalibrationData) { d.MPEC = 0 }, wantFields: sorted("mpe_c")},
		{name: "NaN MPE", edit: func(d *devices.CalibrationData) { d.MPEC = nan }, wantFields: sorted("mpe_c")},
		{name: "MPE above 2", edit: func(d *devices.CalibrationData) { d.MPEC = 2.5 }, wantFields: sorted("mpe_c")},
		// An inverted range is one problem, not one per reading.
		{name: "inverted range", edit: func(d *devices.CalibrationData) { d.RangeMinC, d.RangeMaxC = 42, 35 },
			wantFields: sorted("range_min_c")},
		{name: "infinite range", edit: func(d *devices.CalibrationData) { d.RangeMaxC = inf }, wantFields: sorted("range_max_c")},
		{name: "two points", edit: func(d *devices.CalibrationData) { d.Points = d.Points[:2] }, wantFields: sorted("points")},
		{name: "no points", edit: func(d *devices.CalibrationData) { d.Points = nil }, wantFields: sorted("points")},
		{name: "too many points", edit: func(d *devices.CalibrationData) {
			d.Points = nil
			for i := range devices.MaxTestPoints + 1 {
				ref := 35 + 0.25*float64(i) // 35.0 .. 40.0
				d.Points = append(d.Points, devices.TestPoint{ReferenceC: ref, AsFoundC: three(ref), UC: 0.05})
			}
		}, wantFields: sorted("points")},
		{name: "two as-found readings", edit: func(d *devices.CalibrationData) { d.Points[1].AsFoundC = []float64{37.1, 37.1} },
			wantFields: sorted("points[1].as_found_c")},
		{name: "four as-found readings", edit: func(d *devices.CalibrationData) { d.Points[2].AsFoundC = append(d.Points[2].AsFoundC, 41.5) },
			wantFields: sorted("points[2].as_found_c")},
		{name: "reading below the range", edit: func(d *devices.CalibrationData) { d.Points[0].AsFoundC[1] = 34.9 },
			wantFields: sorted("points[0].as_found_c[1]")},
		{name: "NaN reading", edit: func(d *devices.CalibrationData) { d.Points[1].AsFoundC[0] = nan },
			wantFields: sorted("points[1].as_found_c[0]")},
		{name: "infinite reading", edit: func(d *devices.CalibrationData) { d.Points[1].AsFoundC[2] = -inf },
			wantFields: sorted("points[1].as_found_c[2]")},
		{name: "reference above the range", edit: func(d *devices.CalibrationData) { d.Points[2].ReferenceC = 42.5 },
			wantFields: sorted("points[2].reference_c")},
		{name: "infinite reference", edit: func(d *devices.CalibrationData) { d.Points[0].ReferenceC = inf },
			wantFields: sorted("points[0].reference_c")},
		{name: "duplicate reference", edit: func(d *devices.CalibrationData) {
			d.Points[2].ReferenceC, d.Points[2].AsFoundC = 35.0, three(35.0)
		}, wantFields: sorted("points[2].reference_c")},
		{name: "zero U", edit: func(d *devices.CalibrationData) { d.Points[0].UC = 0 }, wantFields: sorted("points[0].u_c")},
		{name: "negative U", edit: func(d *devices.CalibrationData) { d.Points[1].UC = -0.05 }, wantFields: sorted("points[1].u_c")},
		{name: "NaN U", edit: func(d *devices.CalibrationData) { d.Points[2].UC = nan }, wantFields: sorted("points[2].u_c")},
		{name: "negative k", edit: func(d *devices.CalibrationData) { d.Points[2].K = -2 }, wantFields: sorted("points[2].k")},
		{name: "NaN k", edit: func(d *devices.CalibrationData) { d.Points[0].K = nan }, wantFields: sorted("points[0].k")},
		{name: "as-left without adjustment", edit: func(d *devices.CalibrationData) { d.Points[0].AsLeftC = three(35.0) },
			wantFields: sorted("points[0].as_left_c")},
		{name: "adjusted without as-left", edit: func(d *devices.CalibrationData) { d.Adjusted = true },
			wantFields: sorted("points[0].as_left_c", "points[1].as_left_c", "points[2].as_left_c")},
		{name: "adjusted with bad as-left", edit: func(d *devices.CalibrationData) {
			d.Adjusted = true
			d.Points[0].AsLeftC = []float64{35.0, 35.0}
			d.Points[1].AsLeftC = []float64{37.0, 43.0, 37.0}
			d.Points[2].AsLeftC = three(41.5)
		}, wantFields: sorted("points[0].as_left_c", "points[1].as_left_c[1]")},
		{name: "ambient too warm", edit: func(d *devices.CalibrationData) { d.Ambient.TempC = 40.5 }, wantFields: sorted("ambient.temp_c")},
		{name: "ambient not recorded", edit: func(d *devices.CalibrationData) { d.Ambient = devices.Ambient{} },
			wantFields: sorted("ambient.temp_c")},
		{name: "humidity above 100", edit: func(d *devices.CalibrationData) { d.Ambient.RHPercent = 101 }, wantFields: sorted("ambient.rh_percent")},
		{name: "negative humidity", edit: func(d *devices.CalibrationData) { d.Ambient.RHPercent = -1 }, wantFields: sorted("ambient.rh_percent")},
		{name: "NaN humidity", edit: func(d *devices.CalibrationData) { d.Ambient.RHPercent = nan }, wantFields: sorted("ambient.rh_percent")},
		{name: "every problem at once", edit: func(d *devices.CalibrationData) {
			d.Mode, d.Rule, d.MPEC = "raw", "x", -1
			d.Points[0].AsFoundC = nil
			d.Points[1].UC, d.Points[1].K = 0, -1
			d.Points[2].ReferenceC = 37.0
			d.Points[2].AsFoundC = three(37.0)
			d.Points[2].AsLeftC = three(37.0)
			d.Ambient = devices.Ambient{TempC: 50, RHPercent: 120}
		}, wantFields: sorted("mode", "rule", "mpe_c", "points[0].as_found_c", "points[1].u_c", "points[1].k",
			"points[2].reference_c", "points[2].as_left_c", "ambient.temp_c", "ambient.rh_percent")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := validCalibration()
			tt.edit(&d)
			if diff := cmp.Diff(tt.wantFields, validationFields(t, d.Validate())); diff != "" {
				t.Errorf("Validate() fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCalibrationDataValidateDefaults(t *testing.T) {
	d := validCalibration()
	d.Rule = ""
	d.Points[0].K = 0
	if err := d.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	if d.Rule != devices.RuleSimple {
		t.Errorf("Rule = %q, want simple_acceptance", d.Rule)
	}
	for i, p := range d.Points {
		if p.K != 2 {
			t.Errorf("points[%d].K = %v, want 2", i, p.K)
		}
	}
}

func TestCalibrationDataEvaluate(t *testing.T) {
	const (
		pass = devices.VerdictPass
		fail = devices.VerdictFail
		ind  = devices.VerdictIndeterminate
	)
	// points builds three points at 35.0, 37.0 and 41.5 °C with the given
	// as-found means (three equal readings each) and U.
	points := func(u float64, found ...float64) []devices.TestPoint {
		refs := []float64{35.0, 37.0, 41.5}
		out := make([]devices.TestPoint, len(refs))
		for i, r := range refs {
			out[i] = devices.TestPoint{ReferenceC: r, AsFoundC: three(found[i]), UC: u, K: 2}
		}
		return out
	}
	withLeft := func(pts []devices.TestPoint, left ...float64) []devices.TestPoint {
		for i := range pts {
			pts[i].AsLeftC = three(left[i])
		}
		return pts
	}
	tests := []struct {
		name        string
		edit        func(d *devices.CalibrationData)
		wantFound   []devices.PointOutcome
		wantLeft    []devices.PointOutcome
		wantOverall devices.Verdict
	}{
		{
			name: "mean minus reference",
			edit: func(d *devices.CalibrationData) {},
			wantFound: []devices.PointOutcome{
				{ReferenceC: 35.0, ErrorC: 0.05, Verdict: pass},
				{ReferenceC: 37.0, ErrorC: 0.10, Verdict: pass},
				{ReferenceC: 41.5, ErrorC: -0.05, Verdict: pass},
			},
			wantOverall: pass,
		},
		{
			// 37.3, 37.2, 37.1 average 37.2: error 0.2, on the MPE.
			name: "simple acceptance on the limit",
			edit: func(d *devices.CalibrationData) {
				d.Points[1].AsFoundC = []float64{37.3, 37.2, 37.1}
				d.Points[2].AsFoundC = three(41.3)
			},
			wantFound: []devices.PointOutcome{
				{ReferenceC: 35.0, ErrorC: 0.05, Verdict: pass},
				{ReferenceC: 37.0, ErrorC: 0.2, Verdict: pass},
				{ReferenceC: 41.5, ErrorC: -0.2, Verdict: pass},
			},
			wantOverall: pass,
		},
		{
			name: "simple acceptance just beyond the limit",
			edit: func(d *devices.CalibrationData) { d.Points = points(0.05, 35.0, 37.21, 41.5) },
			wantFound: []devices.PointOutcome{
				{ReferenceC: 35.0, ErrorC: 0, Verdict: pass},
				{ReferenceC: 37.0, ErrorC: 0.21, Verdict: fail},
				{ReferenceC: 41.5, ErrorC: 0, Verdict: pass},
			},
			wantOverall: fail,
		},
		{
			// Guard band U = 0.05: acceptance limit 0.15.
			name: "guard band",
			edit: func(d *devices.CalibrationData) {
				d.Rule = devices.RuleGuardBand
				d.Points = points(0.05, 35.15, 37.16, 41.35)
			},
			wantFound: []devices.PointOutcome{
				{ReferenceC: 35.0, ErrorC: 0.15, Verdict: pass},
				{ReferenceC: 37.0, ErrorC: 0.16, Verdict: fail},
				{ReferenceC: 41.5, ErrorC: -0.15, Verdict: pass},
			},
			wantOverall: fail,
		},
		{
			// JJF 1094 with U = 0.1 > 0.2/3: pass <= 0.1, fail >= 0.3.
			name: "jjf1094 indeterminate",
			edit: func(d *devices.CalibrationData) {
				d.Rule = devices.RuleJJF1094
				d.Points = points(0.1, 35.1, 37.2, 41.4)
			},
			wantFound: []devices.PointOutcome{
				{ReferenceC: 35.0, ErrorC: 0.1, Verdict: pass},
				{ReferenceC: 37.0, ErrorC: 0.2, Verdict: ind},
				{ReferenceC: 41.5, ErrorC: -0.1, Verdict: pass},
			},
			wantOverall: ind,
		},
		{
			name: "jjf1094 fail limit",
			edit: func(d *devices.CalibrationData) {
				d.Rule = devices.RuleJJF1094
				d.Points = points(0.1, 35.3, 37.2, 41.5)
			},
			wantFound: []devices.PointOutcome{
				{ReferenceC: 35.0, ErrorC: 0.3, Verdict: fail},
				{ReferenceC: 37.0, ErrorC: 0.2, Verdict: ind},
				{ReferenceC: 41.5, ErrorC: 0, Verdict: pass},
			},
			wantOverall: fail,
		},
		{
			name: "empty rule is simple acceptance",
			edit: func(d *devices.CalibrationData) {
				d.Rule = ""
				d.Points = points(0.1, 35.2, 37.0, 41.5)
			},
			wantFound: []devices.PointOutcome{
				{ReferenceC: 35.0, ErrorC: 0.2, Verdict: pass},
				{ReferenceC: 37.0, ErrorC: 0, Verdict: pass},
				{ReferenceC: 41.5, ErrorC: 0, Verdict: pass},
			},
			wantOverall: pass,
		},
		{
			// Found out of tolerance, adjusted, left in: the overall verdict
			// is the as-left one, the as-found fail is still reported.
			name: "adjusted judges as-left",
			edit: func(d *devices.CalibrationData) {
				d.Adjusted = true
				d.Points = withLeft(points(0.05, 35.3, 37.25, 41.5), 35.0, 37.05, 41.45)
			},
			wantFound: []devices.PointOutcome{
				{ReferenceC: 35.0, ErrorC: 0.3, Verdict: fail},
				{ReferenceC: 37.0, ErrorC: 0.25, Verdict: fail},
				{ReferenceC: 41.5, ErrorC: 0, Verdict: pass},
			},
			wantLeft: []devices.PointOutcome{
				{ReferenceC: 35.0, ErrorC: 0, Verdict: pass},
				{ReferenceC: 37.0, ErrorC: 0.05, Verdict: pass},
				{ReferenceC: 41.5, ErrorC: -0.05, Verdict: pass},
			},
			wantOverall: pass,
		},
		{
			name: "adjusted and still out",
			edit: func(d *devices.CalibrationData) {
				d.Adjusted = true
				d.Points = withLeft(points(0.05, 35.0, 37.0, 41.5), 35.0, 37.0, 41.25)
			},
			wantFound: []devices.PointOutcome{
				{ReferenceC: 35.0, ErrorC: 0, Verdict: pass},
				{ReferenceC: 37.0, ErrorC: 0, Verdict: pass},
				{ReferenceC: 41.5, ErrorC: 0, Verdict: pass},
			},
			wantLeft: []devices.PointOutcome{
				{ReferenceC: 35.0, ErrorC: 0, Verdict: pass},
				{ReferenceC: 37.0, ErrorC: 0, Verdict: pass},
				{ReferenceC: 41.5, ErrorC: -0.25, Verdict: fail},
			},
			wantOverall: fail,
		},
	}
	approx := cmpopts.EquateApprox(0, 1e-9)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := validCalibration()
			tt.edit(&d)
			found, left, overall := d.Evaluate()
			if diff := cmp.Diff(tt.wantFound, found, approx); diff != "" {
				t.Errorf("as-found (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantLeft, left, approx); diff != "" {
				t.Errorf("as-left (-want +got):\n%s", diff)
			}
			if overall != tt.wantOverall {
				t.Errorf("overall = %s, want %s", overall, tt.wantOverall)
			}
		})
	}
}

func TestCalibrationDataAsFoundAt(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	d := validCalibration()
	// As found: +0.05, +0.25 (fail), -0.15; adjusted to pass as left.
	d.Adjusted = true
	d.Points[1].AsFoundC = three(37.25)
	d.Points[2].AsFoundC = three(41.35)
	for i := range d.Points {
		d.Points[i].AsLeftC = three(d.Points[i].ReferenceC)
	}
	got := d.AsFoundAt(at)
	want := devices.AsFound{At: at, MaxAbsErrorC: 0.25, MPEC: 0.2, Verdict: devices.VerdictFail}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("AsFoundAt (-want +got):\n%s", diff)
	}
}
