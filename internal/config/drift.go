package config

import (
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/calibd/calibd/devices"
)

// DriftSettings tune the drift detectors (DOMAIN.md §3; issue 5).
type DriftSettings struct {
	// Detectors: DRIFT_LAMBDA, DRIFT_L (EWMA), DRIFT_K, DRIFT_H (CUSUM, in σ).
	Detectors devices.DriftConfig
	// SigmaC is DRIFT_SIGMA_C: the repeatability σ (°C) of a device whose
	// calibration gave none and whose profile has no default.
	SigmaC float64
	// SigmaByProfile is DRIFT_SIGMA_BY_PROFILE, "code=σ,code=σ": a default σ
	// per tolerance profile.
	SigmaByProfile map[string]float64
	// UC is DRIFT_U_C: the expanded uncertainty U (k = 2, °C) of the guard
	// band MPE − U when the device's calibration gave none.
	UC float64
}

// loadDrift reads the DRIFT_* settings; problems name the variable.
func loadDrift(getenv func(string) string) (DriftSettings, []error) {
	var errs []error
	flt := func(key string, def float64) float64 {
		v := strings.TrimSpace(getenv(key))
		if v == "" {
			return def
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			errs = append(errs, fmt.Errorf("%s: %q is not a number", key, v))
			return def
		}
		return f
	}
	d := devices.DefaultDriftConfig()
	d.Lambda = flt("DRIFT_LAMBDA", d.Lambda)
	d.L = flt("DRIFT_L", d.L)
	d.K = flt("DRIFT_K", d.K)
	d.H = flt("DRIFT_H", d.H)
	s := DriftSettings{Detectors: d, SigmaC: flt("DRIFT_SIGMA_C", devices.DefaultDriftSigmaC), UC: flt("DRIFT_U_C", devices.DefaultDriftUC)}
	if err := d.Validate(); err != nil {
		var p devices.Problems
		p.Merge(err)
		for _, f := range p.Err().(*devices.ValidationError).Fields {
			errs = append(errs, fmt.Errorf("%s: %s", "DRIFT_"+strings.ToUpper(strings.TrimPrefix(f.Field, "drift.")), f.Reason))
		}
	}
	if !(s.SigmaC > 0 && s.SigmaC <= 1) {
		errs = append(errs, fmt.Errorf("DRIFT_SIGMA_C: %v is not above 0 and at most 1 °C", s.SigmaC))
	}
	if !(s.UC > 0 && s.UC <= 1) {
		errs = append(errs, fmt.Errorf("DRIFT_U_C: %v is not above 0 and at most 1 °C", s.UC))
	}
	if v := strings.TrimSpace(getenv("DRIFT_SIGMA_BY_PROFILE")); v != "" {
		s.SigmaByProfile = map[string]float64{}
		for _, entry := range strings.Split(v, ",") {
			code, num, ok := strings.Cut(strings.TrimSpace(entry), "=")
			code = strings.TrimSpace(code)
			f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
			switch {
			case !ok || code == "":
				errs = append(errs, fmt.Errorf("DRIFT_SIGMA_BY_PROFILE: %q is not profile_code=sigma", entry))
			case err != nil || !(f > 0 && f <= 1):
				errs = append(errs, fmt.Errorf("DRIFT_SIGMA_BY_PROFILE: %s: %q is not a σ above 0 and at most 1 °C", code, num))
			default:
				s.SigmaByProfile[code] = f
			}
		}
	}
	return s, errs
}

// LogValue logs the drift settings.
func (s DriftSettings) LogValue() slog.Value {
	codes := make([]string, 0, len(s.SigmaByProfile))
	for c := range s.SigmaByProfile {
		codes = append(codes, c+"="+strconv.FormatFloat(s.SigmaByProfile[c], 'g', -1, 64))
	}
	slices.Sort(codes)
	return slog.GroupValue(
		slog.Float64("lambda", s.Detectors.Lambda), slog.Float64("l", s.Detectors.L),
		slog.Float64("k", s.Detectors.K), slog.Float64("h", s.Detectors.H),
		slog.Float64("sigma_c", s.SigmaC), slog.String("sigma_by_profile", strings.Join(codes, ",")),
		slog.Float64("u_c", s.UC))
}
