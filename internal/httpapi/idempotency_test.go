package httpapi_test

import (
	"strings"
	"testing"
)

// TestIdempotencyKey: a client that retries a create with the same
// Idempotency-Key and body gets the first answer again, marked as a
// replay, and nothing is created twice; the same key with another body is
// a 422 naming the header; a malformed key is a 400; another tenant's
// identical key creates its own object and learns nothing of the first.
func TestIdempotencyKey(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a)
		key := map[string]string{"Idempotency-Key": "8d0f6f2e-4c1b-4f0e-9d55-1f6a0b2c3d4e"}
		body := map[string]any{"venue_id": w.venueA, "type": "ir_forehead", "manufacturer": "Beurer",
			"model": "FT 90", "serial": "IDEM-1"}
		thermometerCount := func(tok, venue string) int {
			return len(a.must(req{method: "GET", path: "/api/v1/thermometers?venue_id=" + venue, token: tok}, 200).ids(t))
		}
		before := thermometerCount(w.adminA, w.venueA)

		first := a.must(req{method: "POST", path: "/api/v1/thermometers", token: w.adminA, body: body, header: key}, 201)
		if first.Header.Get("Idempotent-Replayed") != "" {
			t.Errorf("first request marked as replayed")
		}
		// The answer was lost; a member of the same organization's client
		// retries.
		again := a.must(req{method: "POST", path: "/api/v1/thermometers", token: w.memberA, body: body, header: key}, 201)
		if again.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("retry not marked Idempotent-Replayed: true; headers %v", again.Header)
		}
		if first.str(t, "id") != again.str(t, "id") || again.Header.Get("Location") != first.Header.Get("Location") {
			t.Errorf("retry answered %s (%s), first %s (%s)", again.str(t, "id"), again.Header.Get("Location"),
				first.str(t, "id"), first.Header.Get("Location"))
		}
		if got := thermometerCount(w.adminA, w.venueA); got != before+1 {
			t.Errorf("venue holds %d thermometers after a create and its retry, want %d", got, before+1)
		}

		// Same key, different body.
		other := map[string]any{"venue_id": w.venueA, "type": "ir_forehead", "manufacturer": "Beurer",
			"model": "FT 90", "serial": "IDEM-2"}
		r := a.must(req{method: "POST", path: "/api/v1/thermometers", token: w.adminA, body: other, header: key}, 422)
		if r.code(t) != "idempotency_key_reused" || !strings.Contains(strings.Join(r.fields(t), ","), "Idempotency-Key") {
			t.Errorf("key reuse answered %s: %s", r.code(t), r.Body)
		}

		// Operator B picks the same key for its own thermometer.
		bBody := map[string]any{"venue_id": w.venueB, "type": "ir_forehead", "manufacturer": "Beurer",
			"model": "FT 90", "serial": "IDEM-B"}
		rb := a.must(req{method: "POST", path: "/api/v1/thermometers", token: w.adminB, body: bBody, header: key}, 201)
		if rb.Header.Get("Idempotent-Replayed") != "" || rb.str(t, "id") == first.str(t, "id") {
			t.Errorf("B's create under A's key answered %s (replayed %q)", rb.Body, rb.Header.Get("Idempotent-Replayed"))
		}

		for _, bad := range []string{strings.Repeat("k", 256), "two words", "naïve"} {
			r := a.must(req{method: "POST", path: "/api/v1/venues", token: w.adminA, header: map[string]string{"Idempotency-Key": bad},
				body: map[string]any{"name": "V", "kind": "mall", "region_code": "310115", "time_zone": "Asia/Shanghai"}}, 400)
			if r.code(t) != "invalid_header" || !strings.Contains(strings.Join(r.fields(t), ","), "Idempotency-Key") {
				t.Errorf("key %.20q answered %s", bad, r.Body)
			}
		}

		// Imports: the retry reports the first import's count and adds none.
		csv := csvBody("type,manufacturer,model,serial", "ir_ear,Braun,IRT6520,IDEM-CSV-1", "ir_ear,Braun,IRT6520,IDEM-CSV-2")
		imp := req{method: "POST", path: "/api/v1/venues/" + w.venueA + "/thermometers/import", token: w.adminA,
			body: csvPayload(csv), header: map[string]string{"Idempotency-Key": "import-2026-11-25"}}
		n := thermometerCount(w.adminA, w.venueA)
		a.must(imp, 201)
		ri := a.must(imp, 201)
		if ri.Header.Get("Idempotent-Replayed") != "true" || ri.json(t)["created"] != float64(2) {
			t.Errorf("retried import answered %s (replayed %q)", ri.Body, ri.Header.Get("Idempotent-Replayed"))
		}
		if got := thermometerCount(w.adminA, w.venueA); got != n+2 {
			t.Errorf("venue holds %d thermometers after an import of 2 and its retry, want %d", got, n+2)
		}

		// Venues, organizations and elevators replay the same way.
		for _, c := range []struct {
			path, tok string
			body      map[string]any
		}{
			{"/api/v1/venues", w.adminA, map[string]any{"name": "Idem mall", "kind": "mall", "region_code": "310115", "time_zone": "Asia/Shanghai"}},
			{"/api/v1/organizations", w.reg, map[string]any{"name": "Idem institute", "kind": "metrology_institute"}},
			{"/api/v1/elevators", w.adminA, map[string]any{"venue_id": w.venueA, "registration_code": "IDEM-LIFT", "manufacturer": "Otis",
				"commissioning_date": "2015-06-30"}},
		} {
			h := map[string]string{"Idempotency-Key": "same-" + c.path}
			r1 := a.must(req{method: "POST", path: c.path, token: c.tok, body: c.body, header: h}, 201)
			r2 := a.must(req{method: "POST", path: c.path, token: c.tok, body: c.body, header: h}, 201)
			if r1.str(t, "id") != r2.str(t, "id") || r2.Header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("POST %s retried: first %s, retry %s", c.path, r1.str(t, "id"), r2.Body)
			}
		}

		// A token's secret is shown once, so a retried issue cannot replay it.
		th := map[string]string{"Idempotency-Key": "token-1"}
		tokBody := map[string]any{"name": "ci", "role": "member"}
		t1 := a.must(req{method: "POST", path: "/api/v1/organizations/" + w.opA + "/tokens", token: w.adminA, body: tokBody, header: th}, 201)
		t2 := a.must(req{method: "POST", path: "/api/v1/organizations/" + w.opA + "/tokens", token: w.adminA, body: tokBody, header: th}, 409)
		if t2.code(t) != "token_already_issued" || !strings.Contains(string(t2.Body), t1.str(t, "id")) || strings.Contains(string(t2.Body), t1.str(t, "token")) {
			t.Errorf("retried token issue answered %s", t2.Body)
		}
	})
}
