package devices

import (
	"math"
	"slices"
)

// DecisionRule is how a measured error and its uncertainty become a
// conformity verdict against the MPE (DOMAIN.md §2.3; ISO/IEC 17025 §7.8.6
// requires the certificate to name it).
type DecisionRule string

// Decision rules.
const (
	// RuleSimple is ILAC G8:09/2019 simple acceptance (guard band w = 0):
	// pass when |e| <= MPE, else fail. The uncertainty is not used.
	RuleSimple DecisionRule = "simple_acceptance"
	// RuleGuardBand is the ILAC G8:09/2019 binary guard band with w = U:
	// pass when |e| <= MPE - U, else fail.
	RuleGuardBand DecisionRule = "guard_band"
	// RuleJJF1094 is JJF 1094-2002: simple acceptance when U <= MPE/3;
	// otherwise pass when |e| <= MPE - U, fail when |e| >= MPE + U and
	// indeterminate (待定) in between.
	RuleJJF1094 DecisionRule = "jjf1094"
)

// DecisionRules lists every rule.
var DecisionRules = []DecisionRule{RuleSimple, RuleGuardBand, RuleJJF1094}

// Valid reports whether r is a known rule.
func (r DecisionRule) Valid() bool { return slices.Contains(DecisionRules, r) }

// Verdict is a conformity statement on one point or a whole calibration.
type Verdict string

// Verdicts.
const (
	VerdictPass          Verdict = "pass"
	VerdictFail          Verdict = "fail"
	VerdictIndeterminate Verdict = "indeterminate"
)

// Verdicts lists every verdict.
var Verdicts = []Verdict{VerdictPass, VerdictFail, VerdictIndeterminate}

// Valid reports whether v is a known verdict.
func (v Verdict) Valid() bool { return slices.Contains(Verdicts, v) }

// DecisionToleranceC is the slack, in °C, with which Decide compares an
// error to a limit, so that floating-point noise does not move a reading
// that sits exactly on a limit (37.2 - 37.0 against an MPE of 0.2 is
// 0.20000000000000284) to the wrong side of it.
const DecisionToleranceC = 1e-9

// Decide judges the error errC (indication minus reference, °C) with
// expanded uncertainty u (k = 2, °C) against the maximum permissible error
// mpe (°C) under rule; see the rule constants. A reading on a limit, within
// DecisionToleranceC, counts as on it: it passes at a pass limit and fails
// at JJF 1094's fail limit.
//
// Inputs that allow no decision give indeterminate, never pass: a
// non-finite error, uncertainty or MPE, a negative uncertainty, an MPE that
// is not positive, or an unknown rule. Under the guard band a U above the
// MPE leaves no acceptance zone: every error fails.
func Decide(errC, u, mpe float64, rule DecisionRule) Verdict {
	if !finiteAll(errC, u, mpe) || u < 0 || mpe <= 0 || !rule.Valid() {
		return VerdictIndeterminate
	}
	e := math.Abs(errC)
	if rule == RuleSimple || (rule == RuleJJF1094 && u <= mpe/3+DecisionToleranceC) {
		return passWhen(e <= mpe+DecisionToleranceC)
	}
	if e <= mpe-u+DecisionToleranceC {
		return VerdictPass
	}
	if rule == RuleGuardBand || e >= mpe+u-DecisionToleranceC {
		return VerdictFail
	}
	return VerdictIndeterminate
}

func passWhen(ok bool) Verdict {
	if ok {
		return VerdictPass
	}
	return VerdictFail
}

// finiteAll reports whether no value is NaN or infinite.
func finiteAll(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// Overall combines point verdicts into one for the calibration: fail if any
// point fails, else indeterminate if any point is indeterminate (or carries
// an unknown verdict), else pass. No verdicts at all give indeterminate.
func Overall(vs []Verdict) Verdict {
	if len(vs) == 0 {
		return VerdictIndeterminate
	}
	out := VerdictPass
	for _, v := range vs {
		switch v {
		case VerdictFail:
			return VerdictFail
		case VerdictPass:
		default:
			out = VerdictIndeterminate
		}
	}
	return out
}
