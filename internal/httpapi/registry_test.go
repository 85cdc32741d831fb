package httpapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestValidation: every rule answers 422 (or 400 for syntax) naming each
// field at fault, and nothing is written.
func TestValidation(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a)
		A := w.adminA
		cases := []struct {
			name   string
			req    req
			status int
			fields []string
		}{
			{"venue: everything wrong", req{method: "POST", path: "/api/v1/venues", token: A, body: map[string]any{
				"name": "", "kind": "castle", "region_code": "310 115", "time_zone": "Mars/Base", "lat": 91, "lon": 10,
				"contact": map[string]any{"email": "not-an-email"}}}, 422,
				[]string{"name", "kind", "region_code", "lat", "time_zone", "contact.email"}},
			{"venue: lat without lon", req{method: "POST", path: "/api/v1/venues", token: A, body: map[string]any{
				"name": "V", "kind": "mall", "region_code": "CN-SH", "time_zone": "Asia/Shanghai", "lat": 31.2}}, 422, []string{"lat"}},
			{"venue: wrong types and unknown field", req{method: "POST", path: "/api/v1/venues", token: A, body: map[string]any{
				"name": 7, "kind": true, "region_code": "310115", "time_zone": "Asia/Shanghai", "colour": "red", "contact": "Li"}}, 422,
				[]string{"name", "kind", "contact", "colour"}},
			{"venue: unknown contact field", req{method: "POST", path: "/api/v1/venues", token: A, body: map[string]any{
				"name": "V", "kind": "mall", "region_code": "310115", "time_zone": "Asia/Shanghai", "contact": map[string]any{"fax": "1"}}}, 422,
				[]string{"contact.fax"}},
			{"thermometer: bad enums and ranges", req{method: "POST", path: "/api/v1/thermometers", token: A, body: map[string]any{
				"venue_id": w.venueA, "type": "ir_ear", "manufacturer": "B", "model": "M", "serial": "S9",
				"range_min_c": 45, "range_max_c": 40, "modes": []string{"calibration", "sleep"}, "status": "broken",
				"calibration_interval_days": 0}}, 422,
				[]string{"range_min_c", "modes", "status"}},
			{"thermometer: interval out of range", req{method: "POST", path: "/api/v1/thermometers", token: A, body: map[string]any{
				"venue_id": w.venueA, "type": "ir_ear", "manufacturer": "B", "model": "M", "serial": "S9", "calibration_interval_days": 4000}}, 422,
				[]string{"calibration_interval_days"}},
			{"thermometer: profile does not fit type", req{method: "POST", path: "/api/v1/thermometers", token: A, body: map[string]any{
				"venue_id": w.venueA, "type": "ir_forehead", "manufacturer": "B", "model": "M", "serial": "S9", "tolerance_profile": "jjg1164_ear"}}, 422,
				[]string{"tolerance_profile"}},
			{"thermometer: unknown profile", req{method: "POST", path: "/api/v1/thermometers", token: A, body: map[string]any{
				"venue_id": w.venueA, "type": "ir_ear", "manufacturer": "B", "model": "M", "serial": "S9", "tolerance_profile": "nope"}}, 422,
				[]string{"tolerance_profile"}},
			{"thermometer: override without reason, too large", req{method: "POST", path: "/api/v1/thermometers", token: A, body: map[string]any{
				"venue_id": w.venueA, "type": "ir_ear", "manufacturer": "B", "model": "M", "serial": "S9", "mpe_override_c": 5}}, 422,
				[]string{"mpe_override_c", "mpe_override_reason"}},
			{"thermometer: institute is not an institute", req{method: "POST", path: "/api/v1/thermometers", token: A, body: map[string]any{
				"venue_id": w.venueA, "type": "ir_ear", "manufacturer": "B", "model": "M", "serial": "S9", "institute_id": w.firm}}, 422,
				[]string{"institute_id"}},
			{"thermometer: future calibration", req{method: "POST", path: "/api/v1/thermometers", token: A, body: map[string]any{
				"venue_id": w.venueA, "type": "ir_ear", "manufacturer": "B", "model": "M", "serial": "S9", "last_calibrated_at": "2999-01-01T00:00:00Z"}}, 422,
				[]string{"last_calibrated_at"}},
			{"thermometer: bad time format", req{method: "POST", path: "/api/v1/thermometers", token: A, body: map[string]any{
				"venue_id": w.venueA, "type": "ir_ear", "manufacturer": "B", "model": "M", "serial": "S9", "last_calibrated_at": "yesterday"}}, 422,
				[]string{"last_calibrated_at"}},
			{"thermometer: missing venue and fields", req{method: "POST", path: "/api/v1/thermometers", token: A, body: map[string]any{}}, 422,
				[]string{"venue_id"}},
			{"thermometer: venue id not a uuid", req{method: "POST", path: "/api/v1/thermometers", token: A, body: map[string]any{
				"venue_id": "abc", "type": "ir_ear", "manufacturer": "B", "model": "M", "serial": "S9"}}, 422, []string{"venue_id"}},
			{"thermometer: numbers in strings", req{method: "POST", path: "/api/v1/thermometers", token: A, body: map[string]any{
				"venue_id": w.venueA, "type": "ir_ear", "manufacturer": "B", "model": "M", "serial": "S9", "range_min_c": "35",
				"calibration_interval_days": "30"}}, 422, []string{"range_min_c", "calibration_interval_days"}},
			{"thermometer: NaN-like number", req{method: "POST", path: "/api/v1/thermometers", token: A,
				body: `{"venue_id":"` + w.venueA + `","type":"ir_ear","manufacturer":"B","model":"M","serial":"S9","range_min_c":1e400}`}, 422,
				[]string{"range_min_c"}},
			{"elevator: bad fields", req{method: "POST", path: "/api/v1/elevators", token: A, body: map[string]any{
				"venue_id": w.venueA, "registration_code": "LIFT 1!", "manufacturer": "", "commissioning_date": "2999-01-01",
				"maintenance_firm_id": w.inst}}, 422,
				[]string{"registration_code", "manufacturer", "commissioning_date", "maintenance_firm_id"}},
			{"elevator: bad date format", req{method: "POST", path: "/api/v1/elevators", token: A, body: map[string]any{
				"venue_id": w.venueA, "registration_code": "L-9", "manufacturer": "Otis", "commissioning_date": "30/06/2015"}}, 422,
				[]string{"commissioning_date"}},
			{"organization: bad kind and email", req{method: "POST", path: "/api/v1/organizations", token: w.reg, body: map[string]any{
				"name": "X", "kind": "bank", "contact_email": "nope"}}, 422, []string{"kind", "contact_email"}},
			{"token: bad role, past expiry", req{method: "POST", path: "/api/v1/organizations/" + w.opA + "/tokens", token: A, body: map[string]any{
				"name": "x", "role": "root", "expires_at": "2001-01-01T00:00:00Z"}}, 422, []string{"role", "expires_at"}},
			{"list: bad filters", req{method: "GET", path: "/api/v1/thermometers?venue_id=xyz&status=lost&limit=501&due_before=soon&colour=red", token: A}, 422,
				[]string{"venue_id", "status", "due_before", "limit", "colour"}},
			{"list: bad cursor", req{method: "GET", path: "/api/v1/venues?cursor=!!!", token: A}, 422, []string{"cursor"}},
			{"malformed JSON", req{method: "POST", path: "/api/v1/venues", token: A, body: `{"name": "V",`}, 400, nil},
			{"JSON array", req{method: "POST", path: "/api/v1/venues", token: A, body: `[1,2]`}, 400, nil},
			{"trailing data", req{method: "POST", path: "/api/v1/venues", token: A, body: `{"name":"V"} {"x":1}`}, 400, nil},
			{"null body", req{method: "POST", path: "/api/v1/venues", token: A, body: `null`}, 400, nil},
			{"empty body", req{method: "POST", path: "/api/v1/venues", token: A, body: ``}, 400, nil},
			{"form content type", req{method: "POST", path: "/api/v1/venues", token: A, body: `name=x`,
				header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, 415, nil},
			{"unknown route", req{method: "GET", path: "/api/v1/nothing", token: A}, 404, nil},
			{"wrong method", req{method: "DELETE", path: "/api/v1/venues/" + w.venueA, token: A}, 405, nil},
		}
		before := a.must(req{method: "GET", path: "/api/v1/audit?limit=500", token: w.reg}, 200).ids(t)
		for _, tc := range cases {
			r := a.do(tc.req)
			if r.Status != tc.status {
				t.Errorf("%s: status %d, want %d: %s", tc.name, r.Status, tc.status, r.Body)
				continue
			}
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
				t.Errorf("%s: content type %q, want application/problem+json", tc.name, ct)
			}
			got := r.fields(t)
			for _, f := range tc.fields {
				if !slices.Contains(got, f) {
					t.Errorf("%s: errors name %v, missing %q", tc.name, got, f)
				}
			}
		}
		after := a.must(req{method: "GET", path: "/api/v1/audit?limit=500", token: w.reg}, 200).ids(t)
		if len(after) != len(before) {
			t.Errorf("rejected requests wrote %d audit events", len(after)-len(before))
		}
	})
}

// TestBodyLimit: a body over the limit answers 413 stating the limit.
func TestBodyLimit(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a)
		big := `{"name":"` + strings.Repeat("x", 1<<20) + `"}`
		r := a.must(req{method: "POST", path: "/api/v1/venues", token: w.adminA, body: big}, http.StatusRequestEntityTooLarge)
		if !strings.Contains(string(r.Body), "1048576") {
			t.Errorf("413 does not state the limit: %s", r.Body)
		}
	})
}

// TestOptimisticConcurrency: PATCH needs the version; a stale one is 412.
func TestOptimisticConcurrency(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a)
		path := "/api/v1/thermometers/" + w.thermA
		g := a.must(req{method: "GET", path: path, token: w.adminA}, 200)
		etag := g.Header.Get("ETag")
		if etag != `"1"` {
			t.Fatalf("ETag = %q, want \"1\"", etag)
		}
		a.must(req{method: "PATCH", path: path, token: w.adminA, body: map[string]any{"location_note": "gate 3"}}, 428)
		u := a.must(req{method: "PATCH", path: path, token: w.adminA, body: map[string]any{"location_note": "gate 3"},
			header: map[string]string{"If-Match": etag}}, 200)
		if u.Header.Get("ETag") != `"2"` || u.json(t)["location_note"] != "gate 3" {
			t.Fatalf("update: ETag %q body %s", u.Header.Get("ETag"), u.Body)
		}
		// A second writer still holding version 1 loses, by header or body.
		r := a.must(req{method: "PATCH", path: path, token: w.adminA, body: map[string]any{"location_note": "gate 4"},
			header: map[string]string{"If-Match": etag}}, 412)
		if r.code(t) != "stale_version" {
			t.Errorf("code %q", r.code(t))
		}
		a.must(req{method: "PATCH", path: path, token: w.adminA, body: map[string]any{"location_note": "gate 4", "version": 1}}, 412)
		a.must(req{method: "PATCH", path: path, token: w.adminA, body: map[string]any{"location_note": "gate 4", "version": 2}}, 200)
		// A no-op patch keeps the version.
		n := a.must(req{method: "PATCH", path: path, token: w.adminA, body: map[string]any{"location_note": "gate 4", "version": 3}}, 200)
		if n.json(t)["version"].(float64) != 3 {
			t.Errorf("no-op patch bumped version: %s", n.Body)
		}
		// Nullable fields clear with null; the override's reason goes too.
		a.must(req{method: "PATCH", path: path, token: w.adminA, body: map[string]any{"mpe_override_c": 0.3, "mpe_override_reason": "vendor spec", "version": 3}}, 200)
		c := a.must(req{method: "PATCH", path: path, token: w.adminA, body: map[string]any{"mpe_override_c": nil, "institute_id": nil, "version": 4}}, 200).json(t)
		if c["mpe_override_c"] != nil || c["mpe_override_reason"] != "" || c["institute_id"] != nil || c["mpe_c"].(float64) != 0.2 {
			t.Errorf("clearing nullable fields: %v", c)
		}
		// Status rules.
		a.must(req{method: "PATCH", path: path, token: w.adminA, body: map[string]any{"status": "out_of_tolerance", "version": 5}}, 200)
		x := a.must(req{method: "PATCH", path: path, token: w.adminA, body: map[string]any{"status": "in_service", "version": 6}}, 409)
		if x.code(t) != "invalid_transition" {
			t.Errorf("code %q", x.code(t))
		}
		a.must(req{method: "PATCH", path: path, token: w.adminA, body: map[string]any{"status": "retired", "version": 6}}, 422)
	})
}

// TestRetire: records are kept; retired objects leave default lists.
func TestRetire(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a)
		r := a.must(req{method: "POST", path: "/api/v1/venues/" + w.venueA + "/retire", token: w.adminA}, 409)
		if r.code(t) != "venue_in_use" {
			t.Errorf("code %q", r.code(t))
		}
		for _, id := range []string{w.thermA, w.thermAUnassigned} {
			a.must(req{method: "POST", path: "/api/v1/thermometers/" + id + "/retire", token: w.adminA}, 200)
		}
		a.must(req{method: "POST", path: "/api/v1/elevators/" + w.elevA + "/retire", token: w.adminA, body: map[string]any{"version": 1}}, 200)
		// Retiring twice is a no-op; a stale version on a live object is 412.
		a.must(req{method: "POST", path: "/api/v1/elevators/" + w.elevA + "/retire", token: w.adminA}, 200)
		a.must(req{method: "POST", path: "/api/v1/venues/" + w.venueA + "/retire", token: w.adminA, header: map[string]string{"If-Match": `"9"`}}, 412)
		v := a.must(req{method: "POST", path: "/api/v1/venues/" + w.venueA + "/retire", token: w.adminA}, 200).json(t)
		if v["retired"] != true || v["retired_at"] == nil {
			t.Errorf("retired venue: %v", v)
		}
		th := a.must(req{method: "GET", path: "/api/v1/thermometers/" + w.thermA, token: w.adminA}, 200).json(t)
		if th["status"] != "retired" {
			t.Errorf("retired thermometer status %v", th["status"])
		}
		if ids := a.must(req{method: "GET", path: "/api/v1/thermometers", token: w.adminA}, 200).ids(t); len(ids) != 0 {
			t.Errorf("default list shows retired thermometers %v", ids)
		}
		if ids := a.must(req{method: "GET", path: "/api/v1/thermometers?include_retired=true", token: w.adminA}, 200).ids(t); len(ids) != 2 {
			t.Errorf("include_retired lists %d, want 2", len(ids))
		}
		a.must(req{method: "PATCH", path: "/api/v1/thermometers/" + w.thermA, token: w.adminA, body: map[string]any{"location_note": "x", "version": 2}}, 409)
		a.must(req{method: "POST", path: "/api/v1/thermometers", token: w.adminA, body: map[string]any{
			"venue_id": w.venueA, "type": "ir_ear", "manufacturer": "X", "model": "Y", "serial": "new"}}, 409)
	})
}

// TestDuplicates: the same manufacturer+model+serial, or registration
// code, is a 409 with a stable code.
func TestDuplicates(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a)
		r := a.must(req{method: "POST", path: "/api/v1/thermometers", token: w.adminB, body: map[string]any{
			"venue_id": w.venueB, "type": "ir_ear", "manufacturer": "Braun", "model": "IRT6520", "serial": "A-1"}}, 409)
		if r.code(t) != "duplicate_serial" {
			t.Errorf("code %q", r.code(t))
		}
		r = a.must(req{method: "POST", path: "/api/v1/elevators", token: w.adminB, body: map[string]any{
			"venue_id": w.venueB, "registration_code": "lift-a-1", "manufacturer": "Otis"}}, 409)
		if r.code(t) != "duplicate_registration_code" {
			t.Errorf("code %q", r.code(t))
		}
	})
}

// TestFiltersAndPagination follows next_cursor through a filtered list.
func TestFiltersAndPagination(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a)
		lines := []string{"type,manufacturer,model,serial,status,last_calibrated_at,calibration_interval_days"}
		for i := range 130 {
			status, last := "in_service", "2026-01-10T00:00:00Z"
			if i%5 == 0 {
				status = "quarantined"
			}
			if i%2 == 0 {
				last = "2026-09-01T00:00:00Z"
			}
			lines = append(lines, fmt.Sprintf("ir_forehead,Acme,F%d,SN%04d,%s,%s,365", i%3, i, status, last))
		}
		a.must(req{method: "POST", path: "/api/v1/venues/" + w.venueA + "/thermometers/import", token: w.adminA,
			body: csvPayload(csvBody(lines...))}, 201)
		seen := map[string]bool{}
		path := "/api/v1/thermometers?venue_id=" + w.venueA + "&status=in_service&type=ir_forehead&limit=25"
		prev := ""
		pages := 0
		for next := ""; ; {
			p := path
			if next != "" {
				p += "&cursor=" + next
			}
			r := a.must(req{method: "GET", path: p, token: w.adminA}, 200)
			for _, id := range r.ids(t) {
				if seen[id] {
					t.Fatalf("id %s listed twice", id)
				}
				if id <= prev {
					t.Fatalf("ids out of order: %s after %s", id, prev)
				}
				seen[id], prev = true, id
			}
			pages++
			nc, _ := r.json(t)["next_cursor"].(string)
			if nc == "" {
				break
			}
			next = nc
		}
		if len(seen) != 104 || pages != 5 {
			t.Errorf("paged %d in_service forehead thermometers over %d pages, want 104 over 5", len(seen), pages)
		}
		due := a.must(req{method: "GET", path: "/api/v1/thermometers?venue_id=" + w.venueA + "&type=ir_forehead&due_before=2027-02-01&limit=500", token: w.adminA}, 200).ids(t)
		if len(due) != 65 {
			t.Errorf("due_before 2027-02-01 lists %d, want the 65 calibrated 2026-01-10", len(due))
		}
		inst := a.must(req{method: "GET", path: "/api/v1/thermometers?institute_id=" + w.inst, token: w.adminA}, 200).ids(t)
		if !slices.Equal(inst, []string{w.thermA}) {
			t.Errorf("institute filter = %v", inst)
		}
	})
}

// TestImportAllOrNothing: good and bad rows write nothing and list every
// bad row; then a clean file imports and exports back.
func TestImportAllOrNothing(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a)
		path := "/api/v1/venues/" + w.venueA + "/thermometers/import"
		bad := csvBody(
			"type,manufacturer,model,serial,range_min_c,institute_id",
			"ir_ear,Acme,E1,OK-1,,",
			"ir_warp,Acme,E1,BAD-2,,",
			"ir_ear,Acme,E1,OK-3,abc,",
			"ir_ear,Acme,E1,OK-1,,",
			"ir_ear,Braun,IRT6520,A-1,,",
			"ir_ear,Acme,E1,OK-6,,"+w.firm,
		)
		r := a.must(req{method: "POST", path: path, token: w.adminA, body: csvPayload(bad)}, 422)
		var rows []int
		for _, e := range problemErrors(t, r) {
			rows = append(rows, e.Row)
		}
		for _, want := range []int{3, 4, 5, 6, 7} {
			if !slices.Contains(rows, want) {
				t.Errorf("errors %v do not name line %d", rows, want)
			}
		}
		if slices.Contains(rows, 2) {
			t.Errorf("the good line 2 is reported bad: %v", rows)
		}
		exp := a.must(req{method: "GET", path: "/api/v1/venues/" + w.venueA + "/thermometers/export", token: w.adminA}, 200)
		if n := strings.Count(string(exp.Body), "\n"); n != 3 {
			t.Errorf("after a rejected import the export has %d lines, want header + 2: %s", n, exp.Body)
		}
		a.must(req{method: "POST", path: path, token: w.adminA, body: csvPayload("type,manufacturer,model\n")}, 422)
		a.must(req{method: "POST", path: path, token: w.adminA, body: csvPayload("")}, 422)
		a.must(req{method: "POST", path: path, token: w.adminA, body: `{"json":true}`}, 415)

		good := csvBody("type,manufacturer,model,serial,modes,last_calibrated_at",
			"ir_ear,Acme,E1,G-1,calibration;body,2026-03-01T08:00:00Z",
			"ir_screening_thermograph,Acme,T9,G-2,calibration,2026-03-01")
		c := a.must(req{method: "POST", path: path, token: w.adminA, body: csvPayload(good)}, 201)
		if c.json(t)["created"].(float64) != 2 {
			t.Errorf("created %s", c.Body)
		}
		exp = a.must(req{method: "GET", path: "/api/v1/venues/" + w.venueA + "/thermometers/export", token: w.adminA}, 200)
		if !strings.HasPrefix(exp.Header.Get("Content-Type"), "text/csv") || !strings.Contains(string(exp.Body), "G-2") ||
			!strings.Contains(string(exp.Body), "2027-03-01T08:00:00Z") {
			t.Errorf("export: %s", exp.Body)
		}
		el := a.must(req{method: "POST", path: "/api/v1/venues/" + w.venueA + "/elevators/import", token: w.adminA,
			body: csvPayload(csvBody("registration_code,manufacturer,commissioning_date,maintenance_firm_id",
				"E-100,Otis,2010-05-01,"+w.firm, "E-101,KONE,,"))}, 201)
		if el.json(t)["created"].(float64) != 2 {
			t.Errorf("elevator import %s", el.Body)
		}
		ee := a.must(req{method: "GET", path: "/api/v1/venues/" + w.venueA + "/elevators/export", token: w.firmTok}, 200)
		if !strings.Contains(string(ee.Body), "E-100") || strings.Contains(string(ee.Body), "E-101") {
			t.Errorf("firm's export should list only its elevators: %s", ee.Body)
		}
	})
}

// TestAuditLog: changes are recorded with who and what; each org sees its
// own, the regulator everything.
func TestAuditLog(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a)
		a.must(req{method: "PATCH", path: "/api/v1/venues/" + w.venueA, token: w.adminA, body: map[string]any{"name": "Renamed", "version": 1}}, 200)
		r := a.must(req{method: "GET", path: "/api/v1/audit?resource=venue&resource_id=" + w.venueA + "&action=update", token: w.adminA}, 200)
		var body struct {
			Items []struct {
				OrgID   string                    `json:"org_id"`
				TokenID string                    `json:"token_id"`
				Changes map[string]map[string]any `json:"changes"`
			} `json:"items"`
		}
		mustJSON(t, r.Body, &body)
		if len(body.Items) != 1 || body.Items[0].OrgID != w.opA || body.Items[0].TokenID != w.tokenA ||
			body.Items[0].Changes["name"]["from"] != "Hospital A" || body.Items[0].Changes["name"]["to"] != "Renamed" {
			t.Fatalf("audit of the rename: %s", r.Body)
		}
		if ids := a.must(req{method: "GET", path: "/api/v1/audit?org_id=" + w.opA, token: w.reg}, 200).ids(t); len(ids) != 5 {
			t.Errorf("regulator sees %d of A's events, want 5 (venue, 2 thermometers, elevator, rename)", len(ids))
		}
		if ids := a.must(req{method: "GET", path: "/api/v1/audit?action=token.issue", token: w.instTok}, 200).ids(t); len(ids) != 0 {
			t.Errorf("the institute sees token issues it did not make: %v", ids)
		}
	})
}

// TestOperations: health, readiness, metrics by route, OpenAPI served.
func TestOperations(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a)
		a.must(req{method: "GET", path: "/healthz"}, 200)
		a.must(req{method: "GET", path: "/readyz"}, 200)
		a.must(req{method: "GET", path: "/api/v1/openapi.json"}, 200)
		a.must(req{method: "GET", path: "/api/v1/venues/" + w.venueB, token: w.adminA}, 404)
		m := a.must(req{method: "GET", path: "/metrics"}, 200)
		for _, want := range []string{
			`calibd_http_requests_total{method="GET",route="/api/v1/venues/:id",status="404"} 1`,
			`calibd_http_request_duration_seconds_bucket{method="POST",route="/api/v1/thermometers"`,
		} {
			if !strings.Contains(string(m.Body), want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		if id := a.do(req{method: "GET", path: "/healthz", header: map[string]string{"X-Request-ID": "abc-123"}}).Header.Get("X-Request-ID"); id != "abc-123" {
			t.Errorf("request id not echoed: %q", id)
		}
		profiles := a.must(req{method: "GET", path: "/api/v1/tolerance-profiles", token: w.adminB}, 200)
		if !strings.Contains(string(profiles.Body), `"code":"jjg1164_ear"`) {
			t.Errorf("profiles: %s", profiles.Body)
		}
		p := a.must(req{method: "GET", path: "/api/v1/tolerance-profiles/jjf1107_screening", token: w.adminB}, 200).json(t)
		if p["mpe_c"].(float64) != 0.4 {
			t.Errorf("screening MPE %v, want 0.4", p["mpe_c"])
		}
		a.must(req{method: "GET", path: "/api/v1/tolerance-profiles/none", token: w.adminB}, 404)
	})
}
