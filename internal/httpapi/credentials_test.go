package httpapi_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
)

// TestDeviceCredentialsAPI: the operator issues a thermometer's MQTT
// secret (once, not cached), reads its metadata without the secret,
// rotates and revokes it; the institute that sees the device may not.
func TestDeviceCredentialsAPI(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a)
		path := "/api/v1/devices/" + w.thermA + "/credentials"
		a.must(req{method: "POST", path: path, token: w.instTok}, 403)
		a.must(req{method: "GET", path: path, token: w.adminA}, 404) // none issued yet
		r := a.must(req{method: "POST", path: path, token: w.memberA}, 201)
		cred := r.json(t)
		if !strings.HasPrefix(cred["secret"].(string), "cds_") || cred["username"] != w.thermA || r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("issued: %v (Cache-Control %q)", cred, r.Header.Get("Cache-Control"))
		}
		got := a.must(req{method: "GET", path: path, token: w.reg}, 200).json(t)
		if _, leaked := got["secret"]; leaked || got["kind"] != "thermometer" {
			t.Errorf("metadata: %v", got)
		}
		again := a.must(req{method: "POST", path: path, token: w.adminA}, 201).json(t)
		if again["secret"] == cred["secret"] || again["rotations"] != float64(1) {
			t.Errorf("rotated: %v", again)
		}
		rev := a.must(req{method: "POST", path: path + "/revoke", token: w.adminA}, 200).json(t)
		if rev["revoked_at"] == nil {
			t.Errorf("revoked: %v", rev)
		}
		a.must(req{method: "POST", path: "/api/v1/devices/" + w.elevA + "/credentials", token: w.firmTok}, 403)
		a.must(req{method: "POST", path: "/api/v1/devices/not-a-device/credentials", token: w.adminA}, 404)
	})
}

// TestReadingsAPI: an empty history reads as empty pages and buckets for
// those who see the device; query mistakes name the parameter.
func TestReadingsAPI(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a)
		path := "/api/v1/devices/" + w.thermA + "/readings"
		for _, tok := range []string{w.adminA, w.instTok, w.reg} {
			if ids := a.must(req{method: "GET", path: path + "?kind=checks&from=2026-01-01", token: tok}, 200).json(t)["items"].([]any); len(ids) != 0 {
				t.Errorf("readings of a silent device: %v", ids)
			}
		}
		b := a.must(req{method: "GET", path: path + "/buckets?bucket=1h&from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z", token: w.instTok}, 200).json(t)
		if b["bucket"] != "1h0m0s" || len(b["buckets"].([]any)) != 0 {
			t.Errorf("buckets = %v", b)
		}
		for q, field := range map[string]string{"?kind=photos": "kind", "?from=yesterday": "from", "/buckets?bucket=daily": "bucket",
			"/buckets?bucket=1s&from=2026-01-01&to=2026-12-31": "bucket"} {
			if f := a.must(req{method: "GET", path: path + q, token: w.adminA}, 422).fields(t); len(f) == 0 || f[0] != field {
				t.Errorf("%s: errors %v, want %s", q, f, field)
			}
		}
		a.must(req{method: "GET", path: "/api/v1/devices/" + w.elevA + "/readings", token: w.instTok}, 404)

		// The CSV export: the header alone, then the checks oldest first.
		header := strings.Join(devices.ReadingColumns, ",") + "\n"
		r := a.must(req{method: "GET", path: path + "/export", token: w.reg}, 200)
		if string(r.Body) != header || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") ||
			!strings.Contains(r.Header.Get("Content-Disposition"), "readings-"+w.thermA+".csv") {
			t.Errorf("export of a silent device: %q (%v)", r.Body, r.Header)
		}
		at := time.Now().UTC().Truncate(time.Second)
		var msgs []devices.Message
		for i := range 3 {
			msgs = append(msgs, devices.Message{Kind: devices.MessageChecks, Check: &devices.CheckReading{DeviceID: w.thermA, Seq: int64(30 - i),
				TS: at.Add(time.Duration(i) * time.Minute), ReferenceC: 37, ValueC: 37 + float64(i)/10, Mode: devices.ModeCalibration}})
		}
		if _, err := a.st.SaveMessages(context.Background(), msgs, at.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		body := string(a.must(req{method: "GET", path: path + "/export?kind=checks&from=" + at.Add(30*time.Second).Format(time.RFC3339), token: w.instTok}, 200).Body)
		lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
		if len(lines) != 3 || lines[0]+"\n" != header || !strings.HasPrefix(lines[1], w.thermA+",29,checks,") ||
			!strings.Contains(lines[2], ",37,37.2,0.2") {
			t.Errorf("export from the second check on:\n%s", body)
		}
		if f := a.must(req{method: "GET", path: path + "/export?kind=photos", token: w.adminA}, 422).fields(t); len(f) == 0 || f[0] != "kind" {
			t.Errorf("export ?kind=photos: errors %v", f)
		}
		a.must(req{method: "GET", path: "/api/v1/devices/" + w.elevA + "/readings/export", token: w.instTok}, 404)
	})
}

// TestAlertsAPI: drift on a thermometer's checks raises an alert its
// operator and institute see; a passing calibration resolves it.
func TestAlertsAPI(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a)
		id := a.alert(w)
		al := a.must(req{method: "GET", path: "/api/v1/alerts/" + id, token: w.instTok}, 200).json(t)
		if al["state"] != "open" || al["kind"] != "drift" || al["evidence"] != float64(1) {
			t.Errorf("alert = %v", al)
		}
		a.must(req{method: "GET", path: "/api/v1/alerts?kind=sneeze", token: w.adminA}, 422)
		a.must(req{method: "POST", path: "/api/v1/alerts/" + id + "/acknowledge", token: w.reg}, 403)
		a.must(req{method: "POST", path: "/api/v1/alerts/" + id + "/acknowledge", token: w.instTok}, 200)
		a.must(req{method: "POST", path: "/api/v1/alerts/" + id + "/acknowledge", token: w.adminA}, 409)
		a.must(req{method: "POST", path: "/api/v1/alerts/" + id + "/resolve", token: w.adminA, body: map[string]any{}}, 422)
		if n := len(a.must(req{method: "GET", path: "/api/v1/audit?resource=alert&resource_id=" + id, token: w.reg}, 200).ids(t)); n != 1 {
			t.Errorf("audit events of the alert: %d, want 1", n)
		}
		a.result(w)
		al = a.must(req{method: "GET", path: "/api/v1/alerts/" + id, token: w.adminA}, 200).json(t)
		if al["state"] != "resolved" || !strings.HasPrefix(al["resolved_reason"].(string), "passing calibration CAL-") {
			t.Errorf("after a passing calibration: %v", al)
		}
	})
}

// TestDriftAPI: a thermometer's detectors as they stand: the drifting
// checks show the EWMA beyond its limit against the configured σ; a
// passing calibration resets them and gives the device its own σ and U.
func TestDriftAPI(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a)
		path := "/api/v1/devices/" + w.thermA + "/drift"
		d := a.must(req{method: "GET", path: path, token: w.adminA}, 200).json(t)
		if d["checks"] != float64(0) || d["sigma_c"] != 0.05 || d["forecast"].(map[string]any)["fit"] != nil {
			t.Errorf("drift of a thermometer with no checks = %v", d)
		}
		a.alert(w)
		d = a.must(req{method: "GET", path: path, token: w.instTok}, 200).json(t)
		if d["checks"] != float64(3) || d["ewma_c"].(float64) <= d["ewma_limit_c"].(float64) || d["params_source"] != "configured defaults" ||
			math.Abs(d["acceptance_limit_c"].(float64)-0.15) > 1e-9 {
			t.Errorf("drift after three +0.1 °C checks = %v", d)
		}
		a.result(w)
		d = a.must(req{method: "GET", path: path, token: w.reg}, 200).json(t)
		if d["checks"] != float64(0) || d["reset_at"] == nil || !strings.Contains(d["params_source"].(string), "passing calibration CAL-") ||
			math.Abs(d["target_error_c"].(float64)-0.05) > 1e-9 {
			t.Errorf("drift after a passing calibration = %v", d)
		}
		// The calibration left thermA reading 0.05 °C high at 37 °C: checks
		// showing that same bias are not drift (the detectors aim at it).
		var msgs []devices.Message
		for i := range 3 {
			msgs = append(msgs, devices.Message{Kind: devices.MessageChecks, Check: &devices.CheckReading{DeviceID: w.thermA, Seq: int64(11 + i),
				TS: time.Now().UTC().Add(time.Duration(5+i) * time.Second), ReferenceC: 37, ValueC: 37.05, Mode: devices.ModeCalibration}})
		}
		if _, err := a.st.SaveMessages(context.Background(), msgs, time.Now()); err != nil {
			t.Fatal(err)
		}
		d = a.must(req{method: "GET", path: path, token: w.adminA}, 200).json(t)
		if d["checks"] != float64(3) || math.Abs(d["ewma_c"].(float64)) > 1e-9 || d["cusum_high_c"] != float64(0) {
			t.Errorf("drift after three checks at the calibrated bias = %v", d)
		}
		if ids := a.must(req{method: "GET", path: "/api/v1/alerts?device_id=" + w.thermA + "&kind=drift&state=open", token: w.adminA}, 200).ids(t); len(ids) != 0 {
			t.Errorf("open drift alerts after checks at the calibrated bias: %v", ids)
		}
		a.must(req{method: "GET", path: "/api/v1/devices/" + w.elevA + "/drift", token: w.adminA}, 404)
		a.must(req{method: "GET", path: "/api/v1/devices/not-a-uuid/drift", token: w.adminA}, 404)
	})
}
