package devices

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Lift telemetry thresholds (issue 5 item 6): bounds on the metrics a lift
// reports on its telemetry topic (DOMAIN.md §4.3: levelling, vibration,
// machine-room temperature, ...). A telemetry message whose metric lies
// beyond a bound raises or grows the lift's threshold alert. The set comes
// from the LIFT_THRESHOLDS setting, written as
//
//	leveling_error_mm>10,leveling_error_mm<-10,machine_room_temp_c>=40
//
// one entry per bound, separated by commas: a metric name (as the decoder
// accepts it: 1 to 64 of a-z, 0-9 and _), an operator (> or >= for an
// upper bound, < or <= for a lower one) and a decimal limit in the metric's
// own unit, which its name carries (_mm, _c, _mm_s). A value breaches an
// upper bound when it is above the limit (or at it, for >=), a lower bound
// when below it (or at it, for <=). A metric has at most one upper and one
// lower bound, and together they must leave some value in bounds. "none",
// or an empty spec, sets no bounds.

// ThresholdBound is the side of its limit a bound guards.
type ThresholdBound string

// Bounds.
const (
	BoundAbove ThresholdBound = "above" // an upper bound: > or >=
	BoundBelow ThresholdBound = "below" // a lower bound: < or <=
)

// Threshold is one bound on one telemetry metric.
type Threshold struct {
	Metric string         // a telemetry metric name, e.g. leveling_error_mm
	Bound  ThresholdBound // BoundAbove or BoundBelow
	// Inclusive makes the limit itself a breach (>= or <=).
	Inclusive bool
	// Limit is in the metric's own unit: the name carries it, so the
	// limit has none of its own.
	Limit float64
}

// Op is the bound's operator as LIFT_THRESHOLDS writes it.
func (t Threshold) Op() string {
	op := ">"
	if t.Bound == BoundBelow {
		op = "<"
	}
	if t.Inclusive {
		op += "="
	}
	return op
}

// String writes t as a LIFT_THRESHOLDS entry, e.g. leveling_error_mm>10.
func (t Threshold) String() string { return t.Metric + t.Op() + formatLimit(t.Limit) }

// Breached reports whether v lies beyond the bound.
func (t Threshold) Breached(v float64) bool {
	switch {
	case t.Bound == BoundAbove && t.Inclusive:
		return v >= t.Limit
	case t.Bound == BoundAbove:
		return v > t.Limit
	case t.Inclusive:
		return v <= t.Limit
	default:
		return v < t.Limit
	}
}

// Thresholds is a set of bounds, in the order the setting lists them.
type Thresholds []Threshold

// String writes the set as LIFT_THRESHOLDS would: entries joined by
// commas, or "none".
func (ts Thresholds) String() string {
	if len(ts) == 0 {
		return ThresholdsNone
	}
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = t.String()
	}
	return strings.Join(parts, ",")
}

// ThresholdBreach is a metric value beyond one of the bounds.
type ThresholdBreach struct {
	Threshold
	Value float64
}

// String names the metric, its value and the bound it breaches, e.g.
// "leveling_error_mm 14.5 is above 10".
func (b ThresholdBreach) String() string {
	side := string(b.Bound)
	if b.Inclusive {
		side += " or at"
	}
	return fmt.Sprintf("%s %s is %s %s", b.Metric, formatLimit(b.Value), side, formatLimit(b.Limit))
}

// Breaches returns the bounds the metrics breach, one per breached bound,
// in the set's order (never the map's, so the result is stable). Metrics
// the set does not bound, and bounds on metrics absent from the message,
// are ignored.
func (ts Thresholds) Breaches(metrics map[string]float64) []ThresholdBreach {
	var out []ThresholdBreach
	for _, t := range ts {
		if v, ok := metrics[t.Metric]; ok && t.Breached(v) {
			out = append(out, ThresholdBreach{Threshold: t, Value: v})
		}
	}
	return out
}

// ThresholdsNone is the LIFT_THRESHOLDS value that sets no bounds.
const ThresholdsNone = "none"

// DefaultLiftThresholds is the LIFT_THRESHOLDS default: the car's levelling
// error at a stop within ±10 mm, the metric named as in the telemetry
// contract (ARCHITECTURE.md "Stable contract"). The number is the EN 81-20
// stopping accuracy that DOMAIN.md §4.1 quotes as unverified, and the half-
// month "car levelling accuracy" item of TSG T5002 leaves to the standard
// value: a design default, unverified. Both signs are bounded, as a car may
// stop above or below the landing.
const DefaultLiftThresholds = "leveling_error_mm>10,leveling_error_mm<-10"

// MaxThresholds is the most entries a set may have: an upper and a lower
// bound for each of the MaxMetrics metrics one message may carry.
const MaxThresholds = 2 * MaxMetrics

// ThresholdError says which entry of a thresholds setting is at fault.
type ThresholdError struct {
	Index  int    // the entry's position, from 1
	Entry  string // the entry as written, trimmed
	Reason string
}

func (e *ThresholdError) Error() string {
	return fmt.Sprintf("entry %d %q: %s", e.Index, e.Entry, e.Reason)
}

// ParseThresholds reads a thresholds setting (the syntax is described at
// the top of this file). "none" (in any case) or a blank spec gives an
// empty, non-nil set. Any fault is a *ThresholdError naming the first entry
// at fault.
func ParseThresholds(spec string) (Thresholds, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" || strings.EqualFold(spec, ThresholdsNone) {
		return Thresholds{}, nil
	}
	entries := strings.Split(spec, ",")
	out := make(Thresholds, 0, min(len(entries), MaxThresholds))
	for i, raw := range entries {
		entry := strings.TrimSpace(raw)
		bad := func(format string, args ...any) (Thresholds, error) {
			return nil, &ThresholdError{Index: i + 1, Entry: entry, Reason: fmt.Sprintf(format, args...)}
		}
		if i == MaxThresholds {
			return bad("more than %d entries", MaxThresholds)
		}
		if entry == "" {
			return bad("is empty (a stray comma?)")
		}
		t, reason := parseThreshold(entry)
		if reason != "" {
			return bad("%s", reason)
		}
		for j, prev := range out {
			if prev.Metric != t.Metric {
				continue
			}
			if prev.Bound == t.Bound {
				side := "an upper"
				if t.Bound == BoundBelow {
					side = "a lower"
				}
				return bad("%s already has %s bound in entry %d (%s)", t.Metric, side, j+1, prev)
			}
			if !inBoundsExists(prev, t) {
				return bad("with entry %d (%s) every value of %s breaches; the lower limit must be below the upper one", j+1, prev, t.Metric)
			}
		}
		out = append(out, t)
	}
	return out, nil
}

// parseThreshold reads one trimmed, non-empty entry; a non-empty reason
// says what is wrong with it.
func parseThreshold(entry string) (Threshold, string) {
	i := strings.IndexAny(entry, "<>")
	if i < 0 {
		return Threshold{}, "want METRIC>LIMIT, METRIC>=LIMIT, METRIC<LIMIT or METRIC<=LIMIT"
	}
	t := Threshold{Metric: strings.TrimSpace(entry[:i]), Bound: BoundAbove}
	if entry[i] == '<' {
		t.Bound = BoundBelow
	}
	rest := entry[i+1:]
	if strings.HasPrefix(rest, "=") {
		t.Inclusive, rest = true, rest[1:]
	}
	rest = strings.TrimSpace(rest)
	switch {
	case t.Metric == "":
		return t, "no metric name before the operator"
	case !validMetricName(t.Metric):
		return t, fmt.Sprintf("metric name %q must be 1 to 64 of a-z, 0-9 and _, as telemetry sends it", t.Metric)
	case rest == "":
		return t, "no limit after the operator"
	}
	limit, ok := parseLimit(rest)
	if !ok {
		return t, fmt.Sprintf("limit %q is not a decimal number such as 10, -0.5 or 4.5e3", rest)
	}
	if math.Abs(limit) > MaxMetricValue {
		return t, fmt.Sprintf("limit %s is outside ±%g, the range telemetry may carry", rest, MaxMetricValue)
	}
	t.Limit = limit
	return t, ""
}

// parseLimit reads a finite decimal number: digits, sign, point and
// exponent only, so neither "Inf", "NaN", hex nor underscores pass.
func parseLimit(s string) (float64, bool) {
	if strings.Trim(s, "0123456789+-.eE") != "" {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, false
	}
	return v, true
}

// inBoundsExists reports whether an upper and a lower bound on the same
// metric leave at least one value breaching neither.
func inBoundsExists(a, b Threshold) bool {
	upper, lower := a, b
	if a.Bound == BoundBelow {
		upper, lower = b, a
	}
	if lower.Limit != upper.Limit {
		return lower.Limit < upper.Limit
	}
	return !lower.Inclusive && !upper.Inclusive // only the limit itself is in bounds
}

// formatLimit writes a number the shortest way that reads back exactly.
func formatLimit(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
