package devices_test

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/calibd/calibd/devices"
)

func TestIntervalPolicyValidate(t *testing.T) {
	tests := []struct {
		name       string
		edit       func(p *devices.IntervalPolicy)
		wantFields []string
	}{
		{name: "default", edit: func(p *devices.IntervalPolicy) {}},
		{name: "fixed", edit: func(p *devices.IntervalPolicy) { p.Kind = devices.IntervalFixed }},
		{name: "control chart", edit: func(p *devices.IntervalPolicy) { p.Kind = devices.IntervalControlChart }},
		{name: "equal bounds", edit: func(p *devices.IntervalPolicy) { p.MinDays, p.MaxDays = 365, 365 }},
		{name: "factors of one", edit: func(p *devices.IntervalPolicy) { p.LengthenFactor, p.ShortenFactor = 1, 1 }},
		{name: "unknown kind", edit: func(p *devices.IntervalPolicy) { p.Kind = "weekly" },
			wantFields: sorted("interval_policy.kind")},
		{name: "empty kind", edit: func(p *devices.IntervalPolicy) { p.Kind = "" },
			wantFields: sorted("interval_policy.kind")},
		{name: "zero min", edit: func(p *devices.IntervalPolicy) { p.MinDays = 0 },
			wantFields: sorted("interval_policy.min_days")},
		{name: "max beyond five years", edit: func(p *devices.IntervalPolicy) { p.MaxDays = devices.MaxIntervalDays + 1 },
			wantFields: sorted("interval_policy.max_days")},
		{name: "min above max", edit: func(p *devices.IntervalPolicy) { p.MinDays, p.MaxDays = 400, 365 },
			wantFields: sorted("interval_policy.min_days")},
		{name: "lengthen below one", edit: func(p *devices.IntervalPolicy) { p.LengthenFactor = 0.9 },
			wantFields: sorted("interval_policy.lengthen_factor")},
		{name: "lengthen NaN", edit: func(p *devices.IntervalPolicy) { p.LengthenFactor = math.NaN() },
			wantFields: sorted("interval_policy.lengthen_factor")},
		{name: "shorten zero", edit: func(p *devices.IntervalPolicy) { p.ShortenFactor = 0 },
			wantFields: sorted("interval_policy.shorten_factor")},
		{name: "shorten above one", edit: func(p *devices.IntervalPolicy) { p.ShortenFactor = 1.5 },
			wantFields: sorted("interval_policy.shorten_factor")},
		{name: "zero value names every field", edit: func(p *devices.IntervalPolicy) { *p = devices.IntervalPolicy{} },
			wantFields: sorted("interval_policy.kind", "interval_policy.min_days", "interval_policy.max_days",
				"interval_policy.lengthen_factor", "interval_policy.shorten_factor")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := devices.DefaultIntervalPolicy()
			tt.edit(&p)
			if diff := cmp.Diff(tt.wantFields, validationFields(t, p.Validate())); diff != "" {
				t.Errorf("Validate() fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaultIntervalPolicy(t *testing.T) {
	want := devices.IntervalPolicy{Kind: devices.IntervalStaircase, MinDays: 90, MaxDays: 730, LengthenFactor: 1.25, ShortenFactor: 0.5}
	if got := devices.DefaultIntervalPolicy(); got != want {
		t.Errorf("DefaultIntervalPolicy() = %+v, want %+v", got, want)
	}
}

// series builds as-found results 100 days apart from 2025-01-01 with the
// given worst errors, MPE 0.2 °C, all passing except as verdicts says
// (verdicts[i] applies to result i when present).
func series(errs []float64, verdicts ...devices.Verdict) []devices.AsFound {
	base := time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC)
	out := make([]devices.AsFound, len(errs))
	for i, e := range errs {
		v := devices.VerdictPass
		if i < len(verdicts) && verdicts[i] != "" {
			v = verdicts[i]
		}
		out[i] = devices.AsFound{At: base.AddDate(0, 0, 100*i), MaxAbsErrorC: e, MPEC: 0.2, Verdict: v}
	}
	return out
}

func TestIntervalPolicyNext(t *testing.T) {
	staircase := devices.DefaultIntervalPolicy()
	fixed := staircase
	fixed.Kind = devices.IntervalFixed
	chart := staircase
	chart.Kind = devices.IntervalControlChart
	one := func(e float64, v devices.Verdict) []devices.AsFound {
		return []devices.AsFound{{At: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), MaxAbsErrorC: e, MPEC: 0.2, Verdict: v}}
	}
	const (
		pass = devices.VerdictPass
		fail = devices.VerdictFail
		ind  = devices.VerdictIndeterminate
	)
	tests := []struct {
		name     string
		policy   devices.IntervalPolicy
		current  int
		history  []devices.AsFound
		wantDays int
		// wantReason is the whole reason, or with a leading "~" a part of it.
		wantReason string
	}{
		{name: "fixed ignores results", policy: fixed, current: 365, history: one(0.5, fail),
			wantDays: 365, wantReason: "fixed interval: 365 days unchanged"},

		// 365 × 1.25 = 456.25 → 456.
		{name: "staircase pass lengthens", policy: staircase, current: 365, history: one(0.08, pass),
			wantDays: 456, wantReason: "as-found 0.08 °C within MPE 0.2 °C: lengthened 365 → 456 days (staircase ×1.25, max 730)"},
		// 365 × 0.5 = 182.5 → 182 (rounded down).
		{name: "staircase fail shortens", policy: staircase, current: 365, history: one(0.31, fail),
			wantDays: 182, wantReason: "as-found 0.31 °C out of tolerance (MPE 0.2 °C): shortened 365 → 182 days (staircase ×0.5, min 90)"},
		{name: "staircase indeterminate keeps", policy: staircase, current: 365, history: one(0.25, ind),
			wantDays: 365, wantReason: "as-found 0.25 °C indeterminate against MPE 0.2 °C: kept 365 days"},
		// 650 × 1.25 = 812.5 > 730.
		{name: "staircase capped at max", policy: staircase, current: 650, history: one(0.05, pass),
			wantDays: 730, wantReason: "as-found 0.05 °C within MPE 0.2 °C: lengthened 650 → 730 days (staircase ×1.25, capped at max 730)"},
		// 150 × 0.5 = 75 < 90.
		{name: "staircase raised to min", policy: staircase, current: 150, history: one(0.4, fail),
			wantDays: 90, wantReason: "as-found 0.4 °C out of tolerance (MPE 0.2 °C): shortened 150 → 90 days (staircase ×0.5, raised to min 90)"},
		{name: "staircase keeps but clamps", policy: staircase, current: 1000, history: one(0.25, ind),
			wantDays: 730, wantReason: "~kept 730 days, capped at max 730"},
		{name: "staircase without history", policy: staircase, current: 365,
			wantDays: 365, wantReason: "no as-found result yet: kept 365 days"},
		// The latest result is found by time, not by position.
		{name: "staircase uses the latest result", policy: staircase, current: 365,
			history: []devices.AsFound{
				{At: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), MaxAbsErrorC: 0.3, MPEC: 0.2, Verdict: fail},
				{At: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), MaxAbsErrorC: 0.05, MPEC: 0.2, Verdict: pass},
			},
			wantDays: 182, wantReason: "~shortened 365 → 182"},

		// Fewer than 5 usable results: the staircase, saying so.
		{name: "control chart with 4 results", policy: chart, current: 365, history: series([]float64{0.02, 0.04, 0.06, 0.08}),
			wantDays: 456, wantReason: "control chart needs 5 as-found results, has 4; staircase: as-found 0.08 °C within MPE 0.2 °C: lengthened 365 → 456 days (staircase ×1.25, max 730)"},
		{name: "control chart NaN result is not usable", policy: chart, current: 365,
			history:  series([]float64{0.02, math.NaN(), 0.06, 0.08, 0.10}),
			wantDays: 456, wantReason: "~control chart needs 5 as-found results, has 4; staircase:"},
		{name: "control chart results on one date", policy: chart, current: 365,
			history:  slices.Repeat(one(0.05, pass), 5),
			wantDays: 456, wantReason: "~control chart needs results on different dates; staircase:"},
		// Exact line: e = 0.02 + 0.0002·t, s = 0. At t = 400 e = 0.10; it
		// reaches 0.2 after (0.2 - 0.10)/0.0002 = 500 more days, below
		// 450 × 1.25 = 562.
		{name: "control chart steady drift", policy: chart, current: 450,
			history:  series([]float64{0.02, 0.04, 0.06, 0.08, 0.10}),
			wantDays: 500, wantReason: "control chart over 5 results: drift +0.0002 °C/day, s 0 °C, error + 2s reaches MPE 0.2 °C in 500 days: 450 → 500 days (at most staircase ×1.25 = 562, bounds 90..730)"},
		// The same drift from 365 days: 500 > 365 × 1.25 = 456.
		{name: "control chart lengthens by the factor at most", policy: chart, current: 365,
			history:  series([]float64{0.02, 0.04, 0.06, 0.08, 0.10}),
			wantDays: 456, wantReason: "~reaches MPE 0.2 °C in 500 days: 365 → 456 days (at most staircase ×1.25 = 456"},
		// Noisy: y = 0.02 0.05 0.06 0.07 0.10 at t = 0..400. Means 200, 0.06;
		// Sxy = 8+1+0+1+8 = 18 (×1e-2·1e2), Sxx = 100000, b = 0.00018,
		// a = 0.024; residuals -0.004 0.008 0 -0.008 0.004, SSR = 160e-6,
		// s = √(160e-6/3) = 0.0073030, 2s = 0.0146059. At t = 400 the line
		// is 0.096; (0.2 - 0.0146059 - 0.096)/0.00018 = 496.63 → 496.
		{name: "control chart drift with scatter", policy: chart, current: 450,
			history:  series([]float64{0.02, 0.05, 0.06, 0.07, 0.10}),
			wantDays: 496, wantReason: "control chart over 5 results: drift +0.00018 °C/day, s 0.0073 °C, error + 2s reaches MPE 0.2 °C in 496 days: 450 → 496 days (at most staircase ×1.25 = 562, bounds 90..730)"},
		// e = 0.10 + 0.0002·t: 0.18 at t = 400, 0.2 after 100 more days.
		{name: "control chart shortens to the crossing", policy: chart, current: 365,
			history:  series([]float64{0.10, 0.12, 0.14, 0.16, 0.18}),
			wantDays: 100, wantReason: "~reaches MPE 0.2 °C in 100 days: 365 → 100 days"},
		// Already on the MPE at the latest calibration: 0 days, raised to 90.
		{name: "control chart already at the MPE", policy: chart, current: 365,
			history:  series([]float64{0.12, 0.14, 0.16, 0.18, 0.20}),
			wantDays: 90, wantReason: "~365 → 90 days (at most staircase ×1.25 = 456, bounds 90..730, raised to min 90)"},
		// Falling error: the line never reaches the MPE; 365 × 1.25.
		{name: "control chart falling drift", policy: chart, current: 365,
			history:  series([]float64{0.10, 0.08, 0.06, 0.04, 0.02}),
			wantDays: 456, wantReason: "control chart over 5 results: drift -0.0002 °C/day, s 0 °C, error + 2s never reaches MPE 0.2 °C: 365 → 456 days (at most staircase ×1.25 = 456, bounds 90..730)"},
		{name: "control chart flat error capped at max", policy: chart, current: 700,
			history:  series([]float64{0.05, 0.05, 0.05, 0.05, 0.05}),
			wantDays: 730, wantReason: "~drift +0 °C/day, s 0 °C, error + 2s never reaches MPE 0.2 °C: 700 → 730 days (at most staircase ×1.25 = 875, bounds 90..730, capped at max 730)"},
		// Flat 0.19 never reaches 0.2, but the latest result failed (a guard
		// band verdict): the staircase's 365 × 0.5 = 182 wins.
		{name: "control chart failure shortens", policy: chart, current: 365,
			history:  series([]float64{0.19, 0.19, 0.19, 0.19, 0.19}, "", "", "", "", fail),
			wantDays: 182, wantReason: "~never reaches MPE 0.2 °C: 365 → 182 days (at most staircase ×0.5 = 182"},
		// Indeterminate latest: the predicted 500 days are capped at 450.
		{name: "control chart indeterminate does not lengthen", policy: chart, current: 450,
			history:  series([]float64{0.02, 0.04, 0.06, 0.08, 0.10}, "", "", "", "", ind),
			wantDays: 450, wantReason: "~in 500 days: 450 → 450 days (at most 450 after an indeterminate result"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			days, reason := tt.policy.Next(tt.current, tt.history)
			if days != tt.wantDays {
				t.Errorf("Next(%d) days = %d, want %d (reason %q)", tt.current, days, tt.wantDays, reason)
			}
			if part, ok := strings.CutPrefix(tt.wantReason, "~"); ok {
				if !strings.Contains(reason, part) {
					t.Errorf("Next(%d) reason = %q, want it to contain %q", tt.current, reason, part)
				}
			} else if reason != tt.wantReason {
				t.Errorf("Next(%d) reason = %q, want %q", tt.current, reason, tt.wantReason)
			}
		})
	}
}

// TestStaircaseOscillation follows one instrument through alternating
// results: the staircase swings, and the bounds hold it.
func TestStaircaseOscillation(t *testing.T) {
	p := devices.DefaultIntervalPolicy()
	at := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	steps := []struct {
		verdict devices.Verdict
		want    int
	}{
		{devices.VerdictPass, 456},          // 365 × 1.25 = 456.25
		{devices.VerdictFail, 228},          // 456 × 0.5
		{devices.VerdictPass, 285},          // 228 × 1.25
		{devices.VerdictFail, 142},          // 285 × 0.5 = 142.5
		{devices.VerdictFail, 90},           // 71 → min 90
		{devices.VerdictFail, 90},           // 45 → min 90
		{devices.VerdictPass, 112},          // 90 × 1.25 = 112.5
		{devices.VerdictIndeterminate, 112}, // kept
		{devices.VerdictPass, 140},          // 112 × 1.25
	}
	days := 365
	var history []devices.AsFound
	for i, s := range steps {
		at = at.AddDate(0, 0, days)
		history = append(history, devices.AsFound{At: at, MaxAbsErrorC: 0.1, MPEC: 0.2, Verdict: s.verdict})
		days, _ = p.Next(days, history)
		if days != s.want {
			t.Fatalf("step %d (%s): interval %d days, want %d", i, s.verdict, days, s.want)
		}
	}
}

func TestIntervalKindValid(t *testing.T) {
	for _, k := range devices.IntervalKinds {
		if !k.Valid() {
			t.Errorf("%q.Valid() = false", k)
		}
	}
	if devices.IntervalKind("in_use_time").Valid() {
		t.Error(`"in_use_time".Valid() = true`)
	}
}
