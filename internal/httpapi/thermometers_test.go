package httpapi_test

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

type policyJSON struct {
	Kind           string  `json:"kind"`
	MinDays        int     `json:"min_days"`
	MaxDays        int     `json:"max_days"`
	LengthenFactor float64 `json:"lengthen_factor"`
	ShortenFactor  float64 `json:"shorten_factor"`
}

// thermometerPolicy is the part of a thermometer the interval policy
// touches.
type thermometerPolicy struct {
	ID             string     `json:"id"`
	Version        int        `json:"version"`
	IntervalDays   int        `json:"calibration_interval_days"`
	NextDueAt      time.Time  `json:"next_due_at"`
	IntervalPolicy policyJSON `json:"interval_policy"`
	IntervalReason string     `json:"interval_reason"`
}

// A write answers from the row it wrote, a read from the database, which
// may keep only microseconds.
func (p thermometerPolicy) truncated() thermometerPolicy {
	p.NextDueAt = p.NextDueAt.Truncate(time.Microsecond)
	return p
}

func (r resp) policy(t testing.TB) thermometerPolicy {
	t.Helper()
	var p thermometerPolicy
	mustJSON(t, r.Body, &p)
	return p.truncated()
}

// policies lists the venue's thermometers.
func (a *api) policies(tok, venue string) []thermometerPolicy {
	a.t.Helper()
	var list struct {
		Items []thermometerPolicy `json:"items"`
	}
	mustJSON(a.t, a.must(req{method: "GET", path: "/api/v1/thermometers?venue_id=" + venue, token: tok}, 200).Body, &list)
	for i := range list.Items {
		list.Items[i] = list.Items[i].truncated()
	}
	return list.Items
}

var defaultPolicy = policyJSON{Kind: "staircase", MinDays: 90, MaxDays: 730, LengthenFactor: 1.25, ShortenFactor: 0.5}

// TestThermometerIntervalPolicy: a thermometer shows its interval policy
// (the default unless one was given; absent fields of a given one take the
// default's values) and why its interval last changed; a PATCH replaces
// the policy, keeps the interval and the due date, says why and is
// audited; an invalid policy is 422 naming interval_policy.<field> and
// changes nothing.
func TestThermometerIntervalPolicy(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a)
		body := map[string]any{"venue_id": w.venueA, "type": "ir_ear", "manufacturer": "Braun", "model": "IRT6520",
			"serial": "P-1", "interval_policy": map[string]any{"kind": "fixed"}}
		created := a.must(req{method: "POST", path: "/api/v1/thermometers", token: w.adminA, body: body}, 201).policy(t)
		fixed := defaultPolicy
		fixed.Kind = "fixed"
		if created.IntervalPolicy != fixed || created.IntervalReason != "" {
			t.Errorf("created with {kind: fixed}: %+v", created)
		}
		path := "/api/v1/thermometers/" + created.ID
		if got := a.must(req{method: "GET", path: path, token: w.adminA}, 200).policy(t); got != created {
			t.Errorf("read back %+v, want %+v", got, created)
		}
		if got := a.must(req{method: "GET", path: "/api/v1/thermometers/" + w.thermA, token: w.adminA}, 200).policy(t); got.IntervalPolicy != defaultPolicy {
			t.Errorf("registered without a policy: %+v, want the default", got.IntervalPolicy)
		}

		patched := a.must(req{method: "PATCH", path: path, token: w.adminA, body: map[string]any{"version": 1,
			"interval_policy": map[string]any{"kind": "staircase", "min_days": 120, "max_days": 1000, "lengthen_factor": 1.5}}}, 200).policy(t)
		stair := policyJSON{Kind: "staircase", MinDays: 120, MaxDays: 1000, LengthenFactor: 1.5, ShortenFactor: 0.5}
		wantWhy := "interval policy changed by the operator to staircase (120..1000 days, ×1.5 after a pass, ×0.5 after a fail): kept 365 days"
		want := thermometerPolicy{ID: created.ID, Version: 2, IntervalDays: 365, NextDueAt: created.NextDueAt,
			IntervalPolicy: stair, IntervalReason: wantWhy}
		if patched != want {
			t.Errorf("after the patch = %+v\nwant %+v", patched, want)
		}
		if got := a.must(req{method: "GET", path: path, token: w.adminA}, 200).policy(t); got != want {
			t.Errorf("read back %+v, want %+v", got, want)
		}
		listed := a.policies(w.adminA, w.venueA)
		if i := slices.IndexFunc(listed, func(p thermometerPolicy) bool { return p.ID == created.ID }); i < 0 || listed[i] != want {
			t.Errorf("listed %+v, want %+v among them", listed, want)
		}

		var audit struct {
			Items []struct {
				Changes map[string]struct{ From, To any } `json:"changes"`
			} `json:"items"`
		}
		mustJSON(t, a.must(req{method: "GET", path: "/api/v1/audit?resource=thermometer&action=update&resource_id=" + created.ID,
			token: w.adminA}, 200).Body, &audit)
		wantChanges := map[string]struct{ From, To any }{
			"interval_policy.kind":            {"fixed", "staircase"},
			"interval_policy.min_days":        {90.0, 120.0},
			"interval_policy.max_days":        {730.0, 1000.0},
			"interval_policy.lengthen_factor": {1.25, 1.5},
			"interval_reason":                 {"", wantWhy},
		}
		if len(audit.Items) != 1 || fmt.Sprint(audit.Items[0].Changes) != fmt.Sprint(wantChanges) {
			t.Errorf("audit of the policy change = %+v\nwant one event with %v", audit.Items, wantChanges)
		}

		// Invalid policies, on PATCH and on create: 422 naming the nested
		// field, and nothing written.
		auditBefore := a.must(req{method: "GET", path: "/api/v1/audit?limit=500", token: w.reg}, 200).ids(t)
		countBefore := len(listed)
		for _, tc := range []struct {
			name   string
			policy any
			field  string
		}{
			{"unknown kind", map[string]any{"kind": "weekly"}, "interval_policy.kind"},
			{"min above max", map[string]any{"min_days": 800, "max_days": 700}, "interval_policy.min_days"},
			{"lengthen below 1", map[string]any{"lengthen_factor": 0.5}, "interval_policy.lengthen_factor"},
			{"unknown nested field", map[string]any{"kind": "fixed", "colour": "red"}, "interval_policy.colour"},
			{"wrong type", map[string]any{"min_days": "90"}, "interval_policy.min_days"},
			{"fraction of a day", map[string]any{"max_days": 365.5}, "interval_policy.max_days"},
			{"not an object", "fixed", "interval_policy"},
			{"null", nil, "interval_policy"},
		} {
			r := a.must(req{method: "PATCH", path: path, token: w.adminA, body: map[string]any{"version": 2, "interval_policy": tc.policy}}, 422)
			if got := r.fields(t); !slices.Equal(got, []string{tc.field}) {
				t.Errorf("PATCH %s: errors name %v, want [%s]: %s", tc.name, got, tc.field, r.Body)
			}
			body["serial"], body["interval_policy"] = "P-2", tc.policy
			r = a.must(req{method: "POST", path: "/api/v1/thermometers", token: w.adminA, body: body}, 422)
			if got := r.fields(t); !slices.Equal(got, []string{tc.field}) {
				t.Errorf("POST %s: errors name %v, want [%s]: %s", tc.name, got, tc.field, r.Body)
			}
		}
		if got := a.must(req{method: "GET", path: path, token: w.adminA}, 200).policy(t); got != want {
			t.Errorf("after the rejected patches = %+v, want %+v", got, want)
		}
		if n := len(a.policies(w.adminA, w.venueA)); n != countBefore {
			t.Errorf("rejected creates left %d thermometers, want %d", n, countBefore)
		}
		if after := a.must(req{method: "GET", path: "/api/v1/audit?limit=500", token: w.reg}, 200).ids(t); len(after) != len(auditBefore) {
			t.Errorf("rejected requests wrote %d audit events", len(after)-len(auditBefore))
		}

		// A CSV import has no policy column: imported devices get the
		// default.
		a.must(req{method: "POST", path: "/api/v1/venues/" + w.venueA + "/thermometers/import", token: w.adminA,
			body: csvPayload(csvBody("type,manufacturer,model,serial", "ir_ear,Braun,IRT6520,P-3"))}, 201)
		listed = a.policies(w.adminA, w.venueA)
		for _, it := range listed {
			if it.ID != created.ID && (it.IntervalPolicy != defaultPolicy || it.IntervalReason != "") {
				t.Errorf("thermometer %s (not given a policy) shows %+v %q", it.ID, it.IntervalPolicy, it.IntervalReason)
			}
		}
		if len(listed) != countBefore+1 {
			t.Errorf("after importing one: %d thermometers, want %d", len(listed), countBefore+1)
		}
	})
}
