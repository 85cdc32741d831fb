package devices

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// IntervalKind is a recalibration-interval method (DOMAIN.md §2.5,
// ILAC-G24:2022 / OIML D10:2022).
type IntervalKind string

// Interval kinds.
const (
	// IntervalFixed keeps the interval as it is.
	IntervalFixed IntervalKind = "fixed"
	// IntervalStaircase lengthens the interval after an in-tolerance
	// as-found result and shortens it after an out-of-tolerance one.
	IntervalStaircase IntervalKind = "staircase"
	// IntervalControlChart fits the as-found error against time and picks
	// the interval at which the expected error reaches the MPE.
	IntervalControlChart IntervalKind = "control_chart"
)

// IntervalKinds lists every kind.
var IntervalKinds = []IntervalKind{IntervalFixed, IntervalStaircase, IntervalControlChart}

// Valid reports whether k is a known kind.
func (k IntervalKind) Valid() bool { return slices.Contains(IntervalKinds, k) }

// ControlChartMinResults is how many usable as-found results the control
// chart needs; with fewer it falls back to the staircase.
const ControlChartMinResults = 5

// IntervalPolicy says how a device's recalibration interval changes after
// each calibration. MinDays and MaxDays bound every interval the staircase
// and the control chart produce; the factors scale the interval on a pass
// (LengthenFactor) and on a fail (ShortenFactor).
type IntervalPolicy struct {
	Kind           IntervalKind
	MinDays        int
	MaxDays        int
	LengthenFactor float64
	ShortenFactor  float64
}

// DefaultIntervalPolicy is the staircase of DOMAIN.md §2.5: ×1.25 after a
// pass, ×0.5 after a fail, between 90 days (a quarter: shorter intervals
// are better served by in-service checks) and 730 days (two years, twice
// the typical 12-month interval of DOMAIN.md §1.4).
func DefaultIntervalPolicy() IntervalPolicy {
	return IntervalPolicy{Kind: IntervalStaircase, MinDays: 90, MaxDays: 730, LengthenFactor: 1.25, ShortenFactor: 0.5}
}

// orDefault is p, or DefaultIntervalPolicy for the zero value (a
// thermometer registered without a policy).
func (p IntervalPolicy) orDefault() IntervalPolicy {
	if p == (IntervalPolicy{}) {
		return DefaultIntervalPolicy()
	}
	return p
}

// describe names the policy for a reason: the kind and, where they act,
// the bounds and factors.
func (p IntervalPolicy) describe() string {
	if p.Kind == IntervalFixed {
		return string(p.Kind)
	}
	return fmt.Sprintf("%s (%d..%d days, ×%s after a pass, ×%s after a fail)",
		p.Kind, p.MinDays, p.MaxDays, fmtShort(p.LengthenFactor), fmtShort(p.ShortenFactor))
}

// Validate checks every field, for every kind: a fixed policy keeps its
// bounds and factors so that switching it to another kind cannot produce an
// invalid policy. Bounds lie within MinIntervalDays..MaxIntervalDays,
// LengthenFactor within 1..4 and ShortenFactor above 0 and at most 1.
func (p IntervalPolicy) Validate() error {
	var pr Problems
	if !p.Kind.Valid() {
		pr.Addf("interval_policy.kind", "must be one of %s", joinKinds(IntervalKinds))
	}
	okMin := p.MinDays >= MinIntervalDays && p.MinDays <= MaxIntervalDays
	okMax := p.MaxDays >= MinIntervalDays && p.MaxDays <= MaxIntervalDays
	if !okMin {
		pr.Addf("interval_policy.min_days", "must be between %d and %d", MinIntervalDays, MaxIntervalDays)
	}
	if !okMax {
		pr.Addf("interval_policy.max_days", "must be between %d and %d", MinIntervalDays, MaxIntervalDays)
	}
	if okMin && okMax && p.MinDays > p.MaxDays {
		pr.Add("interval_policy.min_days", "must not exceed max_days")
	}
	if checkFinite(&pr, "interval_policy.lengthen_factor", p.LengthenFactor) && (p.LengthenFactor < 1 || p.LengthenFactor > 4) {
		pr.Add("interval_policy.lengthen_factor", "must be between 1 and 4")
	}
	if checkFinite(&pr, "interval_policy.shorten_factor", p.ShortenFactor) && (p.ShortenFactor <= 0 || p.ShortenFactor > 1) {
		pr.Add("interval_policy.shorten_factor", "must be above 0 and at most 1")
	}
	return pr.Err()
}

// AsFound is one past calibration's worst as-found result, the input of the
// interval policies (they judge the instrument as it was found, not as it
// was left).
type AsFound struct {
	At           time.Time
	MaxAbsErrorC float64 // the largest |error| over the test points, °C
	MPEC         float64 // the MPE in force at the time, °C
	Verdict      Verdict // the overall as-found verdict
}

// Next returns the interval, in days, to schedule after the latest
// calibration in history (any order), and a short sentence saying why.
//
//   - fixed: currentDays unchanged.
//   - staircase: by the latest as-found verdict, pass multiplies by
//     LengthenFactor, fail by ShortenFactor (rounded down, both
//     conservative), indeterminate keeps the interval; the result is
//     clamped to MinDays..MaxDays. Without history the interval is kept.
//   - control_chart: with fewer than ControlChartMinResults usable results
//     (finite error, positive MPE, known time) or all on one date, the
//     staircase, saying so. Otherwise a least-squares line e(t) = a + b·t
//     through the worst absolute as-found errors against time in days, with
//     residual standard deviation s (n-2 degrees of freedom), gives the
//     days from the latest calibration until a + b·t + 2s reaches the
//     latest MPE (0 when it already does). The result never exceeds what
//     the staircase would give for the latest verdict, so a flat or falling
//     drift lengthens by LengthenFactor at most, an indeterminate result
//     does not lengthen and a failure shortens at least as the staircase
//     does. It is clamped to MinDays..MaxDays.
//
// Next does not validate p; callers validate a policy when they store it.
func (p IntervalPolicy) Next(currentDays int, history []AsFound) (days int, reason string) {
	switch p.Kind {
	case IntervalStaircase:
		return p.staircase(currentDays, latestAsFound(history))
	case IntervalControlChart:
		return p.controlChart(currentDays, history)
	default:
		return currentDays, fmt.Sprintf("fixed interval: %d days unchanged", currentDays)
	}
}

// latestAsFound is the most recent result (the later one of a tie, as a stable
// sort would put it), nil for an empty history.
func latestAsFound(h []AsFound) *AsFound {
	var l *AsFound
	for i := range h {
		if l == nil || !h[i].At.Before(l.At) {
			l = &h[i]
		}
	}
	return l
}

// staircaseStep is the staircase's unclamped interval after verdict v and
// the reason's wording for it.
func (p IntervalPolicy) staircaseStep(current int, v Verdict) (days int, verb, factor string) {
	switch v {
	case VerdictPass:
		return scaleDays(current, p.LengthenFactor), "lengthened", "×" + fmtShort(p.LengthenFactor)
	case VerdictFail:
		return scaleDays(current, p.ShortenFactor), "shortened", "×" + fmtShort(p.ShortenFactor)
	default:
		return current, "kept", ""
	}
}

func (p IntervalPolicy) staircase(current int, l *AsFound) (int, string) {
	if l == nil {
		days, note := p.clamp(current)
		return days, fmt.Sprintf("no as-found result yet: kept %d days%s", days, note)
	}
	step, verb, factor := p.staircaseStep(current, l.Verdict)
	days, note := p.clamp(step)
	head := describeAsFound(*l)
	switch {
	case factor == "":
		return days, fmt.Sprintf("%s: kept %d days%s", head, days, note)
	case note != "":
		return days, fmt.Sprintf("%s: %s %d → %d days (staircase %s%s)", head, verb, current, days, factor, note)
	case verb == "lengthened":
		return days, fmt.Sprintf("%s: %s %d → %d days (staircase %s, max %d)", head, verb, current, days, factor, p.MaxDays)
	default:
		return days, fmt.Sprintf("%s: %s %d → %d days (staircase %s, min %d)", head, verb, current, days, factor, p.MinDays)
	}
}

// describeAsFound is the start of a reason: the result and its verdict.
func describeAsFound(l AsFound) string {
	e, m := fmtShort(l.MaxAbsErrorC), fmtShort(l.MPEC)
	switch l.Verdict {
	case VerdictPass:
		return fmt.Sprintf("as-found %s °C within MPE %s °C", e, m)
	case VerdictFail:
		return fmt.Sprintf("as-found %s °C out of tolerance (MPE %s °C)", e, m)
	default:
		return fmt.Sprintf("as-found %s °C indeterminate against MPE %s °C", e, m)
	}
}

func (p IntervalPolicy) controlChart(current int, history []AsFound) (int, string) {
	pts := make([]AsFound, 0, len(history))
	for _, h := range history {
		if !h.At.IsZero() && finiteAll(h.MaxAbsErrorC, h.MPEC) && h.MPEC > 0 {
			pts = append(pts, h)
		}
	}
	if len(pts) < ControlChartMinResults {
		days, why := p.staircase(current, latestAsFound(history))
		return days, fmt.Sprintf("control chart needs %d as-found results, has %d; staircase: %s",
			ControlChartMinResults, len(pts), why)
	}
	slices.SortStableFunc(pts, func(x, y AsFound) int { return x.At.Compare(y.At) })
	first, last := pts[0].At, pts[len(pts)-1]
	n := float64(len(pts))
	ts := make([]float64, len(pts))
	var mt, my float64
	for i, h := range pts {
		ts[i] = h.At.Sub(first).Hours() / 24
		mt += ts[i] / n
		my += math.Abs(h.MaxAbsErrorC) / n
	}
	var sxx, sxy float64
	for i, h := range pts {
		sxx += (ts[i] - mt) * (ts[i] - mt)
		sxy += (ts[i] - mt) * (math.Abs(h.MaxAbsErrorC) - my)
	}
	if sxx == 0 {
		days, why := p.staircase(current, &last)
		return days, "control chart needs results on different dates; staircase: " + why
	}
	b := sxy / sxx
	a := my - b*mt
	var ssr float64
	for i, h := range pts {
		r := math.Abs(h.MaxAbsErrorC) - (a + b*ts[i])
		ssr += r * r
	}
	s := math.Sqrt(ssr / (n - 2))
	tl := ts[len(ts)-1]
	headroom := last.MPEC - 2*s - (a + b*tl)

	limit, _, factor := p.staircaseStep(current, last.Verdict)
	limitWhy := fmt.Sprintf("at most %d after an indeterminate result", limit)
	if factor != "" {
		limitWhy = fmt.Sprintf("at most staircase %s = %d", factor, limit)
	}
	var predicted int
	var pred string
	switch {
	case headroom <= 0:
		predicted = 0
		pred = "already reaches MPE " + fmtShort(last.MPEC) + " °C"
	case b <= 0:
		predicted = math.MaxInt
		pred = "never reaches MPE " + fmtShort(last.MPEC) + " °C"
	default:
		predicted = floorDays(headroom / b)
		pred = fmt.Sprintf("reaches MPE %s °C in %d days", fmtShort(last.MPEC), predicted)
	}
	want := min(predicted, limit)
	days, note := p.clamp(want)
	return days, fmt.Sprintf("control chart over %d results: drift %s °C/day, s %s °C, error + 2s %s: %d → %d days (%s, bounds %d..%d%s)",
		len(pts), fmtDrift(b), fmtShort(s), pred, current, days, limitWhy, p.MinDays, p.MaxDays, note)
}

// clamp bounds days to MinDays..MaxDays and says when it had to.
func (p IntervalPolicy) clamp(days int) (int, string) {
	switch {
	case days > p.MaxDays:
		return p.MaxDays, fmt.Sprintf(", capped at max %d", p.MaxDays)
	case days < p.MinDays:
		return p.MinDays, fmt.Sprintf(", raised to min %d", p.MinDays)
	}
	return days, ""
}

// scaleDays is days×f rounded down, never below 1 day.
func scaleDays(days int, f float64) int {
	return max(floorDays(float64(days)*f), 1)
}

// floorDays rounds x down to whole days, forgiving floating-point noise
// (499.9999999999 days is 500); a negative or NaN x is 0 and a huge one
// saturates instead of overflowing.
func floorDays(x float64) int {
	x = math.Floor(x + 1e-6)
	if !(x > 0) {
		return 0
	}
	if x >= float64(math.MaxInt32) {
		return math.MaxInt32
	}
	return int(x)
}

// fmtShort formats a number for a reason: at most 4 decimals, no trailing
// zeros.
func fmtShort(v float64) string {
	return strconv.FormatFloat(math.Round(v*1e4)/1e4, 'f', -1, 64)
}

// fmtDrift formats a drift rate with its sign and 3 significant digits, so
// that typical drifts of 1e-4 °C/day show.
func fmtDrift(v float64) string {
	s := strconv.FormatFloat(v, 'g', 3, 64)
	if v >= 0 {
		s = "+" + s
	}
	return s
}
