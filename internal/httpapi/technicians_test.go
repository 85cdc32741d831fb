package httpapi_test

import (
	"slices"
	"strings"
	"testing"
)

// TestTechniciansAPI: institutes register technicians (safely retried),
// see, edit and retire their own; the regulator reads them; others get
// 403 to register and see none.
func TestTechniciansAPI(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a)
		instMember, _ := a.token(w.reg, w.inst, "member")
		const path = "/api/v1/technicians"
		for _, tok := range []string{w.adminA, w.firmTok, w.reg} {
			a.must(req{method: "POST", path: path, token: tok, body: map[string]any{"name": "X"}}, 403)
		}
		bad := a.must(req{method: "POST", path: path, token: w.instTok, body: map[string]any{"name": " ", "email": "nope"}}, 422)
		if f := bad.fields(t); !sameSet(f, []string{"name", "email"}) {
			t.Errorf("bad technician fields = %v, want name and email", f)
		}

		create := req{method: "POST", path: path, token: instMember, header: map[string]string{"Idempotency-Key": "tech-zhang"},
			body: map[string]any{"name": "Zhang Min", "email": "zhang.min@example.org", "phone": "+86 21 0000 0001"}}
		r := a.must(create, 201)
		tech := r.json(t)
		id := tech["id"].(string)
		if tech["institute_id"] != w.inst || tech["retired"] != false || tech["retired_at"] != nil || tech["version"] != float64(1) ||
			r.Header.Get("Location") != path+"/"+id || r.Header.Get("ETag") != `"1"` {
			t.Errorf("created %v (Location %q, ETag %q)", tech, r.Header.Get("Location"), r.Header.Get("ETag"))
		}
		again := a.must(create, 201)
		if again.str(t, "id") != id || again.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("retried create = %s (%v); want the first technician, replayed", again.Body, again.Header)
		}

		lists := []struct {
			who, tok string
			want     []string
		}{{"institute", w.instTok, []string{id}}, {"regulator", w.reg, []string{id}}, {"operator A", w.adminA, nil},
			{"other institute", w.inst2Tok, nil}, {"firm", w.firmTok, nil}}
		for _, l := range lists {
			if got := a.must(req{method: "GET", path: path + "?include_retired=true", token: l.tok}, 200).ids(t); !slices.Equal(got, l.want) {
				t.Errorf("%s lists technicians %v, want %v", l.who, got, l.want)
			}
		}
		if got := a.must(req{method: "GET", path: path + "?institute_id=" + w.inst2, token: w.reg}, 200).ids(t); len(got) != 0 {
			t.Errorf("regulator's technicians of the other institute = %v", got)
		}
		a.must(req{method: "GET", path: path + "/" + id, token: w.reg}, 200)
		for _, tok := range []string{w.adminA, w.inst2Tok} {
			a.must(req{method: "GET", path: path + "/" + id, token: tok}, 404)
		}

		one := path + "/" + id
		a.must(req{method: "PATCH", path: one, token: w.instTok, body: map[string]any{"phone": "1"}}, 428)
		a.must(req{method: "PATCH", path: one, token: w.instTok, header: map[string]string{"If-Match": `"5"`}, body: map[string]any{"phone": "1"}}, 412)
		a.must(req{method: "PATCH", path: one, token: w.reg, body: map[string]any{"phone": "1", "version": 1}}, 403)
		if f := a.must(req{method: "PATCH", path: one, token: w.instTok, body: map[string]any{"email": "x", "version": 1}}, 422).fields(t); !slices.Equal(f, []string{"email"}) {
			t.Errorf("bad e-mail patch fields = %v", f)
		}
		p := a.must(req{method: "PATCH", path: one, token: w.instTok, header: map[string]string{"If-Match": `"1"`},
			body: map[string]any{"email": "zhang@example.org"}}, 200)
		if p.str(t, "email") != "zhang@example.org" || p.Header.Get("ETag") != `"2"` {
			t.Errorf("patched %s (ETag %q)", p.Body, p.Header.Get("ETag"))
		}

		ret := a.must(req{method: "POST", path: one + "/retire", token: instMember, body: map[string]any{"version": 2}}, 200).json(t)
		if ret["retired"] != true || ret["retired_at"] == nil || ret["version"] != float64(3) {
			t.Errorf("retired = %v", ret)
		}
		if got := a.must(req{method: "GET", path: path, token: w.instTok}, 200).ids(t); len(got) != 0 {
			t.Errorf("active technicians after retiring = %v", got)
		}
		if got := a.must(req{method: "GET", path: path + "?include_retired=true", token: w.instTok}, 200).ids(t); !slices.Equal(got, []string{id}) {
			t.Errorf("technicians with retired = %v", got)
		}
		if c := a.must(req{method: "PATCH", path: one, token: w.instTok, body: map[string]any{"name": "Z", "version": 3}}, 409).code(t); c != "retired" {
			t.Errorf("patching a retired technician: code %q", c)
		}
		audit := a.must(req{method: "GET", path: "/api/v1/audit?resource=technician&resource_id=" + id, token: w.instTok}, 200).ids(t)
		if len(audit) != 3 {
			t.Errorf("technician audit events = %d, want create, update and retire", len(audit))
		}
	})
}

// TestVisitTechniciansAPI: the institute assigns its technicians to a
// visit; the venue's operator sees who is coming; visits filter by
// technician; refusals answer 403, 404, 409, 412 and 422 naming the
// element.
func TestVisitTechniciansAPI(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a)
		tech := a.technician(w)
		assign := "/api/v1/visits/" + w.visitA + "/technicians"
		v := a.must(req{method: "GET", path: "/api/v1/visits/" + w.visitA, token: w.memberA}, 200)
		var seen struct {
			Technicians []struct{ ID, Name string } `json:"technicians"`
			Version     int                         `json:"version"`
		}
		mustJSON(t, v.Body, &seen)
		if len(seen.Technicians) != 1 || seen.Technicians[0].ID != tech || seen.Technicians[0].Name != "Zhang Min" || seen.Version != 2 {
			t.Errorf("the venue's operator sees %s; want Zhang Min coming, at version 2", v.Body)
		}

		a.must(req{method: "POST", path: assign, token: w.adminA, body: map[string]any{"technician_ids": []string{}}}, 403)
		a.must(req{method: "POST", path: assign, token: w.reg, body: map[string]any{"technician_ids": []string{}}}, 403)
		for _, tok := range []string{w.adminB, w.inst2Tok, w.firmTok} {
			a.must(req{method: "POST", path: assign, token: tok, body: map[string]any{"technician_ids": []string{}}}, 404)
		}
		theirs := a.must(req{method: "POST", path: "/api/v1/technicians", token: w.inst2Tok, body: map[string]any{"name": "Wang Wei"}}, 201).str(t, "id")
		if f := a.must(req{method: "POST", path: assign, token: w.instTok, body: map[string]any{"technician_ids": []string{tech, theirs}}}, 422).fields(t); !slices.Equal(f, []string{"technician_ids[1]"}) {
			t.Errorf("another institute's technician reported as %v", f)
		}
		if f := a.must(req{method: "POST", path: assign, token: w.instTok, body: map[string]any{"version": 2}}, 422).fields(t); !slices.Equal(f, []string{"technician_ids"}) {
			t.Errorf("missing technician_ids reported as %v", f)
		}
		a.must(req{method: "POST", path: assign, token: w.instTok, body: map[string]any{"technician_ids": []string{}, "version": 1}}, 412)

		for _, c := range []struct {
			who, tok string
			want     []string
		}{{"institute", w.instTok, []string{w.visitA}}, {"operator A", w.memberA, []string{w.visitA}}, {"regulator", w.reg, []string{w.visitA}},
			{"operator B", w.adminB, nil}, {"other institute", w.inst2Tok, nil}} {
			got := a.must(req{method: "GET", path: "/api/v1/visits?technician_id=" + tech, token: c.tok}, 200).ids(t)
			if !slices.Equal(got, c.want) {
				t.Errorf("%s: visits of the technician = %v, want %v", c.who, got, c.want)
			}
		}
		a.must(req{method: "GET", path: "/api/v1/visits?technician_id=x", token: w.instTok}, 422)

		cleared := a.must(req{method: "POST", path: assign, token: w.instTok, header: map[string]string{"If-Match": `"2"`},
			body: map[string]any{"technician_ids": []string{}}}, 200)
		if !strings.Contains(string(cleared.Body), `"technicians":[]`) || cleared.Header.Get("ETag") != `"3"` {
			t.Errorf("cleared = %s (ETag %q)", cleared.Body, cleared.Header.Get("ETag"))
		}
		a.must(req{method: "POST", path: "/api/v1/visits/" + w.visitA + "/cancel", token: w.instTok, body: map[string]any{"reason": "runway works"}}, 200)
		if c := a.must(req{method: "POST", path: assign, token: w.instTok, body: map[string]any{"technician_ids": []string{tech}}}, 409).code(t); c != "invalid_transition" {
			t.Errorf("assigning to a cancelled visit: code %q", c)
		}
	})
}

// unfold undoes RFC 5545 line folding.
func unfold(ics string) string { return strings.ReplaceAll(ics, "\r\n ", "") }

// TestTechnicianFeed: a technician's feed lists exactly the visits
// assigned to that technician, with the UID the visit has in every feed;
// only its institute subscribes.
func TestTechnicianFeed(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a)
		visitB := a.must(req{method: "GET", path: "/api/v1/visits?venue_id=" + w.venueB, token: w.reg}, 200).ids(t)[0]
		zhang := a.technician(w) // on visitA
		li := a.must(req{method: "POST", path: "/api/v1/technicians", token: w.instTok, body: map[string]any{"name": "Li Na"}}, 201).str(t, "id")
		a.must(req{method: "POST", path: "/api/v1/visits/" + visitB + "/technicians", token: w.instTok,
			body: map[string]any{"technician_ids": []string{li}}}, 200)

		feedOf := func(tech string) string {
			return a.must(req{method: "POST", path: "/api/v1/feeds", token: w.instTok, body: map[string]any{"kind": "technician",
				"subject_id": tech, "name": "visits"}}, 201).str(t, "url")
		}
		zhangURL, liURL := feedOf(zhang), feedOf(li)
		uid := func(visit string) string { return "UID:" + visit + "@calibd\r\n" }
		for _, c := range []struct {
			who, url, has, hasNot, names string
		}{{"Zhang Min", zhangURL, w.visitA, visitB, "Technicians: Zhang Min"}, {"Li Na", liURL, visitB, w.visitA, "Technicians: Li Na"}} {
			cal := a.must(req{method: "GET", path: c.url}, 200)
			body := unfold(string(cal.Body))
			if !strings.HasPrefix(cal.Header.Get("Content-Type"), "text/calendar") || strings.Count(body, "BEGIN:VEVENT") != 1 ||
				!strings.Contains(body, uid(c.has)) || strings.Contains(body, c.hasNot) || !strings.Contains(body, c.names) {
				t.Errorf("%s's feed does not list exactly the assigned visit:\n%s", c.who, body)
			}
		}
		// The institute's feed shows both visits under the same UIDs.
		instURL := a.must(req{method: "POST", path: "/api/v1/feeds", token: w.instTok, body: map[string]any{"kind": "institute",
			"subject_id": w.inst, "name": "lab"}}, 201).str(t, "url")
		if body := string(a.must(req{method: "GET", path: instURL}, 200).Body); !strings.Contains(body, uid(w.visitA)) || !strings.Contains(body, uid(visitB)) {
			t.Errorf("institute feed:\n%s", body)
		}
		// Assigning Li Na to visitA too: it joins her feed; in Zhang Min's
		// it keeps its UID with a higher SEQUENCE.
		a.must(req{method: "POST", path: "/api/v1/visits/" + w.visitA + "/technicians", token: w.instTok,
			body: map[string]any{"technician_ids": []string{zhang, li}}}, 200)
		if body := unfold(string(a.must(req{method: "GET", path: zhangURL}, 200).Body)); !strings.Contains(body, uid(w.visitA)) ||
			!strings.Contains(body, "SEQUENCE:3") || !strings.Contains(body, `Technicians: Li Na\, Zhang Min`) {
			t.Errorf("Zhang Min's feed after the change:\n%s", body)
		}
		if body := string(a.must(req{method: "GET", path: liURL}, 200).Body); strings.Count(body, "BEGIN:VEVENT") != 2 {
			t.Errorf("Li Na's feed after joining visitA:\n%s", body)
		}

		for _, tok := range []string{w.inst2Tok, w.adminA, w.firmTok} {
			a.must(req{method: "POST", path: "/api/v1/feeds", token: tok, body: map[string]any{"kind": "technician", "subject_id": zhang, "name": "x"}}, 404)
		}
		if f := a.must(req{method: "POST", path: "/api/v1/feeds", token: w.instTok, body: map[string]any{"kind": "technician", "subject_id": "zhang", "name": "x"}}, 422).fields(t); !slices.Equal(f, []string{"subject_id"}) {
			t.Errorf("bad technician feed fields %v", f)
		}
	})
}
