package httpapi_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
)

// tenancyCase is one request another tenant makes on the first tenant's
// objects; route is the gin route it exercises.
type tenancyCase struct {
	route string // "METHOD /path/:param"
	req   req
}

// exemptFromTenancy lists authenticated routes with no tenant-owned object
// to probe, and why.
var exemptFromTenancy = map[string]string{
	"GET /api/v1/me":                        "answers only about the caller's own token",
	"GET /api/v1/tolerance-profiles":        "shared reference data seeded from the governing documents",
	"GET /api/v1/tolerance-profiles/:code":  "shared reference data seeded from the governing documents",
	"GET /api/v1/organizations":             "list: checked by TestListsNeverLeak",
	"GET /api/v1/venues":                    "list: checked by TestListsNeverLeak",
	"GET /api/v1/thermometers":              "list: checked by TestListsNeverLeak",
	"GET /api/v1/elevators":                 "list: checked by TestListsNeverLeak",
	"GET /api/v1/audit":                     "list: checked by TestListsNeverLeak",
	"POST /api/v1/organizations":            "creates a new tenant; only the regulator may (TestRoles)",
	"POST /api/v1/venues":                   "creates the caller's own venue; no other tenant's id is involved",
	"GET /api/v1/tasks":                     "list: checked by TestListsNeverLeak",
	"GET /api/v1/visits":                    "list: checked by TestListsNeverLeak",
	"GET /api/v1/events":                    "list: checked by TestListsNeverLeak",
	"GET /api/v1/requests":                  "list: checked by TestListsNeverLeak",
	"GET /api/v1/feeds":                     "list: checked by TestListsNeverLeak (each organization sees its own feeds)",
	"GET /api/v1/standards":                 "list: checked by TestListsNeverLeak",
	"GET /api/v1/results":                   "list: checked by TestListsNeverLeak",
	"GET /api/v1/deferrals":                 "list: checked by TestListsNeverLeak",
	"GET /api/v1/contracts":                 "list: checked by TestListsNeverLeak",
	"GET /api/v1/alerts":                    "list: checked by TestListsNeverLeak",
	"GET /api/v1/dead-letters":              "list: checked by TestListsNeverLeak",
	"GET /api/v1/agreements":                "list: checked by TestListsNeverLeak",
	"GET /api/v1/lift-tasks":                "list: checked by TestListsNeverLeak",
	"GET /api/v1/lift-reports":              "list: checked by TestListsNeverLeak",
	"GET /api/v1/maintenance/checklist":     "shared reference data (TSG T5002 items), the same for every caller",
	"POST /api/v1/deferrals":                "the regulator's declaration over every tenant; others get 403 (TestDeferralsAPI)",
	"POST /api/v1/standards":                "registers the caller's own standard; non-institutes get 403 (TestResultsAPI)",
	"GET /api/v1/technicians":               "list: checked by TestListsNeverLeak",
	"POST /api/v1/technicians":              "registers the caller's own institute's technician; other kinds get 403 (TestTechniciansAPI)",
	"GET /api/v1/scheduler/jobs":            "the regulator's scheduler, not a tenant's object; others get 403 (TestSchedulerAPI)",
	"POST /api/v1/scheduler/jobs/:name/run": "the regulator's scheduler, not a tenant's object; others get 403 (TestSchedulerAPI)",
}

func tenancyCases(w *world) []tenancyCase {
	B := w.adminB
	v := map[string]any{"version": 1}
	var cases []tenancyCase
	// Technicians and their assignments, probed by operator B and by the
	// other institute.
	for _, tok := range []string{B, w.inst2Tok} {
		cases = append(cases,
			tenancyCase{"GET /api/v1/technicians/:id", req{method: "GET", path: "/api/v1/technicians/" + w.technicianA, token: tok}},
			tenancyCase{"PATCH /api/v1/technicians/:id", req{method: "PATCH", path: "/api/v1/technicians/" + w.technicianA, token: tok,
				body: map[string]any{"name": "x", "version": 1}}},
			tenancyCase{"POST /api/v1/technicians/:id/retire", req{method: "POST", path: "/api/v1/technicians/" + w.technicianA + "/retire", token: tok}},
			tenancyCase{"POST /api/v1/visits/:id/technicians", req{method: "POST", path: "/api/v1/visits/" + w.visitA + "/technicians", token: tok,
				body: map[string]any{"technician_ids": []string{}}}},
		)
	}
	return append(cases, []tenancyCase{
		{"GET /api/v1/organizations/:id", req{method: "GET", path: "/api/v1/organizations/" + w.opA, token: B}},
		{"PATCH /api/v1/organizations/:id", req{method: "PATCH", path: "/api/v1/organizations/" + w.opA, token: B, body: map[string]any{"name": "x", "version": 1}}},
		{"POST /api/v1/organizations/:id/retire", req{method: "POST", path: "/api/v1/organizations/" + w.opA + "/retire", token: B}},
		{"GET /api/v1/organizations/:id/tokens", req{method: "GET", path: "/api/v1/organizations/" + w.opA + "/tokens", token: B}},
		{"POST /api/v1/organizations/:id/tokens", req{method: "POST", path: "/api/v1/organizations/" + w.opA + "/tokens", token: B, body: map[string]any{"name": "x", "role": "admin"}}},
		{"POST /api/v1/organizations/:id/tokens/:token_id/revoke", req{method: "POST", path: "/api/v1/organizations/" + w.opA + "/tokens/" + w.tokenA + "/revoke", token: B}},
		{"GET /api/v1/venues/:id", req{method: "GET", path: "/api/v1/venues/" + w.venueA, token: B}},
		{"PATCH /api/v1/venues/:id", req{method: "PATCH", path: "/api/v1/venues/" + w.venueA, token: B, body: map[string]any{"name": "x", "version": 1}}},
		{"POST /api/v1/venues/:id/retire", req{method: "POST", path: "/api/v1/venues/" + w.venueA + "/retire", token: B, body: v}},
		{"POST /api/v1/venues/:id/thermometers/import", req{method: "POST", path: "/api/v1/venues/" + w.venueA + "/thermometers/import", token: B,
			body: csvPayload(csvBody("type,manufacturer,model,serial", "ir_ear,X,Y,Z"))}},
		{"GET /api/v1/venues/:id/thermometers/export", req{method: "GET", path: "/api/v1/venues/" + w.venueA + "/thermometers/export", token: B}},
		{"POST /api/v1/venues/:id/elevators/import", req{method: "POST", path: "/api/v1/venues/" + w.venueA + "/elevators/import", token: B,
			body: csvPayload(csvBody("registration_code,manufacturer", "LIFT-X,Otis"))}},
		{"GET /api/v1/venues/:id/elevators/export", req{method: "GET", path: "/api/v1/venues/" + w.venueA + "/elevators/export", token: B}},
		{"POST /api/v1/thermometers", req{method: "POST", path: "/api/v1/thermometers", token: B,
			body: map[string]any{"venue_id": w.venueA, "type": "ir_ear", "manufacturer": "X", "model": "Y", "serial": "Z"}}},
		{"GET /api/v1/thermometers/:id", req{method: "GET", path: "/api/v1/thermometers/" + w.thermA, token: B}},
		{"PATCH /api/v1/thermometers/:id", req{method: "PATCH", path: "/api/v1/thermometers/" + w.thermA, token: B, body: map[string]any{"location_note": "x", "version": 1}}},
		{"POST /api/v1/thermometers/:id/retire", req{method: "POST", path: "/api/v1/thermometers/" + w.thermA + "/retire", token: B}},
		{"POST /api/v1/elevators", req{method: "POST", path: "/api/v1/elevators", token: B,
			body: map[string]any{"venue_id": w.venueA, "registration_code": "LIFT-Z", "manufacturer": "Otis"}}},
		{"GET /api/v1/elevators/:id", req{method: "GET", path: "/api/v1/elevators/" + w.elevA, token: B}},
		{"PATCH /api/v1/elevators/:id", req{method: "PATCH", path: "/api/v1/elevators/" + w.elevA, token: B, body: map[string]any{"model": "x", "version": 1}}},
		{"POST /api/v1/elevators/:id/retire", req{method: "POST", path: "/api/v1/elevators/" + w.elevA + "/retire", token: B}},
		{"GET /api/v1/tasks/:id", req{method: "GET", path: "/api/v1/tasks/" + w.taskA, token: B}},
		{"GET /api/v1/visits/:id", req{method: "GET", path: "/api/v1/visits/" + w.visitA, token: B}},
		{"GET /api/v1/events/:id", req{method: "GET", path: "/api/v1/events/" + w.eventA, token: B}},
		{"POST /api/v1/requests", req{method: "POST", path: "/api/v1/requests", token: B, body: map[string]any{"venue_id": w.venueA,
			"thermometer_ids": []string{w.thermA}, "reason": "x", "window_from": "2026-12-01", "window_to": "2026-12-02"}}},
		{"GET /api/v1/requests/:id", req{method: "GET", path: "/api/v1/requests/" + w.requestA, token: B}},
		{"POST /api/v1/feeds", req{method: "POST", path: "/api/v1/feeds", token: B, body: map[string]any{"kind": "venue", "subject_id": w.venueA, "name": "x"}}},
		{"GET /api/v1/standards/:id", req{method: "GET", path: "/api/v1/standards/" + w.standardA, token: B}},
		{"POST /api/v1/standards/:id/flag-out-of-tolerance", req{method: "POST", path: "/api/v1/standards/" + w.standardA + "/flag-out-of-tolerance", token: B, body: map[string]any{"reason": "x"}}},
		{"POST /api/v1/results", req{method: "POST", path: "/api/v1/results", token: B, body: map[string]any{"task_id": w.taskA, "standard_id": w.standardA,
			"performed_at": "2026-01-01T00:00:00Z", "mode": "calibration", "ambient": map[string]any{"temp_c": 23, "rh_percent": 50}, "points": []any{}}}},
		{"GET /api/v1/results/:id", req{method: "GET", path: "/api/v1/results/" + w.resultA, token: B}},
		{"POST /api/v1/results/:id/revisions", req{method: "POST", path: "/api/v1/results/" + w.resultA + "/revisions", token: B, body: map[string]any{"standard_id": w.standardA,
			"performed_at": "2026-01-01T00:00:00Z", "mode": "calibration", "correction_reason": "x", "points": []any{}}}},
		{"GET /api/v1/results/:id/certificate", req{method: "GET", path: "/api/v1/results/" + w.resultA + "/certificate", token: B}},
		{"GET /api/v1/results/:id/certificate.pdf", req{method: "GET", path: "/api/v1/results/" + w.resultA + "/certificate.pdf", token: B}},
		{"POST /api/v1/tasks/:id/cancel", req{method: "POST", path: "/api/v1/tasks/" + w.taskA + "/cancel", token: B, body: map[string]any{"reason": "x"}}},
		{"POST /api/v1/contracts", req{method: "POST", path: "/api/v1/contracts", token: B, body: map[string]any{"elevator_id": w.elevA,
			"firm_id": w.firm, "starts_on": "2026-01-01"}}},
		{"GET /api/v1/contracts/:id", req{method: "GET", path: "/api/v1/contracts/" + w.contractA, token: B}},
		{"POST /api/v1/contracts/:id/end", req{method: "POST", path: "/api/v1/contracts/" + w.contractA + "/end", token: B, body: map[string]any{"reason": "x"}}},
		{"POST /api/v1/agreements", req{method: "POST", path: "/api/v1/agreements", token: B, body: map[string]any{"contract_id": w.contractA,
			"onsite_cycle_days": 30, "remote_interval_days": 7, "valid_from": "2026-01-01", "valid_to": "2026-02-01", "reason": "x"}}},
		{"GET /api/v1/agreements/:id", req{method: "GET", path: "/api/v1/agreements/" + w.agreementA, token: B}},
		{"POST /api/v1/agreements/:id/accept", req{method: "POST", path: "/api/v1/agreements/" + w.agreementA + "/accept", token: B}},
		{"POST /api/v1/agreements/:id/reject", req{method: "POST", path: "/api/v1/agreements/" + w.agreementA + "/reject", token: B, body: map[string]any{"reason": "x"}}},
		{"POST /api/v1/agreements/:id/revoke", req{method: "POST", path: "/api/v1/agreements/" + w.agreementA + "/revoke", token: B, body: map[string]any{"reason": "x"}}},
		{"GET /api/v1/lift-tasks/:id", req{method: "GET", path: "/api/v1/lift-tasks/" + w.liftTaskA, token: B}},
		{"POST /api/v1/lift-reports", req{method: "POST", path: "/api/v1/lift-reports", token: B, body: map[string]any{"kind": "onsite",
			"elevator_id": w.elevA, "category": "half_monthly", "performed_at": "2026-01-01T00:00:00Z", "technician": "x", "items": []any{}}}},
		{"GET /api/v1/lift-reports/:id", req{method: "GET", path: "/api/v1/lift-reports/" + w.liftReportA, token: B}},
		{"POST /api/v1/lift-reports/:id/countersign", req{method: "POST", path: "/api/v1/lift-reports/" + w.liftReportA + "/countersign", token: B}},
		{"POST /api/v1/devices/:id/credentials", req{method: "POST", path: "/api/v1/devices/" + w.thermA + "/credentials", token: B}},
		{"GET /api/v1/devices/:id/credentials", req{method: "GET", path: "/api/v1/devices/" + w.elevA + "/credentials", token: B}},
		{"GET /api/v1/alerts/:id", req{method: "GET", path: "/api/v1/alerts/" + w.alertA, token: B}},
		{"POST /api/v1/alerts/:id/acknowledge", req{method: "POST", path: "/api/v1/alerts/" + w.alertA + "/acknowledge", token: B}},
		{"POST /api/v1/alerts/:id/resolve", req{method: "POST", path: "/api/v1/alerts/" + w.alertA + "/resolve", token: B, body: map[string]any{"reason": "x"}}},
		{"GET /api/v1/devices/:id/readings", req{method: "GET", path: "/api/v1/devices/" + w.thermA + "/readings", token: B}},
		{"GET /api/v1/devices/:id/readings/buckets", req{method: "GET", path: "/api/v1/devices/" + w.elevA + "/readings/buckets", token: B}},
		{"GET /api/v1/devices/:id/readings/export", req{method: "GET", path: "/api/v1/devices/" + w.thermA + "/readings/export", token: B}},
		{"GET /api/v1/devices/:id/drift", req{method: "GET", path: "/api/v1/devices/" + w.thermA + "/drift", token: B}},
		{"GET /api/v1/devices/:id/dead-letters", req{method: "GET", path: "/api/v1/devices/" + w.elevA + "/dead-letters", token: B}},
		{"POST /api/v1/devices/:id/credentials/revoke", req{method: "POST", path: "/api/v1/devices/" + w.thermA + "/credentials/revoke", token: B}},
		{"GET /api/v1/deferrals/:id", req{method: "GET", path: "/api/v1/deferrals/" + w.deferralA, token: B}},
		{"POST /api/v1/deferrals/:id/lift", req{method: "POST", path: "/api/v1/deferrals/" + w.deferralA + "/lift", token: B, body: map[string]any{"reason": "x"}}},
		{"POST /api/v1/feeds/:id/revoke", req{method: "POST", path: "/api/v1/feeds/" + w.feedA + "/revoke", token: B}},
		{"POST /api/v1/requests/:id/accept", req{method: "POST", path: "/api/v1/requests/" + w.requestA + "/accept", token: B}},
		{"POST /api/v1/requests/:id/propose", req{method: "POST", path: "/api/v1/requests/" + w.requestA + "/propose", token: B,
			body: map[string]any{"proposed_from": "2026-12-03", "proposed_to": "2026-12-04"}}},
		{"POST /api/v1/requests/:id/decline", req{method: "POST", path: "/api/v1/requests/" + w.requestA + "/decline", token: B, body: map[string]any{"note": "x"}}},
		{"POST /api/v1/requests/:id/accept-proposal", req{method: "POST", path: "/api/v1/requests/" + w.requestA + "/accept-proposal", token: B}},
		{"POST /api/v1/requests/:id/withdraw", req{method: "POST", path: "/api/v1/requests/" + w.requestA + "/withdraw", token: B}},
		{"POST /api/v1/visits/:id/confirm", req{method: "POST", path: "/api/v1/visits/" + w.visitA + "/confirm", token: B}},
		{"POST /api/v1/visits/:id/start", req{method: "POST", path: "/api/v1/visits/" + w.visitA + "/start", token: B}},
		{"POST /api/v1/visits/:id/complete", req{method: "POST", path: "/api/v1/visits/" + w.visitA + "/complete", token: B}},
		{"POST /api/v1/visits/:id/cancel", req{method: "POST", path: "/api/v1/visits/" + w.visitA + "/cancel", token: B, body: map[string]any{"reason": "x"}}},
		{"GET /api/v1/organizations/:id/calendar", req{method: "GET", path: "/api/v1/organizations/" + w.inst + "/calendar", token: B}},
		{"PUT /api/v1/organizations/:id/calendar", req{method: "PUT", path: "/api/v1/organizations/" + w.inst + "/calendar", token: B,
			body: map[string]any{"time_zone": "UTC", "technicians": 1, "visits_per_technician_per_day": 1, "working_days": []string{"monday"}, "holidays": []string{}}}},
	}...)
}

// TestAnotherTenantGets404 probes every object endpoint as operator B on
// operator A's objects: each answers 404, and nothing of A's changes.
func TestAnotherTenantGets404(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a)
		w.requestA = a.request(w)
		w.feedA, _ = a.feed(w)
		w.standardA, w.resultA = a.result(w)
		w.deferralA = a.deferral(w)
		w.contractA, w.agreementA = a.contract(w)
		w.liftTaskA, w.liftReportA = a.liftWork(w)
		w.technicianA = a.technician(w)
		w.alertA = a.alert(w)
		before := a.must(req{method: "GET", path: "/api/v1/audit?org_id=" + w.opA + "&limit=500", token: w.reg}, 200).ids(t)
		for _, tc := range tenancyCases(w) {
			r := a.do(tc.req)
			if r.Status != 404 {
				t.Errorf("%s as another tenant = %d, want 404: %s", tc.route, r.Status, r.Body)
				continue
			}
			if r.code(t) != "not_found" {
				t.Errorf("%s: code %q, want not_found", tc.route, r.code(t))
			}
		}
		after := a.must(req{method: "GET", path: "/api/v1/audit?org_id=" + w.opA + "&limit=500", token: w.reg}, 200).ids(t)
		if len(after) != len(before) {
			t.Errorf("A's audit log grew from %d to %d events during another tenant's probes", len(before), len(after))
		}
		// The probes wrote nothing under B's name either, beyond B's own setup.
		bEvents := a.must(req{method: "GET", path: "/api/v1/audit?resource=thermometer", token: w.adminB}, 200).ids(t)
		if len(bEvents) != 1 {
			t.Errorf("B has %d thermometer audit events, want 1 (its own setup)", len(bEvents))
		}
	})
}

// TestEveryRouteHasATenancyCase fails when a new authenticated route is
// added without a cross-tenant probe or a stated exemption.
func TestEveryRouteHasATenancyCase(t *testing.T) {
	a := newAPI(t, nil, defaultCfg)
	covered := map[string]bool{}
	for _, tc := range tenancyCases(&world{}) {
		covered[tc.route] = true
	}
	for _, r := range a.srv.Routes() {
		key := r.Method + " " + r.Path
		if !strings.HasPrefix(r.Path, "/api/v1/") || r.Path == "/api/v1/openapi.json" {
			continue
		}
		if !covered[key] && exemptFromTenancy[key] == "" {
			t.Errorf("route %s has no other-tenant 404 case in tenancyCases and no exemption", key)
		}
	}
}

// TestListsNeverLeak: lists and filters naming another tenant's ids return
// none of its rows.
func TestListsNeverLeak(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a)
		w.requestA = a.request(w)
		w.feedA, _ = a.feed(w)
		w.standardA, w.resultA = a.result(w)
		w.deferralA = a.deferral(w)
		w.contractA, w.agreementA = a.contract(w)
		w.liftTaskA, w.liftReportA = a.liftWork(w)
		w.technicianA = a.technician(w)
		w.alertA = a.alert(w)
		if err := a.st.SaveDeadLetters(context.Background(), []devices.DeadLetter{
			{Topic: devices.DeviceTopic(w.thermA, devices.MessageChecks, false), Reason: devices.ReasonNotJSON, Payload: []byte("x"), Received: time.Now()},
			{Topic: devices.DeviceTopic(w.elevA, devices.MessageEvents, false), Reason: devices.ReasonNotJSON, Payload: []byte("x"), Received: time.Now()},
		}); err != nil {
			t.Fatal(err)
		}
		forbidden := []string{w.opA, w.venueA, w.thermA, w.thermAUnassigned, w.elevA, w.taskA, w.visitA, w.eventA, w.requestA, w.feedA,
			w.standardA, w.resultA, w.deferralA, w.contractA, w.agreementA, w.technicianA, w.liftTaskA, w.liftReportA, w.alertA}
		B := w.adminB
		paths := []string{
			"/api/v1/organizations", "/api/v1/organizations?kind=venue_operator",
			"/api/v1/venues", "/api/v1/venues?operator_org_id=" + w.opA,
			"/api/v1/thermometers", "/api/v1/thermometers?venue_id=" + w.venueA,
			"/api/v1/thermometers?operator_org_id=" + w.opA, "/api/v1/thermometers?institute_id=" + w.inst,
			"/api/v1/thermometers?include_retired=true", "/api/v1/thermometers?due_before=2100-01-01",
			"/api/v1/elevators", "/api/v1/elevators?venue_id=" + w.venueA, "/api/v1/elevators?maintenance_firm_id=" + w.firm,
			"/api/v1/audit", "/api/v1/audit?org_id=" + w.opA, "/api/v1/audit?resource_id=" + w.thermA,
			"/api/v1/tasks", "/api/v1/tasks?venue_id=" + w.venueA, "/api/v1/tasks?thermometer_id=" + w.thermA,
			"/api/v1/tasks?institute_id=" + w.inst, "/api/v1/tasks?state=open",
			"/api/v1/visits", "/api/v1/visits?venue_id=" + w.venueA, "/api/v1/visits?institute_id=" + w.inst,
			"/api/v1/visits?state=planned&from=2000-01-01&to=2100-01-01",
			"/api/v1/events", "/api/v1/events?venue_id=" + w.venueA, "/api/v1/events?kind=device_overdue&since=2000-01-01",
			"/api/v1/requests", "/api/v1/requests?venue_id=" + w.venueA, "/api/v1/requests?institute_id=" + w.inst + "&state=requested",
			"/api/v1/feeds", "/api/v1/standards", "/api/v1/results", "/api/v1/results?thermometer_id=" + w.thermA + "&flagged=false",
			"/api/v1/deferrals", "/api/v1/deferrals?state=active",
			"/api/v1/alerts", "/api/v1/alerts?device_id=" + w.thermA + "&kind=drift&state=open",
			"/api/v1/contracts", "/api/v1/contracts?elevator_id=" + w.elevA, "/api/v1/contracts?venue_id=" + w.venueA + "&firm_id=" + w.firm,
			"/api/v1/agreements", "/api/v1/agreements?elevator_id=" + w.elevA + "&state=proposed", "/api/v1/agreements?contract_id=" + w.contractA,
			"/api/v1/technicians", "/api/v1/technicians?include_retired=true&institute_id=" + w.inst,
			"/api/v1/lift-tasks", "/api/v1/lift-tasks?elevator_id=" + w.elevA + "&kind=onsite&state=completed",
			"/api/v1/lift-reports", "/api/v1/lift-reports?elevator_id=" + w.elevA + "&kind=onsite",
			"/api/v1/visits?technician_id=" + w.technicianA,
			"/api/v1/dead-letters", "/api/v1/dead-letters?device_id=" + w.thermA + "&reason=not_json",
		}
		// Operator B, and the other institute: it must never see the
		// institute's technicians, nor its visits through technician_id.
		for _, who := range []struct{ name, tok string }{{"operator B", B}, {"the other institute", w.inst2Tok}} {
			for _, p := range paths {
				r := a.must(req{method: "GET", path: p, token: who.tok}, 200)
				for _, id := range r.ids(t) {
					if slices.Contains(forbidden, id) {
						t.Errorf("GET %s as %s lists A's object %s", p, who.name, id)
					}
				}
				if strings.Contains(string(r.Body), w.venueA) || strings.Contains(string(r.Body), w.technicianA) {
					t.Errorf("GET %s as %s mentions A's venue or the institute's technician", p, who.name)
				}
				if strings.HasPrefix(p, "/api/v1/dead-letters") && (strings.Contains(string(r.Body), w.thermA) || strings.Contains(string(r.Body), w.elevA)) {
					t.Errorf("GET %s as %s mentions A's devices", p, who.name)
				}
			}
		}
		// B does see its own rows through the same lists.
		if ids := a.must(req{method: "GET", path: "/api/v1/thermometers", token: B}, 200).ids(t); !slices.Equal(ids, []string{w.thermB}) {
			t.Errorf("B's thermometers = %v, want [%s]", ids, w.thermB)
		}
	})
}

// TestVisibilityByKind: institutes see their assigned thermometers and
// those venues, firms their elevators and those venues, all read-only.
func TestVisibilityByKind(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a)
		ids := func(tok, path string) []string { return a.must(req{method: "GET", path: path, token: tok}, 200).ids(t) }
		if got := ids(w.instTok, "/api/v1/thermometers"); !sameSet(got, []string{w.thermA, w.thermB}) {
			t.Errorf("institute thermometers = %v, want A-1 and B-1", got)
		}
		if got := ids(w.inst2Tok, "/api/v1/thermometers"); len(got) != 0 {
			t.Errorf("unassigned institute sees %v", got)
		}
		a.must(req{method: "GET", path: "/api/v1/thermometers/" + w.thermAUnassigned, token: w.instTok}, 404)
		a.must(req{method: "GET", path: "/api/v1/venues/" + w.venueA, token: w.inst2Tok}, 404)
		if got := ids(w.instTok, "/api/v1/venues"); !sameSet(got, []string{w.venueA, w.venueB}) {
			t.Errorf("institute venues = %v", got)
		}
		if got := ids(w.instTok, "/api/v1/elevators"); len(got) != 0 {
			t.Errorf("institute sees elevators %v", got)
		}
		if got := ids(w.firmTok, "/api/v1/elevators"); !sameSet(got, []string{w.elevA, w.elevB}) {
			t.Errorf("firm elevators = %v", got)
		}
		if got := ids(w.firmTok, "/api/v1/thermometers"); len(got) != 0 {
			t.Errorf("firm sees thermometers %v", got)
		}
		if got := ids(w.firmTok, "/api/v1/venues"); !sameSet(got, []string{w.venueA, w.venueB}) {
			t.Errorf("firm venues = %v", got)
		}
		if got := ids(w.reg, "/api/v1/thermometers"); len(got) != 3 {
			t.Errorf("regulator sees %d thermometers, want 3", len(got))
		}
		// The public directory: B finds institutes and firms, not operator A.
		dir := ids(w.adminB, "/api/v1/organizations")
		if !slices.Contains(dir, w.inst) || !slices.Contains(dir, w.firm) || slices.Contains(dir, w.opA) || !slices.Contains(dir, w.opB) {
			t.Errorf("operator B's directory = %v", dir)
		}
	})
}

// TestRoles: visible but forbidden actions answer 403; credentials 401.
func TestRoles(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a)
		cases := []struct {
			name string
			req  req
			want int
		}{
			{"member issues token", req{method: "POST", path: "/api/v1/organizations/" + w.opA + "/tokens", token: w.memberA, body: map[string]any{"name": "x", "role": "admin"}}, 403},
			{"member lists tokens", req{method: "GET", path: "/api/v1/organizations/" + w.opA + "/tokens", token: w.memberA}, 403},
			{"member revokes token", req{method: "POST", path: "/api/v1/organizations/" + w.opA + "/tokens/" + w.tokenA + "/revoke", token: w.memberA}, 403},
			{"member renames org", req{method: "PATCH", path: "/api/v1/organizations/" + w.opA, token: w.memberA, body: map[string]any{"name": "x", "version": 1}}, 403},
			{"member registers venue", req{method: "POST", path: "/api/v1/venues", token: w.memberA, body: map[string]any{"name": "M", "kind": "mall", "region_code": "310115", "time_zone": "Asia/Shanghai"}}, 201},
			{"operator creates org", req{method: "POST", path: "/api/v1/organizations", token: w.adminA, body: map[string]any{"name": "x", "kind": "venue_operator"}}, 403},
			{"operator retires own org", req{method: "POST", path: "/api/v1/organizations/" + w.opA + "/retire", token: w.adminA}, 403},
			{"institute edits assigned thermometer", req{method: "PATCH", path: "/api/v1/thermometers/" + w.thermA, token: w.instTok, body: map[string]any{"location_note": "x", "version": 1}}, 403},
			{"institute retires assigned thermometer", req{method: "POST", path: "/api/v1/thermometers/" + w.thermA + "/retire", token: w.instTok}, 403},
			{"institute edits venue", req{method: "PATCH", path: "/api/v1/venues/" + w.venueA, token: w.instTok, body: map[string]any{"name": "x", "version": 1}}, 403},
			{"institute imports", req{method: "POST", path: "/api/v1/venues/" + w.venueA + "/thermometers/import", token: w.instTok, body: csvPayload(csvBody("type,manufacturer,model,serial", "ir_ear,X,Y,Z"))}, 403},
			{"institute registers thermometer", req{method: "POST", path: "/api/v1/thermometers", token: w.instTok, body: map[string]any{"venue_id": w.venueA, "type": "ir_ear", "manufacturer": "X", "model": "Y", "serial": "Q"}}, 403},
			{"firm edits elevator", req{method: "PATCH", path: "/api/v1/elevators/" + w.elevA, token: w.firmTok, body: map[string]any{"model": "x", "version": 1}}, 403},
			{"firm retires elevator", req{method: "POST", path: "/api/v1/elevators/" + w.elevA + "/retire", token: w.firmTok}, 403},
			{"regulator edits venue", req{method: "PATCH", path: "/api/v1/venues/" + w.venueA, token: w.reg, body: map[string]any{"name": "x", "version": 1}}, 403},
			{"regulator registers venue", req{method: "POST", path: "/api/v1/venues", token: w.reg, body: map[string]any{"name": "R", "kind": "mall", "region_code": "310115", "time_zone": "Asia/Shanghai"}}, 403},
			{"regulator reads venue", req{method: "GET", path: "/api/v1/venues/" + w.venueA, token: w.reg}, 200},
			{"institute reads its venue", req{method: "GET", path: "/api/v1/venues/" + w.venueA, token: w.instTok}, 200},
			{"firm exports venue elevators", req{method: "GET", path: "/api/v1/venues/" + w.venueA + "/elevators/export", token: w.firmTok}, 200},
			{"no token", req{method: "GET", path: "/api/v1/venues"}, 401},
			{"unknown token", req{method: "GET", path: "/api/v1/venues", token: "cdt_" + strings.Repeat("x", 43)}, 401},
			{"malformed token", req{method: "GET", path: "/api/v1/venues", token: "hello"}, 401},
		}
		for _, tc := range cases {
			if r := a.do(tc.req); r.Status != tc.want {
				t.Errorf("%s: %s %s = %d, want %d: %s", tc.name, tc.req.method, tc.req.path, r.Status, tc.want, r.Body)
			}
		}
	})
}

// TestTokenLifecycle: revoked, expired and retired-org tokens answer 401,
// at once on the replica that made the change.
func TestTokenLifecycle(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a)
		sec, id := a.token(w.adminA, w.opA, "member")
		a.must(req{method: "GET", path: "/api/v1/venues", token: sec}, 200) // now cached
		a.must(req{method: "POST", path: "/api/v1/organizations/" + w.opA + "/tokens/" + id + "/revoke", token: w.adminA}, 200)
		a.must(req{method: "GET", path: "/api/v1/venues", token: sec}, 401)
		// Revoking again is a no-op, not an error.
		a.must(req{method: "POST", path: "/api/v1/organizations/" + w.opA + "/tokens/" + id + "/revoke", token: w.adminA}, 200)

		exp := time.Now().Add(1500 * time.Millisecond).UTC().Format(time.RFC3339Nano)
		r := a.must(req{method: "POST", path: "/api/v1/organizations/" + w.opA + "/tokens", token: w.adminA,
			body: map[string]any{"name": "short", "role": "member", "expires_at": exp}}, 201)
		short := r.str(t, "token")
		a.must(req{method: "GET", path: "/api/v1/venues", token: short}, 200)
		time.Sleep(1600 * time.Millisecond)
		a.must(req{method: "GET", path: "/api/v1/venues", token: short}, 401)

		a.must(req{method: "GET", path: "/api/v1/venues", token: w.adminB}, 200)
		a.must(req{method: "POST", path: "/api/v1/organizations/" + w.opB + "/retire", token: w.reg}, 200)
		a.must(req{method: "GET", path: "/api/v1/venues", token: w.adminB}, 401)

		// The secret is never listed.
		list := a.must(req{method: "GET", path: "/api/v1/organizations/" + w.opA + "/tokens", token: w.adminA}, 200)
		if strings.Contains(string(list.Body), "cdt_") {
			t.Errorf("token list reveals a secret: %s", list.Body)
		}
	})
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}
