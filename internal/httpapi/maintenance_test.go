package httpapi_test

import (
	"slices"
	"testing"
	"time"
)

// TestMaintenanceAPI: the checklist, a contract, a proposal the firm may
// not accept itself, the operator's acceptance putting the 30-day cycle
// with weekly remote checks in force, refusals naming the field or the
// reason, and the regulator's revocation.
func TestMaintenanceAPI(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a)
		all := a.must(req{method: "GET", path: "/api/v1/maintenance/checklist", token: w.firmTok}, 200).json(t)
		if n := len(all["items"].([]any)); n != 76 {
			t.Errorf("annual checklist: %d items, want 76", n)
		}
		remote := a.must(req{method: "GET", path: "/api/v1/maintenance/checklist?category=half_monthly&remote=true", token: w.adminA}, 200).json(t)
		for _, it := range remote["items"].([]any) {
			if m := it.(map[string]any); m["remote"] != true || m["category"] != "half_monthly" {
				t.Errorf("remote checklist item %v", m)
			}
		}
		a.must(req{method: "GET", path: "/api/v1/maintenance/checklist?category=monthly", token: w.adminA}, 422)

		contract, agreement := a.contract(w)
		c := a.must(req{method: "GET", path: "/api/v1/contracts/" + contract, token: w.firmTok}, 200).json(t)
		if c["onsite_cycle_days"] != float64(15) || c["cycle_today"].(map[string]any)["agreement_id"] != nil {
			t.Errorf("contract before acceptance: %v", c)
		}
		sh, _ := time.LoadLocation("Asia/Shanghai")
		today := time.Now().In(sh)
		bad := a.must(req{method: "POST", path: "/api/v1/agreements", token: w.firmTok, body: map[string]any{"contract_id": contract,
			"onsite_cycle_days": 60, "remote_interval_days": 70, "valid_from": today.AddDate(0, 0, 200).Format(time.DateOnly),
			"valid_to": today.AddDate(0, 0, 100).Format(time.DateOnly), "reason": ""}}, 422).fields(t)
		for _, f := range []string{"onsite_cycle_days", "remote_interval_days", "valid_to", "reason"} {
			if !slices.Contains(bad, f) {
				t.Errorf("bad proposal: errors %v do not name %s", bad, f)
			}
		}
		if code := a.must(req{method: "POST", path: "/api/v1/agreements", token: w.firmTok, body: map[string]any{"contract_id": contract,
			"onsite_cycle_days": 20, "remote_interval_days": 5, "valid_from": today.AddDate(0, 0, 10).Format(time.DateOnly),
			"valid_to": today.AddDate(0, 0, 20).Format(time.DateOnly), "reason": "again"}}, 409).code(t); code != "overlapping_agreement" {
			t.Errorf("overlapping proposal: %s", code)
		}
		a.must(req{method: "POST", path: "/api/v1/agreements/" + agreement + "/accept", token: w.firmTok}, 403)
		acc := a.must(req{method: "POST", path: "/api/v1/agreements/" + agreement + "/accept", token: w.memberA,
			header: map[string]string{"If-Match": `"1"`}}, 200).json(t)
		if acc["state"] != "accepted" {
			t.Errorf("accepted: %v", acc)
		}
		cyc := a.must(req{method: "GET", path: "/api/v1/contracts/" + contract, token: w.adminA}, 200).json(t)["cycle_today"].(map[string]any)
		if cyc["onsite_cycle_days"] != float64(30) || cyc["remote_interval_days"] != float64(7) || cyc["agreement_id"] != agreement {
			t.Errorf("cycle in force after acceptance: %v", cyc)
		}
		if ids := a.must(req{method: "GET", path: "/api/v1/agreements?state=accepted", token: w.firmTok}, 200).ids(t); !slices.Equal(ids, []string{agreement}) {
			t.Errorf("the firm's accepted agreements: %v", ids)
		}
		a.must(req{method: "POST", path: "/api/v1/agreements/" + agreement + "/revoke", token: w.reg, body: map[string]any{}}, 422)
		rev := a.must(req{method: "POST", path: "/api/v1/agreements/" + agreement + "/revoke", token: w.reg,
			body: map[string]any{"reason": "fault reports rising"}}, 200).json(t)
		if rev["state"] != "revoked" || rev["state_reason"] != "fault reports rising" {
			t.Errorf("revoked: %v", rev)
		}
		a.must(req{method: "POST", path: "/api/v1/agreements/" + agreement + "/accept", token: w.adminA}, 409)
		end := a.must(req{method: "POST", path: "/api/v1/contracts/" + contract + "/end", token: w.adminA,
			body: map[string]any{"reason": "firm replaced"}}, 200).json(t)
		if end["ends_on"] != today.Format(time.DateOnly) {
			t.Errorf("ended contract: %v", end)
		}
		if n := len(a.must(req{method: "GET", path: "/api/v1/audit?resource=cycle_agreement", token: w.reg}, 200).ids(t)); n != 3 {
			t.Errorf("audit events on agreements: %d, want 3 (propose, accept, revoke)", n)
		}
	})
}
