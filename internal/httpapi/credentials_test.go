package httpapi_test

import (
	"strings"
	"testing"
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
