package devices

import (
	"fmt"
	"math"
	"time"
)

// Limits on a calibration's measurement data (DOMAIN.md §1.3).
const (
	// MinTestPoints is the least number of reference points per calibration.
	MinTestPoints = 3
	// MaxTestPoints bounds the input; real calibrations use 3 to 5.
	MaxTestPoints = 20
	// ReadingsPerPoint is how many readings are taken at each point, as
	// found and, after an adjustment, as left.
	ReadingsPerPoint = 3
	// DefaultCoverageFactor is k when the caller gives none.
	DefaultCoverageFactor = 2.0
	// AmbientMinC and AmbientMaxC bound a plausible room temperature.
	AmbientMinC = 10.0
	AmbientMaxC = 40.0
)

// TestPoint is one reference temperature of a calibration with the
// device's readings there.
type TestPoint struct {
	ReferenceC float64   // the blackbody or bath temperature, °C
	AsFoundC   []float64 // readings before any adjustment
	AsLeftC    []float64 // readings after adjustment; only when adjusted
	UC         float64   // expanded uncertainty of the error, °C
	K          float64   // coverage factor of UC; 0 means 2
}

// Ambient is the room's condition during the calibration (ISO/IEC 17025
// §7.8.4.1 b).
type Ambient struct {
	TempC     float64
	RHPercent float64
}

// CalibrationData is the measurement part of a calibration result: what
// was measured and how it is judged, without who, where or which
// certificate.
type CalibrationData struct {
	Mode      ReadingMode
	Points    []TestPoint
	Adjusted  bool
	Ambient   Ambient
	Rule      DecisionRule
	MPEC      float64
	RangeMinC float64
	RangeMaxC float64
}

// Validate checks the data and reports every problem at once, naming fields
// as points[1].as_found_c[2], points[0].u_c or ambient.rh_percent. It fills
// two defaults: K = 2 for a point with K = 0, and simple acceptance for an
// empty Rule (the rule is then stored, so the certificate still names it).
//
// The rules: a valid Mode; a finite MPE above 0 and at most 2 °C; a finite
// range with min below max; MinTestPoints..MaxTestPoints points with no
// reference temperature twice; per point ReadingsPerPoint as-found
// readings, and as-left readings only when Adjusted, then ReadingsPerPoint
// of them; every reference and reading finite and inside the range; U finite
// and above 0, k finite and above 0; ambient temperature within
// AmbientMinC..AmbientMaxC and relative humidity within 0..100 %.
func (d *CalibrationData) Validate() error {
	var pr Problems
	if !d.Mode.Valid() {
		pr.Add("mode", "must be calibration or body")
	}
	if d.Rule == "" {
		d.Rule = RuleSimple
	}
	if !d.Rule.Valid() {
		pr.Addf("rule", "must be one of %s", joinKinds(DecisionRules))
	}
	if checkFinite(&pr, "mpe_c", d.MPEC) && (d.MPEC <= 0 || d.MPEC > 2) {
		pr.Add("mpe_c", "must be above 0 and at most 2.0 °C")
	}
	okMin := checkFinite(&pr, "range_min_c", d.RangeMinC)
	okMax := checkFinite(&pr, "range_max_c", d.RangeMaxC)
	// Readings are checked against the range only when it is sound, to
	// avoid a follow-on error for every reading.
	rangeOK := okMin && okMax && d.RangeMinC < d.RangeMaxC
	if okMin && okMax && !rangeOK {
		pr.Add("range_min_c", "must be below range_max_c")
	}
	switch n := len(d.Points); {
	case n < MinTestPoints:
		pr.Addf("points", "must have at least %d test points, has %d", MinTestPoints, n)
	case n > MaxTestPoints:
		pr.Addf("points", "must have at most %d test points, has %d", MaxTestPoints, n)
	}
	inRange := func(field string, v float64) {
		if !checkFinite(&pr, field, v) {
			return
		}
		if rangeOK && (v < d.RangeMinC || v > d.RangeMaxC) {
			pr.Addf(field, "must lie within the measuring range %s..%s °C", fmtShort(d.RangeMinC), fmtShort(d.RangeMaxC))
		}
	}
	readings := func(field string, vs []float64) {
		if len(vs) != ReadingsPerPoint {
			pr.Addf(field, "must have %d readings, has %d", ReadingsPerPoint, len(vs))
		}
		for j, v := range vs {
			inRange(fmt.Sprintf("%s[%d]", field, j), v)
		}
	}
	for i := range d.Points {
		pt := &d.Points[i]
		at := fmt.Sprintf("points[%d].", i)
		inRange(at+"reference_c", pt.ReferenceC)
		for j := range i {
			if prev := d.Points[j].ReferenceC; finiteAll(prev, pt.ReferenceC) && math.Abs(prev-pt.ReferenceC) <= DecisionToleranceC {
				pr.Addf(at+"reference_c", "repeats the reference of points[%d]", j)
				break
			}
		}
		readings(at+"as_found_c", pt.AsFoundC)
		switch {
		case d.Adjusted:
			readings(at+"as_left_c", pt.AsLeftC)
		case len(pt.AsLeftC) > 0:
			pr.Add(at+"as_left_c", "must be empty unless the device was adjusted")
		}
		if checkFinite(&pr, at+"u_c", pt.UC) && pt.UC <= 0 {
			pr.Add(at+"u_c", "must be above 0")
		}
		if pt.K == 0 {
			pt.K = DefaultCoverageFactor
		}
		if checkFinite(&pr, at+"k", pt.K) && pt.K <= 0 {
			pr.Add(at+"k", "must be above 0")
		}
	}
	if checkFinite(&pr, "ambient.temp_c", d.Ambient.TempC) && (d.Ambient.TempC < AmbientMinC || d.Ambient.TempC > AmbientMaxC) {
		pr.Addf("ambient.temp_c", "must be between %s and %s °C", fmtShort(AmbientMinC), fmtShort(AmbientMaxC))
	}
	if checkFinite(&pr, "ambient.rh_percent", d.Ambient.RHPercent) && (d.Ambient.RHPercent < 0 || d.Ambient.RHPercent > 100) {
		pr.Add("ambient.rh_percent", "must be between 0 and 100")
	}
	return pr.Err()
}

// PointOutcome is one test point's error and verdict.
type PointOutcome struct {
	ReferenceC float64
	ErrorC     float64 // mean of the readings minus the reference, °C
	Verdict    Verdict
}

// Evaluate judges every point under the data's rule (simple acceptance when
// empty) with its U and the MPE. The as-found outcomes are always returned,
// since they drive the interval policy; the as-left ones only when
// Adjusted. The overall verdict is on the as-left outcomes when adjusted,
// on the as-found ones otherwise. Call it on validated data: a point
// without readings has a NaN error and an indeterminate verdict.
func (d CalibrationData) Evaluate() (asFound []PointOutcome, asLeft []PointOutcome, overall Verdict) {
	rule := d.Rule
	if rule == "" {
		rule = RuleSimple
	}
	judge := func(readings func(TestPoint) []float64) ([]PointOutcome, []Verdict) {
		out := make([]PointOutcome, len(d.Points))
		vs := make([]Verdict, len(d.Points))
		for i, pt := range d.Points {
			e := readingMean(readings(pt)) - pt.ReferenceC
			vs[i] = Decide(e, pt.UC, d.MPEC, rule)
			out[i] = PointOutcome{ReferenceC: pt.ReferenceC, ErrorC: e, Verdict: vs[i]}
		}
		return out, vs
	}
	asFound, found := judge(func(p TestPoint) []float64 { return p.AsFoundC })
	if !d.Adjusted {
		return asFound, nil, Overall(found)
	}
	asLeft, left := judge(func(p TestPoint) []float64 { return p.AsLeftC })
	return asFound, asLeft, Overall(left)
}

// AsFoundAt summarizes the as-found outcomes of a calibration made at `at`
// for the interval policy: the largest absolute error, the MPE and the
// overall as-found verdict (whatever the adjustment did afterwards).
func (d CalibrationData) AsFoundAt(at time.Time) AsFound {
	asFound, _, _ := d.Evaluate()
	worst := 0.0
	vs := make([]Verdict, len(asFound))
	for i, o := range asFound {
		if e := math.Abs(o.ErrorC); e > worst || math.IsNaN(e) {
			worst = e
		}
		vs[i] = o.Verdict
	}
	return AsFound{At: at, MaxAbsErrorC: worst, MPEC: d.MPEC, Verdict: Overall(vs)}
}

// readingMean is the arithmetic mean, NaN for no values.
func readingMean(vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	var s float64
	for _, v := range vs {
		s += v
	}
	return s / float64(len(vs))
}

// Repeatability is the pooled standard deviation of the readings at each
// point, s_p = √(Σ_points Σ (x − x̄)² / Σ_points (n − 1)), from the as-left
// readings when the device was adjusted (that is the device now in
// service) and the as-found ones otherwise, with its degrees of freedom.
// It is the σ the drift detectors judge a device's checks by (DOMAIN.md
// §3: "σ = repeatability from calibration data"). df is 0 when no point
// has two readings.
func (d CalibrationData) Repeatability() (sigma float64, df int) {
	var ss float64
	for _, p := range d.Points {
		xs := d.inService(p)
		if len(xs) < 2 {
			continue
		}
		mean := readingMean(xs)
		for _, x := range xs {
			ss += (x - mean) * (x - mean)
		}
		df += len(xs) - 1
	}
	if df == 0 {
		return 0, 0
	}
	return math.Sqrt(ss / float64(df)), df
}

// DriftTargetReferenceC is the reference temperature whose calibration
// error centres a thermometer's drift detectors: in-service checks are
// made against a portable 37 °C blackbody (DOMAIN.md §3).
const DriftTargetReferenceC = 37.0

// ErrorNear is the error the calibration left the instrument with at the
// test point whose reference is nearest refC: the mean as-left reading
// (as-found when not adjusted) minus the reference. ok is false when there
// are no readings.
func (d CalibrationData) ErrorNear(refC float64) (errC, atC float64, ok bool) {
	best := -1
	for i, p := range d.Points {
		if best < 0 || math.Abs(p.ReferenceC-refC) < math.Abs(d.Points[best].ReferenceC-refC) {
			best = i
		}
	}
	if best < 0 {
		return 0, 0, false
	}
	p := d.Points[best]
	xs := d.inService(p)
	if len(xs) == 0 {
		return 0, 0, false
	}
	return readingMean(xs) - p.ReferenceC, p.ReferenceC, true
}

// inService is a point's readings of the instrument as it went back into
// service: as left when it was adjusted, as found otherwise.
func (d CalibrationData) inService(p TestPoint) []float64 {
	if d.Adjusted && len(p.AsLeftC) > 0 {
		return p.AsLeftC
	}
	return p.AsFoundC
}

// ExpandedUncertainty is the largest expanded uncertainty of the error
// over the points, restated at k = 2 (U·2/k): the U of the guard band
// A = MPE − U the forecast aims at (DOMAIN.md §2.3, §3.3).
func (d CalibrationData) ExpandedUncertainty() float64 {
	var u float64
	for _, p := range d.Points {
		k := p.K
		if k <= 0 {
			k = DefaultCoverageFactor
		}
		u = math.Max(u, p.UC*2/k)
	}
	return u
}
