package config

import (
	"strings"
	"testing"
)

func TestLoadDrift(t *testing.T) {
	c, err := Load(env(map[string]string{"DRIFT_LAMBDA": "0.1", "DRIFT_L": "2.7", "DRIFT_K": "1", "DRIFT_H": "5",
		"DRIFT_SIGMA_C": "0.08", "DRIFT_U_C": "0.04", "DRIFT_SIGMA_BY_PROFILE": "jjg1164_ear=0.05, jjf1107_forehead = 0.1"}))
	if err != nil {
		t.Fatal(err)
	}
	d := c.Drift
	if d.Detectors.Lambda != 0.1 || d.Detectors.L != 2.7 || d.Detectors.K != 1 || d.Detectors.H != 5 || d.SigmaC != 0.08 || d.UC != 0.04 ||
		len(d.SigmaByProfile) != 2 || d.SigmaByProfile["jjf1107_forehead"] != 0.1 || d.Detectors.MinForecastPoints != 5 {
		t.Errorf("drift settings = %+v", d)
	}
	def, err := Load(env(nil))
	if err != nil || def.Drift.Detectors.Lambda != 0.2 || def.Drift.SigmaC != 0.05 || def.Drift.SigmaByProfile != nil {
		t.Errorf("defaults = %+v, %v", def.Drift, err)
	}
	for key, val := range map[string]string{"DRIFT_LAMBDA": "1.5", "DRIFT_L": "x", "DRIFT_H": "0", "DRIFT_K": "-1", "DRIFT_SIGMA_C": "0",
		"DRIFT_U_C": "NaN", "DRIFT_SIGMA_BY_PROFILE": "jjg1164_ear"} {
		_, err := Load(env(map[string]string{key: val}))
		if err == nil || !strings.Contains(err.Error(), key+":") {
			t.Errorf("%s=%s: %v, want an error naming %s", key, val, err, key)
		}
	}
	_, err = Load(env(map[string]string{"DRIFT_SIGMA_BY_PROFILE": "a=0.1,b=2"}))
	if err == nil || !strings.Contains(err.Error(), "DRIFT_SIGMA_BY_PROFILE: b:") {
		t.Errorf("a σ of 2 °C: %v", err)
	}
}
