package devices_test

import (
	"math"
	"testing"

	"github.com/calibd/calibd/devices"
)

func TestDecide(t *testing.T) {
	const (
		pass = devices.VerdictPass
		fail = devices.VerdictFail
		ind  = devices.VerdictIndeterminate
	)
	// Computed at run time so the floating-point noise is real:
	// 37.2-37.0 = 0.20000000000000284, just above 0.2.
	onLimit := 37.2 - 37.0
	tests := []struct {
		name        string
		errC, u, mp float64
		rule        devices.DecisionRule
		want        devices.Verdict
	}{
		// Simple acceptance, MPE 0.2: pass iff |e| <= 0.2.
		{name: "simple zero error", errC: 0, u: 0.05, mp: 0.2, rule: devices.RuleSimple, want: pass},
		{name: "simple 37.2-37.0 on the limit", errC: onLimit, u: 0.05, mp: 0.2, rule: devices.RuleSimple, want: pass},
		{name: "simple negative on the limit", errC: 36.8 - 37.0, u: 0.05, mp: 0.2, rule: devices.RuleSimple, want: pass},
		{name: "simple within the tolerance above", errC: 0.2 + 0.5e-9, u: 0.05, mp: 0.2, rule: devices.RuleSimple, want: pass},
		{name: "simple beyond the tolerance", errC: 0.2 + 2e-9, u: 0.05, mp: 0.2, rule: devices.RuleSimple, want: fail},
		{name: "simple 0.21", errC: -0.21, u: 0.05, mp: 0.2, rule: devices.RuleSimple, want: fail},
		{name: "simple ignores a large U", errC: 0.19, u: 0.5, mp: 0.2, rule: devices.RuleSimple, want: pass},

		// Guard band w = U = 0.05, MPE 0.2: acceptance limit 0.15.
		{name: "guard band on the acceptance limit", errC: 35.15 - 35.0, u: 0.05, mp: 0.2, rule: devices.RuleGuardBand, want: pass},
		{name: "guard band negative on the limit", errC: -0.15, u: 0.05, mp: 0.2, rule: devices.RuleGuardBand, want: pass},
		{name: "guard band just above the acceptance limit", errC: 0.15 + 2e-9, u: 0.05, mp: 0.2, rule: devices.RuleGuardBand, want: fail},
		{name: "guard band inside MPE but in the band", errC: 0.19, u: 0.05, mp: 0.2, rule: devices.RuleGuardBand, want: fail},
		{name: "guard band beyond MPE", errC: 0.25, u: 0.05, mp: 0.2, rule: devices.RuleGuardBand, want: fail},
		{name: "guard band U 0 is simple", errC: onLimit, u: 0, mp: 0.2, rule: devices.RuleGuardBand, want: pass},
		{name: "guard band U = MPE zero error", errC: 0, u: 0.2, mp: 0.2, rule: devices.RuleGuardBand, want: pass},
		{name: "guard band U = MPE small error", errC: 0.001, u: 0.2, mp: 0.2, rule: devices.RuleGuardBand, want: fail},
		{name: "guard band U above MPE", errC: 0, u: 0.3, mp: 0.2, rule: devices.RuleGuardBand, want: fail},

		// JJF 1094, MPE 0.2: U <= 0.0667 is simple acceptance.
		{name: "jjf small U on the MPE", errC: onLimit, u: 0.06, mp: 0.2, rule: devices.RuleJJF1094, want: pass},
		{name: "jjf small U beyond MPE", errC: 0.2001, u: 0.06, mp: 0.2, rule: devices.RuleJJF1094, want: fail},
		{name: "jjf U exactly MPE/3 is simple", errC: 0.2, u: 0.2 / 3, mp: 0.2, rule: devices.RuleJJF1094, want: pass},
		// U = 0.07 > MPE/3: pass <= 0.13, fail >= 0.27, else indeterminate.
		{name: "jjf pass limit", errC: 37.13 - 37.0, u: 0.07, mp: 0.2, rule: devices.RuleJJF1094, want: pass},
		{name: "jjf just above the pass limit", errC: 0.1301, u: 0.07, mp: 0.2, rule: devices.RuleJJF1094, want: ind},
		{name: "jjf on the MPE", errC: onLimit, u: 0.07, mp: 0.2, rule: devices.RuleJJF1094, want: ind},
		{name: "jjf just below the fail limit", errC: 0.27 - 2e-9, u: 0.07, mp: 0.2, rule: devices.RuleJJF1094, want: ind},
		{name: "jjf within tolerance of the fail limit", errC: 0.27 - 0.5e-9, u: 0.07, mp: 0.2, rule: devices.RuleJJF1094, want: fail},
		{name: "jjf fail limit", errC: 37.27 - 37.0, u: 0.07, mp: 0.2, rule: devices.RuleJJF1094, want: fail},
		{name: "jjf negative fail limit", errC: -0.27, u: 0.07, mp: 0.2, rule: devices.RuleJJF1094, want: fail},
		{name: "jjf far beyond", errC: 1.5, u: 0.07, mp: 0.2, rule: devices.RuleJJF1094, want: fail},

		// No decision possible.
		{name: "NaN error", errC: math.NaN(), u: 0.05, mp: 0.2, rule: devices.RuleSimple, want: ind},
		{name: "infinite error", errC: math.Inf(1), u: 0.05, mp: 0.2, rule: devices.RuleSimple, want: ind},
		{name: "NaN U", errC: 0, u: math.NaN(), mp: 0.2, rule: devices.RuleGuardBand, want: ind},
		{name: "negative U", errC: 0, u: -0.01, mp: 0.2, rule: devices.RuleJJF1094, want: ind},
		{name: "zero MPE", errC: 0, u: 0.05, mp: 0, rule: devices.RuleSimple, want: ind},
		{name: "empty rule", errC: 0, u: 0.05, mp: 0.2, rule: "", want: ind},
		{name: "unknown rule", errC: 0, u: 0.05, mp: 0.2, rule: "best_effort", want: ind},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := devices.Decide(tt.errC, tt.u, tt.mp, tt.rule); got != tt.want {
				t.Errorf("Decide(%v, %v, %v, %s) = %s, want %s", tt.errC, tt.u, tt.mp, tt.rule, got, tt.want)
			}
		})
	}
}

func TestOverall(t *testing.T) {
	const (
		pass = devices.VerdictPass
		fail = devices.VerdictFail
		ind  = devices.VerdictIndeterminate
	)
	tests := []struct {
		name string
		in   []devices.Verdict
		want devices.Verdict
	}{
		{name: "empty", in: nil, want: ind},
		{name: "all pass", in: []devices.Verdict{pass, pass, pass}, want: pass},
		{name: "one indeterminate", in: []devices.Verdict{pass, ind, pass}, want: ind},
		{name: "fail beats indeterminate", in: []devices.Verdict{ind, pass, fail}, want: fail},
		{name: "single fail", in: []devices.Verdict{fail}, want: fail},
		{name: "unknown verdict is indeterminate", in: []devices.Verdict{pass, "maybe"}, want: ind},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := devices.Overall(tt.in); got != tt.want {
				t.Errorf("Overall(%v) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestDecisionEnumsValid(t *testing.T) {
	for _, r := range devices.DecisionRules {
		if !r.Valid() {
			t.Errorf("%q.Valid() = false", r)
		}
	}
	for _, v := range devices.Verdicts {
		if !v.Valid() {
			t.Errorf("%q.Valid() = false", v)
		}
	}
	if devices.DecisionRule("").Valid() || devices.DecisionRule("simple").Valid() {
		t.Error("an empty or unknown rule is valid")
	}
	if devices.Verdict("").Valid() || devices.Verdict("ok").Valid() {
		t.Error("an empty or unknown verdict is valid")
	}
}
