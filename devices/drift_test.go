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

// driftT0 is the first reading's time in the drift tests.
var driftT0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// day is driftT0 plus d days.
func day(d float64) time.Time {
	return driftT0.Add(time.Duration(d * float64(24*time.Hour)))
}

// driftCfg is the default configuration with the CUSUM's k and h set.
func driftCfg(k, h float64) devices.DriftConfig {
	c := devices.DefaultDriftConfig()
	c.K, c.H = k, h
	return c
}

// feedDaily applies errs one a day from driftT0 and returns the verdicts.
func feedDaily(tb testing.TB, s *devices.DriftState, cfg devices.DriftConfig, errs []float64, mpe, u, sigma float64) []devices.DriftVerdict {
	tb.Helper()
	out := make([]devices.DriftVerdict, len(errs))
	for i, e := range errs {
		out[i] = s.Observe(cfg, day(float64(i)), e, mpe, u, sigma)
		if out[i].Ignored {
			tb.Fatalf("reading %d (e %v) ignored: %s", i+1, e, out[i].IgnoredReason)
		}
	}
	return out
}

// repeat is n copies of v.
func repeat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// firstAlarm is the 1-based index of the first verdict for which alarm
// holds, 0 when none does.
func firstAlarm(vs []devices.DriftVerdict, alarm func(devices.DriftVerdict) bool) int {
	for i, v := range vs {
		if alarm(v) {
			return i + 1
		}
	}
	return 0
}

// wantSeries checks pick(vs[i]) against want[i] to tol for each value in
// want, naming the statistic label_t (t 1-based).
func wantSeries(tb testing.TB, label string, vs []devices.DriftVerdict, pick func(devices.DriftVerdict) float64, want []float64, tol float64) {
	tb.Helper()
	for i, w := range want {
		if got := pick(vs[i]); math.Abs(got-w) > tol {
			tb.Errorf("%s_%d = %v, want %v", label, i+1, got, w)
		}
	}
}

func TestDriftConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*devices.DriftConfig)
		want   []string
	}{
		{name: "defaults", change: func(*devices.DriftConfig) {}},
		{name: "lambda 1 is a Shewhart chart", change: func(c *devices.DriftConfig) { c.Lambda = 1 }},
		{name: "k 0", change: func(c *devices.DriftConfig) { c.K = 0 }},
		{name: "lambda 0", change: func(c *devices.DriftConfig) { c.Lambda = 0 }, want: sorted("drift.lambda")},
		{name: "lambda above 1", change: func(c *devices.DriftConfig) { c.Lambda = 1.01 }, want: sorted("drift.lambda")},
		{name: "lambda NaN", change: func(c *devices.DriftConfig) { c.Lambda = math.NaN() }, want: sorted("drift.lambda")},
		{name: "L 0", change: func(c *devices.DriftConfig) { c.L = 0 }, want: sorted("drift.l")},
		{name: "k negative", change: func(c *devices.DriftConfig) { c.K = -0.1 }, want: sorted("drift.k")},
		{name: "h 0", change: func(c *devices.DriftConfig) { c.H = 0 }, want: sorted("drift.h")},
		{name: "h infinite", change: func(c *devices.DriftConfig) { c.H = math.Inf(1) }, want: sorted("drift.h")},
		{name: "2 forecast points", change: func(c *devices.DriftConfig) { c.MinForecastPoints = 2 }, want: sorted("drift.min_forecast_points")},
		{name: "level 0.99", change: func(c *devices.DriftConfig) { c.ForecastLevel = 0.99 }, want: sorted("drift.forecast_level")},
		{name: "horizon 0", change: func(c *devices.DriftConfig) { c.HorizonDays = 0 }, want: sorted("drift.horizon_days")},
		{name: "zero config names every field", change: func(c *devices.DriftConfig) { *c = devices.DriftConfig{} },
			want: sorted("drift.lambda", "drift.l", "drift.h", "drift.min_forecast_points", "drift.forecast_level", "drift.horizon_days")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := devices.DefaultDriftConfig()
			tt.change(&c)
			got := validationFields(t, c.Validate())
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Validate() fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaultDriftConfig(t *testing.T) {
	want := devices.DriftConfig{Lambda: 0.2, L: 3, K: 0.5, H: 4, MinForecastPoints: 5, ForecastLevel: 0.95, HorizonDays: 1095,
		MinAlertPoints: 30}
	if diff := cmp.Diff(want, devices.DefaultDriftConfig()); diff != "" {
		t.Errorf("DefaultDriftConfig() (-want +got):\n%s", diff)
	}
}

func TestDriftEWMA(t *testing.T) {
	// σ = 0.05, λ = 0.2, L = 3 (DOMAIN.md §3.1). The CUSUM's h is set out
	// of the way so only the EWMA is under test.
	//
	// A constant error e from t = 1 gives z_t = e·(1 − 0.8^t), and
	//   L·σ_z,t = 3 · 0.05 · √(0.2/1.8 · (1 − 0.64^t)) = 0.05 · √(1 − 0.64^t).
	// With x = 0.8^t (so 0.64^t = x²), e = 0.1 alarms when
	//   0.1(1 − x) > 0.05·√((1 − x)(1 + x))  ⇔  4(1 − x) > 1 + x  ⇔  x < 0.6:
	//   t = 1: z = 0.02,   limit 0.05·√0.36     = 0.03      no
	//   t = 2: z = 0.036,  limit 0.05·√0.5904   = 0.038419  no
	//   t = 3: z = 0.0488, limit 0.05·√0.737856 = 0.042949  alarm (0.8³ = 0.512 < 0.6).
	// e = 0.05 (a 1σ shift) alarms when (1 − x) > (1 + x), never: z_t stays
	// below the limit, which it approaches from above (0.05·x below at large t).
	cfg := driftCfg(0.5, 1000)
	const sigma = 0.05
	tests := []struct {
		name      string
		errs      []float64
		wantFirst int
		wantZ     []float64 // z_t for the first readings, when set
		wantLimit []float64
	}{
		{name: "step 0.1 alarms at t = 3", errs: repeat(0.1, 10), wantFirst: 3,
			wantZ: []float64{0.02, 0.036, 0.0488}, wantLimit: []float64{0.03, 0.0384187, 0.0429493}},
		{name: "step -0.1 alarms at t = 3", errs: repeat(-0.1, 10), wantFirst: 3,
			wantZ: []float64{-0.02, -0.036, -0.0488}},
		{name: "1σ step 0.05 never alarms with L = 3", errs: repeat(0.05, 50)},
		{name: "zero error never alarms", errs: repeat(0, 50),
			wantZ: []float64{0, 0, 0}, wantLimit: []float64{0.03, 0.0384187, 0.0429493}},
		// A single 0.16 at t = 1: z = 0.032 > 0.03, so λσ·L catches a
		// 3.2σ spike on its own (σ_z,1 = λσ).
		{name: "one spike above Lσ alarms at t = 1", errs: []float64{0.16, 0, 0}, wantFirst: 1},
		// 0.14 at t = 1: z = 0.028 < 0.03; t = 2: z = 0.0224 < 0.0384.
		{name: "one spike below Lσ does not", errs: []float64{0.14, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s devices.DriftState
			vs := feedDaily(t, &s, cfg, tt.errs, 0.3, 0.05, sigma)
			if got := firstAlarm(vs, func(v devices.DriftVerdict) bool { return v.EWMA }); got != tt.wantFirst {
				t.Errorf("first EWMA alarm at t = %d, want %d", got, tt.wantFirst)
			}
			wantSeries(t, "z", vs, func(v devices.DriftVerdict) float64 { return v.Z }, tt.wantZ, 1e-12)
			wantSeries(t, "L·σ_z", vs, func(v devices.DriftVerdict) float64 { return v.ZLimit }, tt.wantLimit, 1e-7)
			for i, v := range vs {
				if v.CUSUM || v.OutOfTolerance {
					t.Errorf("reading %d: CUSUM %v, out of tolerance %v; want only the EWMA under test", i+1, v.CUSUM, v.OutOfTolerance)
				}
			}
		})
	}
}

func TestDriftCUSUM(t *testing.T) {
	// DOMAIN.md §3.2 example: σ = 0.05 °C, k = 1 → K = 0.05 °C, h = 4 →
	// H = 0.2 °C. The EWMA's L is set out of the way.
	//
	// Step +0.1: C⁺_t = C⁺_{t−1} + 0.1 − 0.05 = 0.05·t:
	//   t = 4: 0.20, not > 0.2 (on the limit);  t = 5: 0.25 > 0.2, alarm.
	// Step −0.1: C⁻_t = C⁻_{t−1} − 0.05 − (−0.1) = 0.05·t, alarm at t = 5 on C⁻.
	// Step +0.05 (= K): C⁺ stays 0, never alarms.
	// Mixed 0.1, −0.2, 0.1:
	//   C⁺: 0.05, max(0, 0.05 − 0.2 − 0.05) = 0, 0.05
	//   C⁻: max(0, −0.05 − 0.1) = 0, max(0, 0 − 0.05 + 0.2) = 0.15, max(0, 0.15 − 0.05 − 0.1) = 0
	cfg := driftCfg(1, 4)
	cfg.L = 1000
	const sigma = 0.05
	tests := []struct {
		name      string
		errs      []float64
		wantFirst int
		wantHigh  []float64
		wantLow   []float64
	}{
		{name: "step 0.1 alarms on C+ at t = 5", errs: repeat(0.1, 8), wantFirst: 5,
			wantHigh: []float64{0.05, 0.1, 0.15, 0.2, 0.25}, wantLow: []float64{0, 0, 0, 0, 0}},
		{name: "step -0.1 alarms on C- at t = 5", errs: repeat(-0.1, 8), wantFirst: 5,
			wantHigh: []float64{0, 0, 0, 0, 0}, wantLow: []float64{0.05, 0.1, 0.15, 0.2, 0.25}},
		{name: "step of exactly K never alarms", errs: repeat(0.05, 40)},
		{name: "mixed signs reset at zero", errs: []float64{0.1, -0.2, 0.1},
			wantHigh: []float64{0.05, 0, 0.05}, wantLow: []float64{0, 0.15, 0}},
		{name: "zero error never alarms", errs: repeat(0, 40)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s devices.DriftState
			vs := feedDaily(t, &s, cfg, tt.errs, 0.3, 0.05, sigma)
			if got := firstAlarm(vs, func(v devices.DriftVerdict) bool { return v.CUSUM }); got != tt.wantFirst {
				t.Errorf("first CUSUM alarm at t = %d, want %d", got, tt.wantFirst)
			}
			wantSeries(t, "C⁺", vs, func(v devices.DriftVerdict) float64 { return v.CUSUMHigh }, tt.wantHigh, 1e-12)
			wantSeries(t, "C⁻", vs, func(v devices.DriftVerdict) float64 { return v.CUSUMLow }, tt.wantLow, 1e-12)
			for i, v := range vs {
				if math.Abs(v.CUSUMLimit-0.2) > 1e-15 {
					t.Errorf("reading %d: H = %v, want 0.2", i+1, v.CUSUMLimit)
				}
				if v.EWMA || v.OutOfTolerance {
					t.Errorf("reading %d: EWMA %v, out of tolerance %v; want only the CUSUM under test", i+1, v.EWMA, v.OutOfTolerance)
				}
			}
		})
	}
}

func TestDriftOutOfTolerance(t *testing.T) {
	// MPE 0.2, σ 0.05, λ = 0.1, L = 5, k = 0.5, h = 4; one reading each.
	//   out of tolerance: |e| > 0.2
	//   EWMA: z_1 = λ·e = 0.021 for e = 0.21; L·σ_z,1 = L·λσ = 5·0.1·0.05 = 0.025, no alarm
	//   CUSUM: K = 0.025, H = 0.2; C⁺_1 = 0.21 − 0.025 = 0.185 ≤ 0.2, no alarm
	//   forecast: 1 reading of 5, none.
	cfg := devices.DefaultDriftConfig()
	cfg.Lambda, cfg.L = 0.1, 5
	tests := []struct {
		name string
		e    float64
		want bool
	}{
		{name: "0.21 above MPE", e: 0.21, want: true},
		{name: "-0.21 below -MPE", e: -0.21, want: true},
		{name: "37.2-37.0 on the limit is within", e: 37.2 - 37.0, want: false},
		{name: "0.19 within", e: 0.19, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s devices.DriftState
			v := s.Observe(cfg, driftT0, tt.e, 0.2, 0.05, 0.05)
			want := devices.DriftVerdict{
				OutOfTolerance: tt.want,
				Z:              0.1 * tt.e, ZLimit: 0.025,
				CUSUMHigh: math.Max(0, tt.e-0.025), CUSUMLow: math.Max(0, -tt.e-0.025), CUSUMLimit: 0.2,
			}
			if diff := cmp.Diff(want, v, approxFloats()); diff != "" {
				t.Errorf("Observe(e %v) (-want +got):\n%s", tt.e, diff)
			}
		})
	}
}

// approxFloats compares floats to 1e-12.
func approxFloats() cmp.Option {
	return cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) <= 1e-12 })
}

func TestDriftForecast(t *testing.T) {
	// MPE 0.2, U 0.05: acceptance limit A = 0.15 (DOMAIN.md §2.3, §3.3).
	// σ is 1 and k, h, L are large so that the other detectors stay quiet.
	cfg := driftCfg(0, 1000)
	cfg.L = 1000
	const mpe, u, sigma = 0.2, 0.05, 1.0
	at := func(d float64) *time.Time { p := day(d); return &p }
	tests := []struct {
		name       string
		days, errs []float64
		want       *time.Time
		wantReason string // a substring
	}{
		// e = 0.01·t on days 0..4: zero residuals, so the bound is the line,
		// 0.01·t = 0.15 at t = 15 days exactly.
		{name: "perfect drift reaches A at day 15", days: []float64{0, 1, 2, 3, 4},
			errs: []float64{0, 0.01, 0.02, 0.03, 0.04}, want: at(15),
			wantReason: "drift +0.01 °C/day, s 0 °C, t(3) 2.353; upper 95 % bound of |e| reaches MPE − U = 0.15 °C in 11 days"},
		// The same, falling: −0.01·t reaches −0.15 at day 15.
		{name: "perfect negative drift reaches -A at day 15", days: []float64{0, 1, 2, 3, 4},
			errs: []float64{0, -0.01, -0.02, -0.03, -0.04}, want: at(15), wantReason: "in 11 days"},
		// Falling from +0.04 through zero: −0.15 = 0.04 − 0.01·t at t = 19.
		{name: "drift through zero reaches -A at day 19", days: []float64{0, 1, 2, 3, 4},
			errs: []float64{0.04, 0.03, 0.02, 0.01, 0}, want: at(19), wantReason: "in 15 days"},
		// Noisy: days 0..4, e = 0, 0.02, 0.01, 0.04, 0.03.
		//   Σt = 10, Σt² = 30, Σe = 0.1, Σte = 0.28, Σe² = 0.003
		//   Sxx = 30 − 100/5 = 10, Sxy = 0.28 − 10·0.1/5 = 0.08, Syy = 0.003 − 0.01/5 = 0.001
		//   b = 0.008 °C/day, t̄ = 2, ē = 0.02, a = 0.02 − 0.016 = 0.004
		//   SSE = 0.001 − 0.0064/10 = 0.00036, s = √(0.00036/3) = 0.0109545
		//   t(3) = 2.353, q·s = 0.0257758, (q·s)² = 0.00066439
		// The line alone reaches 0.15 at (0.15 − 0.004)/0.008 = 18.25 days.
		// The bound, with v = t − 2: 0.02 + 0.008v + q·s·√(1.2 + v²/10) = 0.15;
		// squaring (0.13 − 0.008v)² = 0.00066439·(1.2 + 0.1v²) gives
		//   0.0000024393·v² + 0.00208·v − 0.0161027 = 0,
		//   v = (−0.00208 + √(4.3264e−6 + 1.57115e−7))/(2·0.0000024393) = 7.67266,
		// t = 9.67266 days = 835717.6 s, rounded to 9 d 16:08:38; earlier than
		// the line's 18.25 days, since the upper bound sits above the line.
		{name: "noisy drift: the bound crosses before the line", days: []float64{0, 1, 2, 3, 4},
			errs: []float64{0, 0.02, 0.01, 0.04, 0.03}, want: ptr(driftT0.Add(835718 * time.Second)),
			wantReason: "s 0.011 °C, t(3) 2.353; upper 95 % bound of |e| reaches MPE − U = 0.15 °C in 5.6727 days"},
		{name: "4 readings: no forecast", days: []float64{0, 1, 2, 3},
			errs: []float64{0, 0.01, 0.02, 0.03}, wantReason: "forecast needs 5 readings, has 4"},
		// 0.0001 °C/day reaches 0.15 at day 1500, beyond 4 + 1095.
		{name: "slow drift beyond the horizon", days: []float64{0, 1, 2, 3, 4},
			errs: []float64{0, 0.0001, 0.0002, 0.0003, 0.0004}, wantReason: "stays below MPE − U = 0.15 °C for 1095 days"},
		// Symmetric about t̄ = 2 in binary-exact numbers: Σte = 0.28125 =
		// Σt·Σe/n, so b = 0 exactly. ŷ = ē = 0.028125; the bound at day 4 is
		// 0.028125 + 2.353·0.0151·√1.6 ≈ 0.073 < 0.15, so not "already".
		{name: "flat line", days: []float64{0, 1, 2, 3, 4},
			errs: []float64{0.03125, 0.015625, 0.046875, 0.015625, 0.03125}, wantReason: "a flat line never reaches"},
		// Already over: the line is at 0.16 on day 4.
		{name: "bound already above A", days: []float64{0, 1, 2, 3, 4},
			errs: []float64{0.12, 0.13, 0.14, 0.15, 0.16}, want: at(4), wantReason: "already reaches MPE − U = 0.15 °C"},
		{name: "all at one time", days: []float64{0, 0, 0, 0, 0},
			errs: []float64{0, 0.01, 0.02, 0.03, 0.04}, wantReason: "different times"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s devices.DriftState
			var v devices.DriftVerdict
			for i, d := range tt.days {
				v = s.Observe(cfg, day(d), tt.errs[i], mpe, u, sigma)
				if v.Ignored {
					t.Fatalf("reading %d ignored: %s", i+1, v.IgnoredReason)
				}
			}
			// The state's Forecast right after the reading explains the
			// verdict's prediction, and gives the same date.
			f := s.Forecast(cfg, mpe, u)
			if diff := cmp.Diff(tt.want, v.Predicted); diff != "" {
				t.Errorf("Predicted (-want +got):\n%s\nreason: %s", diff, f.Reason)
			}
			if diff := cmp.Diff(v.Predicted, f.Predicted); diff != "" {
				t.Errorf("Forecast().Predicted differs from the verdict's (-verdict +forecast):\n%s", diff)
			}
			if !strings.Contains(f.Reason, tt.wantReason) {
				t.Errorf("Forecast().Reason = %q, want it to contain %q", f.Reason, tt.wantReason)
			}
			if v.EWMA || v.CUSUM || v.OutOfTolerance {
				t.Errorf("EWMA %v, CUSUM %v, out of tolerance %v; want only the forecast under test", v.EWMA, v.CUSUM, v.OutOfTolerance)
			}
		})
	}
}

func TestDriftForecastNoiseCrossesBeforeLine(t *testing.T) {
	// 0.01 °C/day with ±0.005 alternating noise over days 0..9. The
	// fitted line's own crossing of A = 0.15 comes after the bound's, and
	// at the predicted time the bound is on A.
	cfg := driftCfg(0, 1000)
	cfg.L = 1000
	var s devices.DriftState
	var v devices.DriftVerdict
	for i := range 10 {
		noise := 0.005
		if i%2 == 1 {
			noise = -0.005
		}
		v = s.Observe(cfg, day(float64(i)), 0.01*float64(i)+noise, 0.2, 0.05, 1)
	}
	if v.Predicted == nil {
		t.Fatalf("no forecast: %s", s.Forecast(cfg, 0.2, 0.05).Reason)
	}
	f, ok := s.Fit()
	if !ok {
		t.Fatal("Fit() not ok")
	}
	lineCross := (0.15 - f.A) / f.B
	got := v.Predicted.Sub(driftT0).Hours() / 24
	if !(got > 9 && got < lineCross) {
		t.Errorf("predicted day %.4f, want after the last reading (9) and before the line's %.4f", got, lineCross)
	}
	if bound := f.Line(got) + f.PredictionHalfWidth(got); math.Abs(bound-0.15) > 1e-6 {
		t.Errorf("upper bound at the predicted day = %v, want 0.15", bound)
	}
}

func TestStudentT95(t *testing.T) {
	tests := []struct {
		df   int
		want float64
		tol  float64
	}{
		{df: 1, want: 6.314}, {df: 3, want: 2.353}, {df: 10, want: 1.812}, {df: 30, want: 1.697},
		// Beyond the table, against standard t tables to 3 decimals.
		{df: 40, want: 1.684, tol: 0.0005}, {df: 60, want: 1.671, tol: 0.0005},
		{df: 120, want: 1.658, tol: 0.0005}, {df: 100000, want: 1.645, tol: 0.0005},
	}
	for _, tt := range tests {
		if got := devices.StudentT95(tt.df); math.Abs(got-tt.want) > tt.tol {
			t.Errorf("StudentT95(%d) = %v, want %v ± %v", tt.df, got, tt.want, tt.tol)
		}
	}
	if got := devices.StudentT95(0); !math.IsInf(got, 1) {
		t.Errorf("StudentT95(0) = %v, want +Inf", got)
	}
	// The table and the expansion agree where both hold (the expansion is
	// good to 0.001 from about 10 degrees of freedom): a typo in the table
	// shows here. And the quantiles fall with df, table into expansion.
	for df := 10; df <= 30; df++ {
		z := 1.6448536269514722
		v := float64(df)
		cf := z + (z*z*z+z)/(4*v) + (5*math.Pow(z, 5)+16*z*z*z+3*z)/(96*v*v)
		if got := devices.StudentT95(df); math.Abs(got-cf) > 0.001 {
			t.Errorf("StudentT95(%d) = %v, expansion %v", df, got, cf)
		}
	}
	for df := 1; df < 200; df++ {
		if devices.StudentT95(df+1) >= devices.StudentT95(df) {
			t.Errorf("StudentT95(%d) = %v not below StudentT95(%d) = %v", df+1, devices.StudentT95(df+1), df, devices.StudentT95(df))
		}
	}
}

func TestDriftIgnored(t *testing.T) {
	cfg := devices.DefaultDriftConfig()
	tests := []struct {
		name              string
		at                time.Time
		seq               int64
		useSeq            bool
		e, mpe, u, sigma  float64
		wantReasonContain string
	}{
		{name: "before the last reading", at: day(1), e: 0.01, mpe: 0.2, u: 0.05, sigma: 0.05, wantReasonContain: "out of order"},
		{name: "same time, same seq", at: day(2), seq: 7, useSeq: true, e: 0.01, mpe: 0.2, u: 0.05, sigma: 0.05, wantReasonContain: "duplicate"},
		{name: "same time, lower seq", at: day(2), seq: 6, useSeq: true, e: 0.01, mpe: 0.2, u: 0.05, sigma: 0.05, wantReasonContain: "duplicate"},
		{name: "NaN error", at: day(3), e: math.NaN(), mpe: 0.2, u: 0.05, sigma: 0.05, wantReasonContain: "unusable"},
		{name: "sigma 0", at: day(3), e: 0.01, mpe: 0.2, u: 0.05, sigma: 0, wantReasonContain: "unusable"},
		{name: "MPE 0", at: day(3), e: 0.01, mpe: 0, u: 0.05, sigma: 0.05, wantReasonContain: "unusable"},
		{name: "negative U", at: day(3), e: 0.01, mpe: 0.2, u: -0.05, sigma: 0.05, wantReasonContain: "unusable"},
		{name: "zero time", e: 0.01, mpe: 0.2, u: 0.05, sigma: 0.05, wantReasonContain: "no time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s devices.DriftState
			s.ObserveSeq(cfg, day(0), 1, 0.02, 0.2, 0.05, 0.05)
			s.ObserveSeq(cfg, day(2), 7, 0.03, 0.2, 0.05, 0.05)
			before := s
			var v devices.DriftVerdict
			if tt.useSeq {
				v = s.ObserveSeq(cfg, tt.at, tt.seq, tt.e, tt.mpe, tt.u, tt.sigma)
			} else {
				v = s.Observe(cfg, tt.at, tt.e, tt.mpe, tt.u, tt.sigma)
			}
			if !v.Ignored || !strings.Contains(v.IgnoredReason, tt.wantReasonContain) {
				t.Errorf("verdict %+v, want ignored for %q", v, tt.wantReasonContain)
			}
			if diff := cmp.Diff(devices.DriftVerdict{Ignored: true, IgnoredReason: v.IgnoredReason}, v); diff != "" {
				t.Errorf("ignored verdict carries more than the reason (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, s); diff != "" {
				t.Errorf("state changed by an ignored reading (-before +after):\n%s", diff)
			}
		})
	}

	t.Run("same time, higher seq is applied", func(t *testing.T) {
		var s devices.DriftState
		s.ObserveSeq(cfg, day(0), 5, 0.02, 0.2, 0.05, 0.05)
		if v := s.ObserveSeq(cfg, day(0), 6, 0.02, 0.2, 0.05, 0.05); v.Ignored || s.N != 2 || s.LastSeq != 6 {
			t.Errorf("verdict %+v, N %d, LastSeq %d; want applied, 2, 6", v, s.N, s.LastSeq)
		}
		// A later reading with a restarted counter is applied too.
		if v := s.ObserveSeq(cfg, day(1), 1, 0.02, 0.2, 0.05, 0.05); v.Ignored || s.N != 3 || s.LastSeq != 1 {
			t.Errorf("verdict %+v, N %d, LastSeq %d; want applied, 3, 1", v, s.N, s.LastSeq)
		}
	})
}

func TestDriftStateReset(t *testing.T) {
	cfg := driftCfg(1, 4)
	var s devices.DriftState
	feedDaily(t, &s, cfg, repeat(0.1, 8), 0.2, 0.05, 0.05)
	s.LastSeq = 42
	s.Reset()
	if diff := cmp.Diff(devices.DriftState{}, s); diff != "" {
		t.Errorf("after Reset (-want +got):\n%s", diff)
	}
	// A fresh start: the first reading after the reset behaves as the
	// first ever, even one dated before the old last reading.
	v := s.Observe(cfg, driftT0, 0.1, 0.2, 0.05, 0.05)
	if v.Ignored || v.EWMA || v.CUSUM || s.N != 1 || !s.Origin.Equal(driftT0) {
		t.Errorf("first reading after reset: verdict %+v, state %+v", v, s)
	}
}

// TestDriftStateSplitStream checks that the verdicts do not depend on how
// the stream is cut: feeding it in one go, or saving the state as JSON
// after any reading and carrying on from the loaded copy (as replicas do
// through the database), gives the same verdicts and the same final state.
func TestDriftStateSplitStream(t *testing.T) {
	cfg := devices.DefaultDriftConfig()
	type reading struct {
		at  time.Time
		seq int64
		e   float64
	}
	var stream []reading
	for i := range 40 {
		// A slow drift with a wobble, a redelivered reading and an
		// out-of-order one, at uneven times.
		e := 0.003*float64(i) + 0.02*math.Sin(float64(i))
		at := driftT0.Add(time.Duration(i)*17*time.Hour + time.Duration(i*i)*time.Minute)
		stream = append(stream, reading{at: at, seq: int64(i + 1), e: e})
		if i == 12 {
			stream = append(stream, reading{at: at, seq: int64(i + 1), e: e})
		}
		if i == 20 {
			stream = append(stream, reading{at: at.Add(-time.Hour), seq: int64(i), e: 0.5})
		}
	}
	apply := func(s *devices.DriftState, r reading) devices.DriftVerdict {
		return s.ObserveSeq(cfg, r.at, r.seq, r.e, 0.2, 0.05, 0.05)
	}

	var whole devices.DriftState
	want := make([]devices.DriftVerdict, len(stream))
	for i, r := range stream {
		want[i] = apply(&whole, r)
	}
	if firstAlarm(want, func(v devices.DriftVerdict) bool { return v.Drift() || v.Predicted != nil }) == 0 {
		t.Fatal("the stream raises nothing; the test would prove little")
	}

	for cut := 1; cut < len(stream); cut++ {
		var s devices.DriftState
		got := make([]devices.DriftVerdict, len(stream))
		for i, r := range stream[:cut] {
			got[i] = apply(&s, r)
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("json.Marshal: %v", err)
		}
		var loaded devices.DriftState
		if err := json.Unmarshal(b, &loaded); err != nil {
			t.Fatalf("json.Unmarshal(%s): %v", b, err)
		}
		for i, r := range stream[cut:] {
			got[cut+i] = apply(&loaded, r)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("cut after reading %d: verdicts differ (-whole +split):\n%s", cut, diff)
		}
		if diff := cmp.Diff(whole, loaded); diff != "" {
			t.Fatalf("cut after reading %d: final state differs (-whole +split):\n%s", cut, diff)
		}
	}
}

// TestDriftCentred: a thermometer its calibration left reading 0.08 °C
// high (σ 0.05, MPE 0.2) checks at that bias: aimed at 0 the EWMA and
// CUSUM call it drift within a few checks, aimed at the calibration's
// error they stay quiet, and a move of 0.1 °C away from it is caught. The
// MPE test judges the error itself: 0.25 °C is out of tolerance whatever
// the target.
func TestDriftCentred(t *testing.T) {
	cfg := devices.DefaultDriftConfig()
	const mu0, mpe, u, sigma = 0.08, 0.2, 0.05, 0.05
	alarmAt := func(centre float64, errs func(i int) float64) int {
		var s devices.DriftState
		for i := range 40 {
			v := s.ObserveCentred(cfg, day(float64(i)), int64(i+1), errs(i), centre, mpe, u, sigma)
			if v.Ignored {
				t.Fatalf("check %d ignored: %s", i+1, v.IgnoredReason)
			}
			if v.Drift() {
				return i + 1
			}
		}
		return 0
	}
	bias := func(int) float64 { return mu0 }
	if n := alarmAt(0, bias); n == 0 || n > 5 {
		t.Errorf("aimed at 0, a steady +0.08 °C bias alarmed at check %d, want within 5", n)
	}
	if n := alarmAt(mu0, bias); n != 0 {
		t.Errorf("aimed at the calibration's +0.08 °C, the same checks alarmed at check %d", n)
	}
	moved := func(i int) float64 {
		if i < 10 {
			return mu0
		}
		return mu0 + 0.1
	}
	if n := alarmAt(mu0, moved); n <= 10 || n > 15 {
		t.Errorf("a 0.1 °C move from the target after check 10 alarmed at check %d, want 11-15", n)
	}
	var s devices.DriftState
	if v := s.ObserveCentred(cfg, day(0), 1, 0.25, mu0, mpe, u, sigma); !v.OutOfTolerance {
		t.Error("0.25 °C against an MPE of 0.2 was not out of tolerance with a target of 0.08")
	}
	var plain, centred devices.DriftState
	for i := range 5 {
		plain.ObserveSeq(cfg, day(float64(i)), int64(i+1), 0.1*float64(i), mpe, u, sigma)
		centred.ObserveCentred(cfg, day(float64(i)), int64(i+1), 0.1*float64(i), mu0, mpe, u, sigma)
	}
	if p, c := plain.Forecast(cfg, mpe, u), centred.Forecast(cfg, mpe, u); p.Predicted == nil || c.Predicted == nil || !p.Predicted.Equal(*c.Predicted) {
		t.Errorf("the forecast moved with the target: %v vs %v", p.Predicted, c.Predicted)
	}
}

// TestCalibrationErrorNear: the target comes from the test point nearest
// the reference asked for, as left when adjusted, as found otherwise.
func TestCalibrationErrorNear(t *testing.T) {
	d := devices.CalibrationData{Points: []devices.TestPoint{
		{ReferenceC: 35, AsFoundC: []float64{35.3, 35.3, 35.3}},
		{ReferenceC: 37, AsFoundC: []float64{37.1, 37.2, 37.3}, AsLeftC: []float64{37.01, 37.02, 37.03}},
		{ReferenceC: 41.5, AsFoundC: []float64{41.4, 41.4, 41.4}},
	}}
	if e, at, ok := d.ErrorNear(devices.DriftTargetReferenceC); !ok || at != 37 || math.Abs(e-0.2) > 1e-9 {
		t.Errorf("not adjusted: ErrorNear(37) = %v at %v, %v; want +0.2 (as found) at 37", e, at, ok)
	}
	d.Adjusted = true
	if e, _, _ := d.ErrorNear(37); math.Abs(e-0.02) > 1e-9 {
		t.Errorf("adjusted: ErrorNear(37) = %v, want +0.02 (as left)", e)
	}
	if e, at, _ := d.ErrorNear(42); at != 41.5 || math.Abs(e+0.1) > 1e-9 {
		t.Errorf("ErrorNear(42) = %v at %v, want −0.1 at 41.5", e, at)
	}
	if _, _, ok := (devices.CalibrationData{}).ErrorNear(37); ok {
		t.Error("no points gave an error")
	}
}
