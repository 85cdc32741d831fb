package devices

import (
	"fmt"
	"math"
	"time"
)

// Drift detection on a thermometer's stream of check errors
// e = indication − reference (°C) from calibration-mode checks
// (DOMAIN.md §3). Four detectors share one DriftState per device:
//
//   - out of tolerance: a single reading with |e| > MPE (DOMAIN.md §2.3);
//   - EWMA (DOMAIN.md §3.1, [S23] NIST/SEMATECH e-Handbook 6.3.2.4);
//   - two-sided tabular CUSUM (DOMAIN.md §3.2, [S24]);
//   - a least-squares forecast of when the one-sided 95 % upper
//     prediction bound of |e(t)| reaches the guard-banded acceptance limit
//     A = MPE − U (DOMAIN.md §3.3, [S25]; guard band from §2.3, [S19]).
//
// The state is a handful of numbers updated in O(1) per reading, in
// timestamp order, so the store can keep it per device and replicas can
// share it through the database: feeding a stream at once or in pieces,
// with the state saved and loaded in between, gives the same verdicts.

// Defaults for DriftConfig (DOMAIN.md §3.1, §3.2, §3.3).
const (
	DefaultDriftLambda            = 0.2  // EWMA weight λ, typical 0.2–0.3 [S23]
	DefaultDriftL                 = 3.0  // EWMA limit width L [S23]
	DefaultDriftK                 = 0.5  // CUSUM reference value k, in σ [S24]
	DefaultDriftH                 = 4.0  // CUSUM decision interval h, in σ [S24]
	DefaultDriftMinForecastPoints = 5    // points before the forecast speaks (design, §3.3)
	DefaultDriftForecastLevel     = 0.95 // one-sided prediction level (§3.3)
	DefaultDriftHorizonDays       = 1095 // forecasts beyond 3 years are not made
	DefaultDriftMinAlertPoints    = 30   // readings before a forecast may alert (design, TestPredictedDriftOnNoise)
)

// DriftConfig tunes the detectors. K and H are in units of the device's
// repeatability σ: the CUSUM uses K = K·σ and H = H·σ in °C, so one
// configuration serves devices of different σ.
type DriftConfig struct {
	// Lambda is the EWMA weight λ in (0, 1]; 1 makes it a Shewhart chart.
	Lambda float64
	// L is the EWMA control limit width in standard deviations of z_t.
	L float64
	// K is the CUSUM reference value k in units of σ (K = k·σ); k = δ/2
	// detects a shift of δ σ.
	K float64
	// H is the CUSUM decision interval h in units of σ (H = h·σ).
	H float64
	// MinForecastPoints is how many readings the regression needs before
	// it forecasts; at least 3, so the residuals have a degree of freedom.
	MinForecastPoints int
	// ForecastLevel is the one-sided level of the prediction bound. Only
	// 0.95 is supported: the Student t quantiles are tabulated for it.
	ForecastLevel float64
	// HorizonDays bounds the forecast: a crossing later than this many
	// days after the reading is reported as none.
	HorizonDays int
	// MinAlertPoints is how many readings the regression needs before its
	// forecast may raise predicted_drift (PredictsCrossingBefore).
	MinAlertPoints int
}

// DefaultDriftConfig is λ = 0.2, L = 3, k = 0.5, h = 4, 5 points, a
// one-sided 95 % bound and a 3-year horizon (DOMAIN.md §3).
func DefaultDriftConfig() DriftConfig {
	return DriftConfig{
		Lambda:            DefaultDriftLambda,
		L:                 DefaultDriftL,
		K:                 DefaultDriftK,
		H:                 DefaultDriftH,
		MinForecastPoints: DefaultDriftMinForecastPoints,
		ForecastLevel:     DefaultDriftForecastLevel,
		HorizonDays:       DefaultDriftHorizonDays,
		MinAlertPoints:    DefaultDriftMinAlertPoints,
	}
}

// Validate names every field at fault, as drift.<field>.
func (c DriftConfig) Validate() error {
	var p Problems
	if !(c.Lambda > 0 && c.Lambda <= 1) {
		p.Addf("drift.lambda", "must be in (0, 1], got %v", c.Lambda)
	}
	if !(c.L > 0) || math.IsInf(c.L, 0) {
		p.Addf("drift.l", "must be a positive number, got %v", c.L)
	}
	if !(c.K >= 0) || math.IsInf(c.K, 0) {
		p.Addf("drift.k", "must be zero or positive, got %v", c.K)
	}
	if !(c.H > 0) || math.IsInf(c.H, 0) {
		p.Addf("drift.h", "must be a positive number, got %v", c.H)
	}
	if c.MinForecastPoints < 3 {
		p.Addf("drift.min_forecast_points", "must be at least 3, got %d", c.MinForecastPoints)
	}
	if c.ForecastLevel != 0.95 {
		p.Addf("drift.forecast_level", "only 0.95 (one-sided 95 %%) is supported, got %v", c.ForecastLevel)
	}
	if c.MinAlertPoints < c.MinForecastPoints {
		p.Addf("drift.min_alert_points", "must be at least min_forecast_points (%d), got %d", c.MinForecastPoints, c.MinAlertPoints)
	}
	if c.HorizonDays < 1 {
		p.Addf("drift.horizon_days", "must be at least 1, got %d", c.HorizonDays)
	}
	return p.Err()
}

// DriftState is everything the detectors carry from one reading to the
// next, as plain fields so a store can keep it per device as JSON or as
// columns. The zero value is a fresh state.
type DriftState struct {
	// N is the number of readings applied since the last reset; it is the
	// EWMA's t and the regression's n.
	N int `json:"n"`
	// EWMA is z_t (°C), z_0 = 0.
	EWMA float64 `json:"ewma"`
	// CUSUMHigh and CUSUMLow are C⁺_t and C⁻_t (°C), both start at 0.
	CUSUMHigh float64 `json:"cusum_high"`
	CUSUMLow  float64 `json:"cusum_low"`
	// Origin is the time of the first reading since the reset; the
	// regression measures t in days from it.
	Origin time.Time `json:"origin"`
	// Regression sums over the N readings, t in days since Origin, e in °C.
	SumT  float64 `json:"sum_t"`
	SumT2 float64 `json:"sum_t2"`
	SumE  float64 `json:"sum_e"`
	SumTE float64 `json:"sum_te"`
	SumE2 float64 `json:"sum_e2"`
	// LastAt and LastSeq are the newest reading applied; older readings,
	// and a reading at LastAt whose seq is not above LastSeq, are ignored.
	LastAt  time.Time `json:"last_at"`
	LastSeq int64     `json:"last_seq"`
}

// Reset clears the state, as after a passing recalibration (DOMAIN.md
// §3.2): the detectors start again from zero and the regression forgets
// the old drift.
func (s *DriftState) Reset() { *s = DriftState{} }

// DriftVerdict is what one reading did to the detectors.
type DriftVerdict struct {
	// Ignored is set when the reading was not applied (out of order, a
	// duplicate or unusable numbers); IgnoredReason says why and every
	// other field is zero.
	Ignored       bool
	IgnoredReason string

	// OutOfTolerance: this reading alone has |e| > MPE.
	OutOfTolerance bool
	// EWMA: |z_t| > L·σ_z,t. Z and ZLimit are z_t and L·σ_z,t (°C).
	EWMA   bool
	Z      float64
	ZLimit float64
	// CUSUM: C⁺_t > H or C⁻_t > H. CUSUMHigh, CUSUMLow and CUSUMLimit
	// are C⁺_t, C⁻_t and H = h·σ (°C).
	CUSUM      bool
	CUSUMHigh  float64
	CUSUMLow   float64
	CUSUMLimit float64

	// Predicted is the earliest time at or after the reading when the
	// forecast's one-sided upper prediction bound of |e| reaches
	// MPE − U; nil when there is no forecast or no crossing within the
	// horizon. The state's Forecast, right after the reading, explains
	// either way (the verdict leaves the words out: formatting them for
	// every check was a measurable share of the ingest's CPU).
	Predicted *time.Time
	// SlopeSignificant: the fitted drift is distinguishable from noise, a
	// one-sided 95 % t-test on the slope (DriftFit.SlopeSignificant).
	SlopeSignificant bool
	// TrendCrossing is when the fitted line itself (the mean error, not
	// the bound) reaches MPE − U, set only when the trend is credible
	// enough to alert on: at least MinAlertPoints readings, a significant
	// slope, and a crossing no further ahead than the readings reach back.
	TrendCrossing *time.Time
}

// PredictsCrossingBefore reports whether the verdict's forecast should
// raise a predicted_drift alert for a device next due at due (zero: not
// known): the §3.3 bound crosses, the trend is credible (TrendCrossing),
// and the mean error reaches MPE − U before the device's next calibration
// would catch it.
//
// Why the gates (docs/design-ingest.md, "predicted_drift"): DOMAIN.md §3.3
// asks for the upper 95 % prediction bound of one future reading, and with
// σ = U = 0.05 °C against an MPE of 0.2 °C the limit MPE − U is only 3σ
// away: on pure noise (one check a day for a year) the bound crosses
// within the year in 200 of 200 runs, and a significant slope alone still
// alarms in 167. Requiring 30 readings and a mean crossing no further
// ahead than the data reach back brings that to about 1 in 100 while a
// drift of 0.001 °C/day is still flagged about 80 days before it crosses
// (TestPredictedDriftOnNoise). The reported date stays the §3.3 date.
func (v DriftVerdict) PredictsCrossingBefore(due time.Time) bool {
	return !v.Ignored && predictsBefore(v.Predicted, v.TrendCrossing, due)
}

func predictsBefore(p, trend *time.Time, due time.Time) bool {
	return p != nil && trend != nil && (due.IsZero() || trend.Before(due))
}

// PredictsCrossingBefore is DriftVerdict.PredictsCrossingBefore for the
// forecast of a stored state.
func (f DriftForecast) PredictsCrossingBefore(due time.Time) bool {
	return predictsBefore(f.Predicted, f.TrendCrossing, due)
}

// trendCrossing is TrendCrossing for the state after a reading at at.
func (s DriftState) trendCrossing(cfg DriftConfig, at time.Time, lim float64) (*time.Time, bool) {
	f, ok := s.Fit()
	if !ok || s.N < cfg.MinForecastPoints {
		return nil, false
	}
	sig := f.SlopeSignificant()
	if !sig || s.N < cfg.MinAlertPoints || f.B == 0 {
		return nil, sig
	}
	now := daysSince(s.Origin, at)
	cross := (math.Copysign(lim, f.B) - f.A) / f.B
	if math.Abs(f.Line(now)) >= lim {
		cross = now
	}
	if cross < now || cross-now > now {
		return nil, sig // behind the line's direction, or extrapolated beyond the data's span
	}
	p := s.Origin.Add(time.Duration(math.Round(cross*86400)) * time.Second)
	return &p, sig
}

// Drift reports whether a drift detector (EWMA or CUSUM) alarmed.
func (v DriftVerdict) Drift() bool { return v.EWMA || v.CUSUM }

// Observe applies one check reading taken at at with error e (°C), for a
// device of maximum permissible error mpe, expanded uncertainty u (k = 2)
// and repeatability sigma (all °C), and says which alarms fire. It orders
// by time only: a reading before the last one applied is ignored, one at
// the same time is applied. Use ObserveSeq when the reading has a seq.
func (s *DriftState) Observe(cfg DriftConfig, at time.Time, e, mpe, u, sigma float64) DriftVerdict {
	return s.observe(cfg, at, 0, false, e, 0, mpe, u, sigma)
}

// ObserveSeq is Observe for a reading with a device sequence number: a
// reading at the same time as the last one is applied only when its seq is
// higher, so a redelivered reading does not count twice. A later reading
// is applied whatever its seq, since devices restart their counters.
func (s *DriftState) ObserveSeq(cfg DriftConfig, at time.Time, seq int64, e, mpe, u, sigma float64) DriftVerdict {
	return s.observe(cfg, at, seq, true, e, 0, mpe, u, sigma)
}

// ObserveCentred is ObserveSeq for a device whose detectors aim at a
// target error mu0 (°C) instead of 0 (DOMAIN.md §3.2's μ0): its error as
// left by its last calibration. EWMA and CUSUM then watch e − mu0, so a
// steady bias the calibration found within tolerance is not drift; the
// single-reading test against the MPE and the forecast still judge e
// itself, since a bias counts towards the MPE.
func (s *DriftState) ObserveCentred(cfg DriftConfig, at time.Time, seq int64, e, mu0, mpe, u, sigma float64) DriftVerdict {
	return s.observe(cfg, at, seq, true, e, mu0, mpe, u, sigma)
}

func (s *DriftState) observe(cfg DriftConfig, at time.Time, seq int64, hasSeq bool, e, mu0, mpe, u, sigma float64) DriftVerdict {
	switch {
	case at.IsZero():
		return ignored("reading has no time")
	case !finiteAll(e, mu0, mpe, u, sigma) || mpe <= 0 || u < 0 || sigma <= 0:
		return ignored(fmt.Sprintf("unusable numbers: e %v, MPE %v, U %v, σ %v (need finite, MPE > 0, U >= 0, σ > 0)", e, mpe, u, sigma))
	case s.N > 0 && at.Before(s.LastAt):
		return ignored(fmt.Sprintf("out of order: %s is before the last reading at %s",
			at.UTC().Format(time.RFC3339Nano), s.LastAt.UTC().Format(time.RFC3339Nano)))
	case s.N > 0 && hasSeq && at.Equal(s.LastAt) && seq <= s.LastSeq:
		return ignored(fmt.Sprintf("duplicate: seq %d at the last reading's time is not above seq %d", seq, s.LastSeq))
	}

	if s.N == 0 {
		s.Origin = at
	}
	s.N++
	s.LastAt = at
	if hasSeq {
		s.LastSeq = seq
	}
	v := DriftVerdict{
		// DOMAIN.md §2.3, simple acceptance against the MPE, with Decide's
		// slack so floating-point noise on the limit does not alarm.
		OutOfTolerance: math.Abs(e) > mpe+DecisionToleranceC,
	}

	// EWMA, DOMAIN.md §3.1 [S23], on e_t − μ0:
	//   z_t = λ·(e_t − μ0) + (1−λ)·z_{t−1}, z_0 = 0
	//   σ_z,t = σ·√(λ/(2−λ)·(1 − (1−λ)^{2t}))
	//   alarm when |z_t| > L·σ_z,t.
	// The EWMA and CUSUM watch the error's departure from the target.
	d := e - mu0
	lam := cfg.Lambda
	s.EWMA = lam*d + (1-lam)*s.EWMA
	sz := sigma * math.Sqrt(lam/(2-lam)*(1-math.Pow(1-lam, 2*float64(s.N))))
	v.Z, v.ZLimit = s.EWMA, cfg.L*sz
	v.EWMA = math.Abs(s.EWMA) > v.ZLimit+DecisionToleranceC

	// Tabular CUSUM, DOMAIN.md §3.2 [S24], target μ0 (0 unless centred):
	//   C⁺_t = max(0, C⁺_{t−1} + (e_t − μ0) − K), C⁻_t = max(0, C⁻_{t−1} − K − (e_t − μ0))
	//   K = k·σ, H = h·σ; alarm when C⁺_t > H or C⁻_t > H.
	// The statistics keep accumulating after an alarm (the open alert
	// grows with the evidence); only Reset clears them.
	kc, hc := cfg.K*sigma, cfg.H*sigma
	s.CUSUMHigh = math.Max(0, s.CUSUMHigh+d-kc)
	s.CUSUMLow = math.Max(0, s.CUSUMLow-kc-d)
	v.CUSUMHigh, v.CUSUMLow, v.CUSUMLimit = s.CUSUMHigh, s.CUSUMLow, hc
	v.CUSUM = s.CUSUMHigh > hc+DecisionToleranceC || s.CUSUMLow > hc+DecisionToleranceC

	// Regression sums, DOMAIN.md §3.3.
	t := daysSince(s.Origin, at)
	s.SumT += t
	s.SumT2 += t * t
	s.SumE += e
	s.SumTE += t * e
	s.SumE2 += e * e

	v.Predicted, _ = s.forecast(cfg, at, mpe-u, false)
	v.TrendCrossing, v.SlopeSignificant = s.trendCrossing(cfg, at, mpe-u)
	return v
}

// DriftForecast is the forecast of a device's state as of its newest
// reading, for a report.
type DriftForecast struct {
	Fit              *DriftFit  // nil with fewer than 3 readings or all at one time
	Predicted        *time.Time // when the bound reaches MPE − U; nil for none
	Reason           string
	SlopeSignificant bool
	TrendCrossing    *time.Time // as DriftVerdict.TrendCrossing
}

// Forecast is the §3.3 forecast of the state as of its newest reading.
func (s DriftState) Forecast(cfg DriftConfig, mpe, u float64) DriftForecast {
	if s.N == 0 {
		return DriftForecast{Reason: fmt.Sprintf("forecast needs %d readings, has 0", cfg.MinForecastPoints)}
	}
	var out DriftForecast
	out.Predicted, out.Reason = s.forecast(cfg, s.LastAt, mpe-u, true)
	if f, ok := s.Fit(); ok {
		out.Fit = &f
	}
	out.TrendCrossing, out.SlopeSignificant = s.trendCrossing(cfg, s.LastAt, mpe-u)
	return out
}

// EWMALimit is L·σ_z,t after the state's N readings (DOMAIN.md §3.1).
func (s DriftState) EWMALimit(cfg DriftConfig, sigma float64) float64 {
	lam := cfg.Lambda
	return cfg.L * sigma * math.Sqrt(lam/(2-lam)*(1-math.Pow(1-lam, 2*float64(s.N))))
}

func ignored(reason string) DriftVerdict {
	return DriftVerdict{Ignored: true, IgnoredReason: reason}
}

// daysSince is at − origin in days.
func daysSince(origin, at time.Time) float64 {
	return at.Sub(origin).Seconds() / 86400
}

// DriftFit is the least-squares line e(t) = A + B·t through the readings,
// t in days since the state's Origin (DOMAIN.md §3.3).
type DriftFit struct {
	N     int     // points
	A     float64 // intercept, °C
	B     float64 // slope, °C/day
	S     float64 // residual standard deviation, n − 2 degrees of freedom, °C
	MeanT float64 // t̄, days
	Sxx   float64 // Σ(t − t̄)², days²
}

// Fit is the least-squares line through the state's readings; ok is false
// with fewer than 3 readings or all at one time.
//
// From the sums (standard OLS, e.g. NIST/SEMATECH e-Handbook 4.1.4.1):
//
//	Sxx = Σt² − (Σt)²/n, Sxy = Σte − Σt·Σe/n, Syy = Σe² − (Σe)²/n
//	B = Sxy/Sxx, A = ē − B·t̄, s² = (Syy − Sxy²/Sxx)/(n − 2)
func (s DriftState) Fit() (f DriftFit, ok bool) {
	if s.N < 3 {
		return DriftFit{N: s.N}, false
	}
	n := float64(s.N)
	sxx := s.SumT2 - s.SumT*s.SumT/n
	if !(sxx > 0) {
		return DriftFit{N: s.N}, false
	}
	sxy := s.SumTE - s.SumT*s.SumE/n
	syy := s.SumE2 - s.SumE*s.SumE/n
	b := sxy / sxx
	// Rounding can make a perfect line's residual sum a hair negative.
	sse := math.Max(0, syy-sxy*sxy/sxx)
	return DriftFit{
		N:     s.N,
		A:     s.SumE/n - b*s.SumT/n,
		B:     b,
		S:     math.Sqrt(sse / (n - 2)),
		MeanT: s.SumT / n,
		Sxx:   sxx,
	}, true
}

// SlopeT is the slope's t statistic B / (S/√Sxx); ±Inf for a perfect
// sloped line, 0 for a flat one.
func (f DriftFit) SlopeT() float64 {
	if f.Sxx <= 0 {
		return 0
	}
	se := f.S / math.Sqrt(f.Sxx)
	if se == 0 {
		if f.B == 0 {
			return 0
		}
		return math.Copysign(math.Inf(1), f.B)
	}
	return f.B / se
}

// SlopeSignificant reports whether |B| / (S/√Sxx) exceeds the one-sided
// 95 % Student t quantile with n − 2 degrees of freedom: the drift is
// unlikely to be the noise's (standard OLS slope test, NIST/SEMATECH
// e-Handbook 4.1.4.1). The test is one-sided in the direction the line
// slopes, the only direction the forecast follows.
func (f DriftFit) SlopeSignificant() bool {
	return f.N >= 3 && math.Abs(f.SlopeT()) > StudentT95(f.N-2)
}

// Line is the fitted error at t days.
func (f DriftFit) Line(t float64) float64 { return f.A + f.B*t }

// PredictionHalfWidth is the one-sided 95 % prediction half-width for a
// single new reading at t days (DOMAIN.md §3.3; standard OLS prediction
// interval, NIST/SEMATECH e-Handbook 4.1.4.1):
//
//	t_{0.95, n−2} · s · √(1 + 1/n + (t − t̄)²/Sxx)
func (f DriftFit) PredictionHalfWidth(t float64) float64 {
	d := t - f.MeanT
	return StudentT95(f.N-2) * f.S * math.Sqrt(1+1/float64(f.N)+d*d/f.Sxx)
}

// forecast is §3.3's predicted crossing after a reading at at, against the
// acceptance limit lim = MPE − U, and with explain the words that say why.
//
// The upper bound of |e(t)| is |ŷ(t)| + w(t), with ŷ the fitted line and w
// the one-sided prediction half-width. When it already reaches lim at the
// reading, the crossing is now. Otherwise the line is followed the way it
// slopes: towards +lim when B > 0 (bound ŷ + w), towards −lim when B < 0
// (bound −ŷ + w); a flat line (B = 0) points at neither limit and gives no
// forecast. For t at or after the reading, t ≥ t̄, so w grows with t and the
// followed bound rises strictly: one crossing, found by bisection.
func (s DriftState) forecast(cfg DriftConfig, at time.Time, lim float64, explain bool) (*time.Time, string) {
	if s.N < cfg.MinForecastPoints {
		if !explain {
			return nil, ""
		}
		return nil, fmt.Sprintf("forecast needs %d readings, has %d", cfg.MinForecastPoints, s.N)
	}
	f, ok := s.Fit()
	if !ok {
		if !explain {
			return nil, ""
		}
		return nil, fmt.Sprintf("forecast needs readings at different times (%d at one time)", s.N)
	}
	head := ""
	if explain {
		head = fmt.Sprintf("line over %d readings: drift %s °C/day, s %s °C, t(%d) %s",
			f.N, fmtDrift(f.B), fmtShort(f.S), f.N-2, fmtShort(StudentT95(f.N-2)))
	}
	t0 := daysSince(s.Origin, at)
	if now := math.Abs(f.Line(t0)) + f.PredictionHalfWidth(t0); now >= lim {
		p := at
		if !explain {
			return &p, ""
		}
		return &p, fmt.Sprintf("%s; upper 95 %% bound of |e| %s °C already reaches MPE − U = %s °C",
			head, fmtShort(now), fmtShort(lim))
	}
	if f.B == 0 {
		if !explain {
			return nil, ""
		}
		return nil, fmt.Sprintf("%s; a flat line never reaches MPE − U = %s °C", head, fmtShort(lim))
	}
	sign := math.Copysign(1, f.B)
	gap := func(t float64) float64 { return sign*f.Line(t) + f.PredictionHalfWidth(t) - lim }
	hi := t0 + float64(cfg.HorizonDays)
	if gap(hi) < 0 {
		if !explain {
			return nil, ""
		}
		return nil, fmt.Sprintf("%s; upper 95 %% bound of |e| stays below MPE − U = %s °C for %d days",
			head, fmtShort(lim), cfg.HorizonDays)
	}
	// Bisect to a millisecond: the date is given to the second, and the
	// forecast runs for every check, so bisecting on to the last bit of a
	// float64 (some 50 steps) only cost time.
	const resolution = 1e-3 / 86400 // days
	lo := t0
	for hi-lo > resolution {
		mid := lo + (hi-lo)/2
		if mid <= lo || mid >= hi {
			break
		}
		if gap(mid) >= 0 {
			hi = mid
		} else {
			lo = mid
		}
	}
	p := s.Origin.Add(time.Duration(math.Round(hi*86400)) * time.Second)
	if p.Before(at) {
		p = at
	}
	if !explain {
		return &p, ""
	}
	return &p, fmt.Sprintf("%s; upper 95 %% bound of |e| reaches MPE − U = %s °C in %s days",
		head, fmtShort(lim), fmtShort(hi-t0))
}

// studentT95 holds one-sided 95 % Student t quantiles t_{0.95, ν} for
// ν = 1..30 degrees of freedom, from standard t tables (NIST/SEMATECH
// e-Handbook 1.3.6.7.2, "Critical values of the Student's t distribution",
// column 0.95).
var studentT95 = [...]float64{
	6.314, 2.920, 2.353, 2.132, 2.015, 1.943, 1.895, 1.860, 1.833, 1.812,
	1.796, 1.782, 1.771, 1.761, 1.753, 1.746, 1.740, 1.734, 1.729, 1.725,
	1.721, 1.717, 1.714, 1.711, 1.708, 1.706, 1.703, 1.701, 1.699, 1.697,
}

// z95 is the one-sided 95 % standard normal quantile.
const z95 = 1.6448536269514722

// StudentT95 is the one-sided 95 % Student t quantile for df degrees of
// freedom: the table for 1..30 and, beyond, the Cornish–Fisher expansion
// about the normal quantile z (Abramowitz & Stegun 26.7.5, two terms),
//
//	t ≈ z + (z³ + z)/(4ν) + (5z⁵ + 16z³ + 3z)/(96ν²),
//
// which gives 1.6973 at ν = 30 (table 1.697) and tends to z = 1.645, so
// it never undercuts the table's width the way a jump to 1.645 would. df
// below 1 has no quantile: +Inf.
func StudentT95(df int) float64 {
	if df < 1 {
		return math.Inf(1)
	}
	if df <= len(studentT95) {
		return studentT95[df-1]
	}
	z, v := z95, float64(df)
	z3 := z * z * z
	z5 := z3 * z * z
	return z + (z3+z)/(4*v) + (5*z5+16*z3+3*z)/(96*v*v)
}
