package httpapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
)

// TestThresholdAlertsAPI: lift telemetry beyond the default levelling
// bound raises a threshold alert that the lift's firm lists with
// ?kind=threshold and acknowledges; another firm and another operator do
// not see it.
func TestThresholdAlertsAPI(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a)
		now := time.Now().UTC()
		msgs := []devices.Message{
			{Kind: devices.MessageTelemetry, Telemetry: &devices.Telemetry{DeviceID: w.elevA, Seq: 1, TS: now.Add(-time.Minute),
				Metrics: map[string]float64{"leveling_error_mm": 3}}},
			{Kind: devices.MessageTelemetry, Telemetry: &devices.Telemetry{DeviceID: w.elevA, Seq: 2, TS: now,
				Metrics: map[string]float64{"leveling_error_mm": 12.5, "door_cycles": 120311}}},
		}
		if _, err := a.st.SaveMessages(context.Background(), msgs, now); err != nil {
			t.Fatal(err)
		}
		ids := a.must(req{method: "GET", path: "/api/v1/alerts?kind=threshold", token: w.firmTok}, 200).ids(t)
		if len(ids) != 1 {
			t.Fatalf("threshold alerts the firm lists: %v, want 1", ids)
		}
		al := a.must(req{method: "GET", path: "/api/v1/alerts/" + ids[0], token: w.firmTok}, 200).json(t)
		if al["kind"] != "threshold" || al["device_id"] != w.elevA || al["state"] != "open" || al["evidence"] != float64(1) ||
			!strings.Contains(al["detail"].(string), "leveling_error_mm 12.5 is above 10") {
			t.Errorf("threshold alert = %v", al)
		}
		otherFirm := a.org(w.reg, "Other lift firm", "maintenance_firm")
		otherTok, _ := a.token(w.reg, otherFirm, "admin")
		for _, tok := range []string{otherTok, w.adminB} {
			if ids := a.must(req{method: "GET", path: "/api/v1/alerts?kind=threshold", token: tok}, 200).ids(t); len(ids) != 0 {
				t.Errorf("another tenant lists %v", ids)
			}
			a.must(req{method: "GET", path: "/api/v1/alerts/" + al["id"].(string), token: tok}, 404)
		}
		a.must(req{method: "POST", path: "/api/v1/alerts/" + al["id"].(string) + "/acknowledge", token: w.firmTok}, 200)
	})
}
