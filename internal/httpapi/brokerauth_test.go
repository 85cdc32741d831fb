package httpapi_test

import (
	"testing"

	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
)

// TestBrokerHooks: an external broker's auth and ACL hooks get calibd's
// device decisions with the configured token, nothing without it, and
// "ignore" for users that are not devices.
func TestBrokerHooks(t *testing.T) {
	const hook = "broker-hook-token-0123456789abcdef0123"
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		cfg := defaultCfg
		cfg.BrokerAuthToken = hook
		a := newAPI(t, st, cfg)
		w := newWorld(t, a)
		secret := a.must(req{method: "POST", path: "/api/v1/devices/" + w.thermA + "/credentials", token: w.adminA}, 201).str(t, "secret")
		auth := func(body map[string]any) string {
			return a.must(req{method: "POST", path: "/broker/auth", token: hook, body: body}, 200).str(t, "result")
		}
		acl := func(body map[string]any) string {
			return a.must(req{method: "POST", path: "/broker/acl", token: hook, body: body}, 200).str(t, "result")
		}
		for _, tc := range []struct {
			got, want string
		}{
			{auth(map[string]any{"username": w.thermA, "password": secret, "clientid": "t1"}), "allow"},
			{auth(map[string]any{"username": w.thermA, "password": secret + "x"}), "deny"},
			{auth(map[string]any{"username": w.thermB, "password": secret}), "deny"},
			{auth(map[string]any{"username": "calibd-ingest", "password": "whatever"}), "ignore"},
			{acl(map[string]any{"username": w.thermA, "topic": "calibd/v1/devices/" + w.thermA + "/checks", "action": "publish"}), "allow"},
			{acl(map[string]any{"username": w.thermA, "topic": "calibd/v1/devices/" + w.thermB + "/checks", "action": "publish"}), "deny"},
			{acl(map[string]any{"username": w.thermA, "topic": "calibd/v1/devices/" + w.thermA + "/checks", "action": "subscribe"}), "deny"},
			{acl(map[string]any{"username": w.thermA, "topic": "calibd/v1/devices/#", "action": "publish"}), "deny"},
			{acl(map[string]any{"username": "calibd-ingest", "topic": "calibd/v1/devices/#", "action": "subscribe"}), "ignore"},
		} {
			if tc.got != tc.want {
				t.Errorf("hook answered %q, want %q", tc.got, tc.want)
			}
		}
		a.must(req{method: "POST", path: "/broker/auth", token: "wrong", body: map[string]any{"username": w.thermA}}, 401)
		a.must(req{method: "POST", path: "/broker/auth", body: map[string]any{"username": w.thermA}}, 401)

		off := newAPI(t, st, defaultCfg)
		off.must(req{method: "POST", path: "/broker/acl", token: hook, body: map[string]any{"username": w.thermA}}, 404)
	})
}
