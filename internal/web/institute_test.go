package web_test

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
)

// instituteVisit plans the fixture's due thermometers into visits, as the
// plan and visits jobs do, and returns operator A's visit, its day and
// the task of thermometer A-1.
func (s *site) instituteVisit(f fixture) (visitID, day, taskID string) {
	s.t.Helper()
	now := time.Now()
	if _, err := s.st.PlanCalibrations(s.t.Context(), now, devices.DefaultDueHorizonDays); err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.st.PlanVisits(s.t.Context(), now, 60); err != nil {
		s.t.Fatal(err)
	}
	visits := s.api("GET", "/visits?venue_id="+f.venueA, f.inst, nil, 200)["items"].([]any)
	if len(visits) != 1 {
		s.t.Fatalf("visits of venue A: %v", visits)
	}
	v := visits[0].(map[string]any)
	tasks := s.api("GET", "/tasks?thermometer_id="+f.thermA, f.inst, nil, 200)["items"].([]any)
	if len(tasks) != 1 {
		s.t.Fatalf("tasks of A-1: %v", tasks)
	}
	return v["id"].(string), v["day"].(string), tasks[0].(map[string]any)["id"].(string)
}

func isoWeekOf(t *testing.T, day string) string {
	t.Helper()
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		t.Fatal(err)
	}
	y, w := d.ISOWeek()
	return fmt.Sprintf("%04d-W%02d", y, w)
}

// resultForm is a filled result form for task: 35.0, 37.0 and 41.5 °C with
// three readings each, off by errs[i], U = u.
func resultForm(task, standard string, u float64, errs ...float64) url.Values {
	f := url.Values{"task": {task}, "standard_id": {standard}, "mode": {"calibration"}, "rule": {"simple_acceptance"},
		"ambient.temp_c": {"23.0"}, "ambient.rh_percent": {"48"}, "point_count": {"3"},
		"performed_at": {time.Now().In(shanghai).Format("2006-01-02T15:04:05")}}
	for i, ref := range []float64{35.0, 37.0, 41.5} {
		f.Set(fmt.Sprintf("points[%d].reference_c", i), fmt.Sprint(ref))
		f.Set(fmt.Sprintf("points[%d].u_c", i), fmt.Sprint(u))
		for j := range 3 {
			f.Set(fmt.Sprintf("points[%d].as_found_c[%d]", i, j), fmt.Sprintf("%.2f", ref+errs[i]))
		}
	}
	return f
}

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

func wantIn(t *testing.T, what, page string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(page, s) {
			t.Errorf("%s lacks %q:\n%s", what, s, trimHTML(page))
		}
	}
}

func wantNotIn(t *testing.T, what, page string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if strings.Contains(page, s) {
			t.Errorf("%s shows %q:\n%s", what, s, trimHTML(page))
		}
	}
}

var (
	feedURLPattern = regexp.MustCompile(`value="(http://[^"]+/feeds/[^"]+\.ics)"`)
	certPattern    = regexp.MustCompile(`/results/([0-9a-f-]{36})/certificate\.pdf">(CAL-[0-9A-F]+-\d{4}-\d{6})<`)
)

// TestInstitutePages: an institute finds its planned visit in the week
// view and the visit list, subscribes to its calendar feed, answers a
// request, confirms and starts the visit, registers a reference standard,
// sees the verdict live while typing readings, records the result (errors
// next to their fields) and downloads the certificate, then completes the
// visit. Another institute and operator B get 404 for all of it and see
// none of it.
func TestInstitutePages(t *testing.T) {
	eachSite(t, func(t *testing.T, s *site) {
		f := s.fixture()
		visitID, day, taskID := s.instituteVisit(f)
		week := isoWeekOf(t, day)
		in := s.signIn(f.inst)

		// The week view.
		page := in.get("/calendar?week="+week, 200)
		wantIn(t, "calendar of "+week, page, "Pudong T2", "Hongqiao Station", `href="/visits/`+visitID+`"`, "1 thermometer(s)", "planned",
			`rel="prev"`, `rel="next"`, `<section class="day`)
		wantNotIn(t, "calendar of "+week, page, "No visits this week")
		wantIn(t, "an empty week", in.get("/calendar?week=2001-W01", 200), "No visits this week", "visits page")
		wantIn(t, "the current week", in.get("/calendar", 200), "Calendar feed")
		wantIn(t, "a bad week", in.get("/calendar?week=2026-W54", http.StatusUnprocessableEntity), `id="week-err"`)

		// The iCalendar feed: made through the Registry, its URL shown once
		// and served by the API.
		body, _ := in.post("/calendar/feeds", url.Values{"name": {"Our visits"}}, 200)
		m := feedURLPattern.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no feed URL after making a feed:\n%s", trimHTML(body))
		}
		resp, err := http.Get(m[1])
		if err != nil {
			t.Fatal(err)
		}
		ics, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/calendar") || !strings.Contains(string(ics), "Pudong T2") {
			t.Errorf("feed %s: %d %s\n%s", m[1], resp.StatusCode, resp.Header.Get("Content-Type"), ics)
		}
		page = in.get("/calendar", 200)
		wantIn(t, "calendar with a feed", page, "Our visits", "Revoke Our visits")
		wantNotIn(t, "calendar with a feed", page, ".ics")

		// The visit list, filtered by state.
		wantIn(t, "visit list", in.get("/visits", 200), `href="/visits/`+visitID+`"`, "Pudong T2", "No requests waiting")
		wantNotIn(t, "completed visits", in.get("/visits?state=completed", 200), visitID)
		in.get("/visits?state=lost", http.StatusUnprocessableEntity)

		// A request from operator A, answered from the visit list.
		from, to := time.Now().AddDate(0, 0, 7).Format(time.DateOnly), time.Now().AddDate(0, 0, 21).Format(time.DateOnly)
		req := s.api("POST", "/requests", f.opA, map[string]any{"venue_id": f.venueA, "thermometer_ids": []string{f.thermA},
			"reason": "screening season", "window_from": from, "window_to": to}, 201)
		reqID, version := req["id"].(string), fmt.Sprint(req["version"])
		page = in.get("/visits", 200)
		wantIn(t, "visit list with a request", page, "screening season", `action="/requests/`+reqID+`/accept"`,
			`action="/requests/`+reqID+`/decline"`, `<label for="decline-note-`+reqID+`"`)
		body, _ = in.post("/requests/"+reqID+"/decline", url.Values{"version": {version}, "note": {""}}, http.StatusUnprocessableEntity)
		wantIn(t, "decline without a note", body, `id="decline-note-`+reqID+`-err"`)
		body, _ = in.post("/requests/"+reqID+"/propose", url.Values{"version": {version}, "proposed_from": {to}, "proposed_to": {from}},
			http.StatusUnprocessableEntity)
		wantIn(t, "proposal ending before it starts", body, `id="proposed_to-`+reqID+`-err"`, `aria-describedby="proposed_to-`+reqID+`-err"`)

		// The visit page and its workflow.
		page = in.get("/visits/"+visitID, 200)
		wantIn(t, "visit page", page, "Pudong T2", `href="/devices/`+f.thermA+`">A-1</a>`, "Confirm the visit", "Cancel the visit")
		wantNotIn(t, "planned visit page", page, "Enter result", "Start the visit</button>")
		body, _ = in.post("/visits/"+visitID+"/start", nil, http.StatusConflict)
		wantIn(t, "starting a planned visit", body, "cannot start")
		body, _ = in.post("/visits/"+visitID+"/cancel", url.Values{"reason": {" "}}, http.StatusUnprocessableEntity)
		wantIn(t, "cancel without a reason", body, `id="reason-err"`)
		if _, to := in.post("/visits/"+visitID+"/confirm", nil, http.StatusSeeOther); to != "/visits/"+visitID+"?done=Visit+confirmed%3A+it+stays+on+"+day+"+when+visits+are+re-planned." {
			t.Errorf("confirmed, sent to %q", to)
		}
		in.post("/visits/"+visitID+"/start", url.Values{"version": {"1"}}, http.StatusConflict) // stale version
		in.post("/visits/"+visitID+"/start", nil, http.StatusSeeOther)
		page = in.get("/visits/"+visitID, 200)
		wantIn(t, "started visit", page, `href="/results/new?task=`+taskID+`"`, "in progress", "Complete the visit")

		// Nobody else sees any of it.
		otherID := s.api("POST", "/organizations", f.reg, map[string]any{"name": "Beijing Institute of Metrology", "kind": "metrology_institute",
			"region_code": "110105", "contact_email": "ops@example.org"}, 201)["id"].(string)
		other := s.api("POST", "/organizations/"+otherID+"/tokens", f.reg, map[string]any{"name": "admin", "role": "admin"}, 201)["token"].(string)
		pass := resultForm(taskID, "", 0.05, 0.05, 0.05, 0.05)
		for name, tok := range map[string]string{"another institute": other, "operator B": f.opB} {
			b := s.signIn(tok)
			for _, p := range []string{"/visits/" + visitID, "/results/new?task=" + taskID, "/results/new?task=", "/visits/not-an-id"} {
				wantNotIn(t, name+"'s 404 for "+p, b.get(p, http.StatusNotFound), "Pudong", ">A-1<")
			}
			b.post("/results/preview", maps.Clone(pass), http.StatusNotFound)
			b.post("/results", maps.Clone(pass), http.StatusNotFound)
			b.post("/standards", url.Values{"task": {taskID}, "standard.name": {"x"}}, http.StatusNotFound)
			b.post("/visits/"+visitID+"/complete", nil, http.StatusNotFound)
			b.post("/requests/"+reqID+"/accept", nil, http.StatusNotFound)
			for _, p := range []string{"/calendar?week=" + week, "/visits", "/visits?state=in_progress", "/"} {
				wantNotIn(t, name+"'s "+p, b.get(p, 200), "Pudong", ">A-1<", visitID, taskID, "screening season")
			}
		}
		// Operator A sees its visit but may not act on it or record results.
		a := s.signIn(f.opA)
		wantNotIn(t, "operator A's view of the visit", a.get("/visits/"+visitID, 200), "Enter result", "Complete the visit")
		a.post("/visits/"+visitID+"/complete", nil, http.StatusForbidden)
		a.get("/results/new?task="+taskID, http.StatusForbidden)

		// The institute accepts the request (its thermometer is already on
		// the visit, so no new task).
		if _, to := in.post("/requests/"+reqID+"/accept", url.Values{"version": {version}}, http.StatusSeeOther); !strings.HasPrefix(to, "/visits?done=Request+accepted") {
			t.Errorf("accepted, sent to %q", to)
		}
		in.post("/requests/"+reqID+"/accept", url.Values{"version": {version}}, http.StatusConflict)

		// The result form, first without a reference standard.
		page = in.get("/results/new?task="+taskID, 200)
		wantIn(t, "result form", page, "no reference standard in service", `<label for="points-0-as_found_c-1">`,
			`id="points-0-as_found_c-1" name="points[0].as_found_c[1]"`, `id="ambient-temp_c" name="ambient.temp_c"`,
			`hx-post="/results/preview"`, `id="verdict"`, `id="standard-form" open`, `value="41.5"`, `<label for="adjusted">`)
		body, _ = in.post("/standards", url.Values{"task": {taskID}, "standard.name": {"Blackbody"}, "standard.serial": {""},
			"standard.certificate_no": {"NIM-1"}, "standard.calibrated_at": {"yesterday"}, "standard.due_at": {"2030-01-01"}}, http.StatusUnprocessableEntity)
		wantIn(t, "standard without serial", body, `id="standard-serial-err"`, `id="standard-calibrated_at-err"`, "must be a date")
		_, to = in.post("/standards", url.Values{"task": {taskID}, "standard.name": {"Cavity blackbody"}, "standard.serial": {"BB-7"},
			"standard.certificate_no": {"NIM-2026-77"}, "standard.calibrated_at": {time.Now().AddDate(0, -1, 0).Format(time.DateOnly)},
			"standard.due_at": {time.Now().AddDate(1, 0, 0).Format(time.DateOnly)}}, http.StatusSeeOther)
		if !strings.HasPrefix(to, "/results/new?task="+taskID+"&done=") {
			t.Fatalf("standard registered, sent to %q", to)
		}
		stds := s.api("GET", "/standards", f.inst, nil, 200)["items"].([]any)
		std := stds[0].(map[string]any)["id"].(string)
		wantIn(t, "result form with a standard", in.get(to, 200), `<option value="`+std+`" selected>`, "BB-7", "registered")

		// The live verdict.
		pass = resultForm(taskID, std, 0.05, 0.05, -0.1, 0.15)
		body, _ = in.post("/results/preview", pass, 200)
		wantIn(t, "preview in tolerance", body, `id="overall-verdict">Verdict: <span class="verdict v-pass">pass`, "&#43;0.050 °C", "-0.100 °C")
		wantNotIn(t, "preview fragment", body, "<html", "<main")
		fail := resultForm(taskID, std, 0.05, 0.05, 0.3, 0)
		body, _ = in.post("/results/preview", fail, 200)
		wantIn(t, "preview out of tolerance", body, `v-fail">fail</span></p>`, "&#43;0.300 °C")
		jjf := resultForm(taskID, std, 0.1, 0, 0.2, 0)
		jjf.Set("rule", "jjf1094")
		wantIn(t, "preview between the JJF 1094 limits", in.post2("/results/preview", jjf), `v-indeterminate">indeterminate</span></p>`)
		bad := resultForm(taskID, std, 0.05, 0, 0, 0)
		bad.Set("points[0].as_found_c[1]", "abc")
		bad.Set("points[2].reference_c", "80")
		bad.Set("points[1].u_c", "")
		body, _ = in.post("/results/preview", bad, 200)
		wantIn(t, "preview of bad input", body, "No verdict yet: 1 field(s) still empty", `href="#points-0-as_found_c-1"`, "must be a number",
			`href="#points-2-reference_c"`, "must lie within the measuring range")
		adjusted := resultForm(taskID, std, 0.05, 0.3, 0, 0)
		adjusted.Set("adjusted", "true")
		for j := range 3 {
			adjusted.Set(fmt.Sprintf("points[0].as_left_c[%d]", j), "35.0")
		}
		wantIn(t, "preview of no as-left readings", in.post2("/results/preview", adjusted), "As left", "6 field(s) still empty")

		// Recording: errors next to their fields, then the certificate.
		body, _ = in.post("/results", bad, http.StatusUnprocessableEntity)
		wantIn(t, "result with bad input", body, `id="points-0-as_found_c-1-err"`, `aria-describedby="points-0-as_found_c-1-err"`,
			`value="abc"`, `id="points-2-reference_c-err"`, `href="#points-1-u_c"`, "The certificate was not issued")
		late := resultForm(taskID, std, 0.05, 0, 0, 0)
		late.Set("performed_at", time.Now().In(shanghai).Add(time.Hour).Format("2006-01-02T15:04"))
		body, _ = in.post("/results", late, http.StatusUnprocessableEntity)
		wantIn(t, "result in the future", body, `id="performed_at-err"`, "must not be in the future")
		more := resultForm(taskID, std, 0.05, 0, 0, 0)
		more.Set("op", "add_point")
		wantIn(t, "form with a fourth point", in.post2("/results", more), `name="points[3].reference_c"`, `value="4"`, "Remove the last point")

		pass.Set("key", "form-1")
		_, to = in.post("/results", pass, http.StatusSeeOther)
		if !strings.HasPrefix(to, "/devices/"+f.thermA+"?done=Certificate+CAL-") {
			t.Fatalf("recorded, sent to %q", to)
		}
		if _, again := in.post("/results", pass, http.StatusSeeOther); again != to {
			t.Errorf("the same form sent twice went to %q, then %q", to, again)
		}
		page = in.get(to, 200)
		cm := certPattern.FindStringSubmatch(page)
		if cm == nil || !strings.Contains(page, `class="flash"`) || !strings.Contains(page, cm[2]+" issued for A-1: pass") {
			t.Fatalf("device page after recording:\n%s", trimHTML(page))
		}
		resp, err = in.c.Get(s.srv.URL + "/results/" + cm[1] + "/certificate.pdf")
		if err != nil {
			t.Fatal(err)
		}
		pdf, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(string(pdf), "%PDF") {
			t.Errorf("certificate: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		body, _ = in.post("/results/preview", pass, 200)
		wantIn(t, "preview of a completed task", body, "it takes no result")
		in.get("/results/new?task="+taskID, http.StatusConflict)

		// The visit lists the certificate and completes.
		page = in.get("/visits/"+visitID, 200)
		wantIn(t, "visit after the result", page, `href="/results/`+cm[1]+`/certificate.pdf"`, cm[2], "completed")
		in.post("/visits/"+visitID+"/complete", nil, http.StatusSeeOther)
		wantIn(t, "completed visits", in.get("/visits?state=completed", 200), visitID)
		for name, tok := range map[string]string{"another institute": other, "operator B": f.opB} {
			b := s.signIn(tok)
			b.get("/results/"+cm[1]+"/certificate.pdf", http.StatusNotFound)
			wantNotIn(t, name+"'s visits", b.get("/visits?state=completed", 200), visitID)
		}
	})
}

// post2 posts a form that must be answered 200 and returns the body.
func (b *browser) post2(path string, form url.Values) string {
	b.s.t.Helper()
	body, _ := b.post(path, form, http.StatusOK)
	return body
}
