package httpapi_test

import (
	"slices"
	"testing"
	"time"
)

// TestDeferralsAPI: the regulator declares an emergency deferral over
// HTTP; the ear thermometers in Shanghai due now move past the window and
// their tasks are cancelled; an operator may neither declare nor lift one;
// a replayed declaration creates nothing; lifting puts the dates back.
func TestDeferralsAPI(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a)
		sh, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			t.Fatal(err)
		}
		today := time.Now().In(sh)
		from, to := today.AddDate(0, 0, -1).Format(time.DateOnly), today.AddDate(0, 0, 30).Format(time.DateOnly)
		body := map[string]any{"name": "Emergency response", "reason": "level I public-health response",
			"types": []string{"ir_ear"}, "region_codes": []string{"310000"}, "window_from": from, "window_to": to, "extend_days": 60}

		a.must(req{method: "POST", path: "/api/v1/deferrals", token: w.adminA, body: body}, 403)
		if f := a.must(req{method: "POST", path: "/api/v1/deferrals", token: w.reg, body: map[string]any{"name": "x", "reason": "x",
			"window_from": from, "window_to": to, "colour": 1, "types": "ir_ear"}}, 422).fields(t); !slices.Equal(f, []string{"colour", "types"}) &&
			!slices.Equal(f, []string{"types", "colour"}) {
			t.Errorf("unknown field and wrong type: errors %v", f)
		}
		bad := a.must(req{method: "POST", path: "/api/v1/deferrals", token: w.reg, body: map[string]any{"name": "", "reason": "x",
			"window_from": "2027-02-01", "window_to": "2027-01-01", "types": []string{"ir_wrist"}, "extend_days": 400}}, 422).fields(t)
		for _, f := range []string{"name", "window_to", "types[0]", "extend_days"} {
			if !slices.Contains(bad, f) {
				t.Errorf("bad declaration: errors %v do not name %s", bad, f)
			}
		}
		a.must(req{method: "POST", path: "/api/v1/deferrals", token: w.reg, body: map[string]any{"name": "x", "reason": "x",
			"window_from": from, "window_to": to, "venue_ids": []string{"0195a2f1-0000-7000-8000-000000000000"}}}, 422)

		key := map[string]string{"Idempotency-Key": "deferral-2026-emergency"}
		r := a.must(req{method: "POST", path: "/api/v1/deferrals", token: w.reg, body: body, header: key}, 201)
		d := r.json(t)
		id := d["id"].(string)
		effect := d["effect"].(map[string]any)
		// thermA and thermB: ear thermometers in 310115, never
		// calibrated, so due at registration (today); thermAUnassigned is
		// overdue since before the window. Both tasks were in planned
		// visits, which are left empty.
		if d["state"] != "active" || effect["thermometers_deferred"] != float64(2) || effect["tasks_cancelled"] != float64(2) ||
			effect["visits_cancelled"] != float64(2) || d["thermometers_deferred"] != float64(2) {
			t.Errorf("declared: %v", d)
		}
		again := a.must(req{method: "POST", path: "/api/v1/deferrals", token: w.reg, body: body, header: key}, 201)
		if again.Header.Get("Idempotent-Replayed") != "true" || again.str(t, "id") != id {
			t.Errorf("replay: %q, id %s", again.Header.Get("Idempotent-Replayed"), again.str(t, "id"))
		}
		if n := len(a.must(req{method: "GET", path: "/api/v1/deferrals", token: w.reg}, 200).ids(t)); n != 1 {
			t.Errorf("deferrals after a replay: %d, want 1", n)
		}

		th := a.must(req{method: "GET", path: "/api/v1/thermometers/" + w.thermA, token: w.adminA}, 200).json(t)
		due, _ := time.Parse(time.RFC3339, th["next_due_at"].(string))
		if th["deferral_id"] != id || th["normal_due_at"] == nil || due.In(sh).Format(time.DateOnly) !=
			today.AddDate(0, 0, 90).Format(time.DateOnly) || th["due_state"] != "ok" {
			t.Errorf("deferred thermometer: %v", th)
		}
		if task := a.must(req{method: "GET", path: "/api/v1/tasks/" + w.taskA, token: w.instTok}, 200).json(t); task["state"] != "cancelled" {
			t.Errorf("thermA's task after the deferral: %v", task["state"])
		}
		if ids := a.must(req{method: "GET", path: "/api/v1/thermometers?due_before=" + today.AddDate(0, 0, 30).UTC().Format(time.RFC3339),
			token: w.adminA}, 200).ids(t); slices.Contains(ids, w.thermA) {
			t.Errorf("a deferred thermometer is still listed as due within 30 days")
		}
		// Everyone sees a deferral without a venue scope, with the count
		// of their own devices it holds.
		dB := a.must(req{method: "GET", path: "/api/v1/deferrals/" + id, token: w.adminB}, 200).json(t)
		if dB["thermometers_deferred"] != float64(1) {
			t.Errorf("operator B's view: %v", dB)
		}
		a.must(req{method: "GET", path: "/api/v1/deferrals?state=lifted", token: w.adminB}, 200)
		a.must(req{method: "GET", path: "/api/v1/deferrals?state=over", token: w.adminB}, 422)

		a.must(req{method: "POST", path: "/api/v1/deferrals/" + id + "/lift", token: w.adminA, body: map[string]any{"reason": "x"}}, 403)
		if f := a.must(req{method: "POST", path: "/api/v1/deferrals/" + id + "/lift", token: w.reg, body: map[string]any{}}, 422).fields(t); !slices.Contains(f, "reason") {
			t.Errorf("lift without a reason: %v", f)
		}
		a.must(req{method: "POST", path: "/api/v1/deferrals/" + id + "/lift", token: w.reg, body: map[string]any{"reason": "x"},
			header: map[string]string{"If-Match": `"7"`}}, 412)
		l := a.must(req{method: "POST", path: "/api/v1/deferrals/" + id + "/lift", token: w.reg,
			body: map[string]any{"reason": "response ended", "version": 1}}, 200).json(t)
		if l["state"] != "lifted" || l["effect"].(map[string]any)["thermometers_restored"] != float64(2) || l["lift_reason"] != "response ended" {
			t.Errorf("lifted: %v", l)
		}
		back := a.must(req{method: "GET", path: "/api/v1/thermometers/" + w.thermA, token: w.adminA}, 200).json(t)
		if back["deferral_id"] != nil || back["normal_due_at"] != nil || back["next_due_at"] != th["normal_due_at"] {
			t.Errorf("after lifting: %v (normal was %v)", back, th["normal_due_at"])
		}
		a.must(req{method: "POST", path: "/api/v1/deferrals/" + id + "/lift", token: w.reg, body: map[string]any{"reason": "again"}}, 409)
		if n := len(a.must(req{method: "GET", path: "/api/v1/audit?resource=deferral", token: w.reg}, 200).ids(t)); n != 2 {
			t.Errorf("audit events on the deferral: %d, want 2", n)
		}
	})
}
