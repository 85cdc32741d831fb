package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
)

// TestLiftPages is issue 6's lift flow through the pages: the firm
// proposes an extended cycle (errors next to the fields) and operator A
// accepts it at the version it saw; the firm sees its lifts and due tasks,
// files the on-site visit and then a remote inspection through the form
// (a bad one shows each error next to its input; "add another" adds an
// evidence row; an item not ok opens an urgent on-site task and suspends
// the agreement); operator A countersigns the report once. Operator B and
// another firm get 404 for every page and POST of A's and see none of A's
// data in their own lists.
func TestLiftPages(t *testing.T) {
	eachSite(t, func(t *testing.T, s *site) {
		f := s.fixture()
		sh, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			t.Fatal(err)
		}
		today := time.Now().In(sh)
		day := func(n int) string { return today.AddDate(0, 0, n).Format(time.DateOnly) }
		contractA := s.api("POST", "/contracts", f.opA, map[string]any{"elevator_id": f.liftA, "firm_id": f.firmID, "starts_on": day(0)}, 201)["id"].(string)
		s.api("POST", "/contracts", f.opB, map[string]any{"elevator_id": f.liftB, "firm_id": f.firmID, "starts_on": day(0)}, 201)
		_, firm2Tok := s.org(f.reg, "Other lift firm", "maintenance_firm")
		plan := func() {
			t.Helper()
			if _, err := s.st.PlanLiftWork(t.Context(), time.Now(), 14); err != nil {
				t.Fatal(err)
			}
		}

		// The firm proposes a 30-day cycle with weekly remote inspections.
		firm := s.signIn(f.firm)
		page := firm.get("/agreements", 200)
		if !strings.Contains(page, `<option value="`+contractA+`"`) || !strings.Contains(page, "3110-SH-00001") ||
			!strings.Contains(page, "No proposals waiting") {
			t.Errorf("the firm's agreements page before any proposal:\n%s", trimHTML(page))
		}
		body, _ := firm.post("/agreements", url.Values{"contract_id": {contractA}, "onsite_cycle_days": {"thirty"}, "remote_interval_days": {"7"},
			"valid_from": {day(0)}, "valid_to": {day(90)}, "reason": {"x"}}, http.StatusUnprocessableEntity)
		wantFieldErrors(t, body, "onsite_cycle_days")
		body, _ = firm.post("/agreements", url.Values{"contract_id": {contractA}, "onsite_cycle_days": {"60"}, "remote_interval_days": {"70"},
			"valid_from": {day(200)}, "valid_to": {day(100)}, "reason": {""}}, http.StatusUnprocessableEntity)
		wantFieldErrors(t, body, "onsite_cycle_days", "remote_interval_days", "valid_to", "reason")
		if !strings.Contains(body, `value="60"`) {
			t.Errorf("the refused proposal form lost its values:\n%s", trimHTML(body))
		}
		_, to := firm.post("/agreements", url.Values{"contract_id": {contractA}, "onsite_cycle_days": {"30"}, "remote_interval_days": {"7"},
			"valid_from": {day(0)}, "valid_to": {day(90)}, "reason": {"fewer site visits during the emergency"}}, http.StatusSeeOther)
		if !strings.HasPrefix(to, "/agreements?done=") || !strings.Contains(flash(t, to), "Proposal sent for lift 3110-SH-00001") {
			t.Errorf("proposal sent to %q", to)
		}
		ag := s.api("GET", "/agreements?contract_id="+contractA, f.firm, nil, 200)["items"].([]any)[0].(map[string]any)["id"].(string)
		if page := firm.get("/agreements", 200); !strings.Contains(page, "Your proposals awaiting the venue") || !strings.Contains(page, "/agreements/"+ag) ||
			strings.Contains(page, `action="/agreements/`+ag+`/accept"`) {
			t.Errorf("the firm's agreements page after proposing:\n%s", trimHTML(page))
		}
		firm.post("/agreements/"+ag+"/accept", url.Values{"version": {"1"}}, http.StatusForbidden)

		// Operator A answers: a rejection needs a reason, a stale version is
		// refused, then it accepts.
		opA := s.signIn(f.opA)
		page = opA.get("/agreements", 200)
		if !strings.Contains(page, `action="/agreements/`+ag+`/accept"`) || !strings.Contains(page, `name="version" value="1"`) ||
			!strings.Contains(page, `<label for="reason-`+ag+`">`) {
			t.Errorf("operator A's agreements page:\n%s", trimHTML(page))
		}
		body, _ = opA.post("/agreements/"+ag+"/reject", url.Values{"version": {"1"}, "reason": {" "}}, http.StatusUnprocessableEntity)
		wantFieldErrors(t, body, "reason-"+ag)
		body, _ = opA.post("/agreements/"+ag+"/accept", url.Values{"version": {"7"}}, http.StatusConflict)
		if !strings.Contains(body, "changed since you loaded the page") || !strings.Contains(body, `action="/agreements/`+ag+`/accept"`) {
			t.Errorf("stale acceptance:\n%s", trimHTML(body))
		}
		opA.post("/agreements/"+ag+"/accept", url.Values{}, http.StatusUnprocessableEntity)
		_, to = opA.post("/agreements/"+ag+"/accept", url.Values{"version": {"1"}}, http.StatusSeeOther)
		if !strings.Contains(flash(t, to), "accepted") {
			t.Errorf("acceptance sent to %q", to)
		}
		if page := opA.get("/agreements/"+ag, 200); !strings.Contains(page, "s-accepted") || strings.Contains(page, `/accept"`) {
			t.Errorf("the accepted agreement's page:\n%s", trimHTML(page))
		}

		// The lifts job asks for the first visit: the firm sees it and files it.
		plan()
		onsite := s.liftTask(f.firm, f.liftA, "onsite")
		page = firm.get("/lifts", 200)
		for _, want := range []string{"3110-SH-00001", "3110-SH-00002", "due today", "/reports/new?task=" + onsite, "<strong>30 days</strong>", "s-accepted"} {
			if !strings.Contains(page, want) {
				t.Errorf("the firm's lifts page lacks %q:\n%s", want, trimHTML(page))
			}
		}
		page = firm.get("/reports/new?task="+onsite, 200)
		if !strings.Contains(page, "On-site maintenance report") || !strings.Contains(page, `id="items-28-result"`) ||
			strings.Contains(page, `value="not_checkable_remotely"`) {
			t.Errorf("the on-site report form:\n%s", trimHTML(page))
		}
		form := reportValues(onsite, hidden(t, page, "key"), false)
		_, to = firm.post("/reports", form, http.StatusSeeOther)
		if !strings.Contains(flash(t, to), "On-site maintenance report for lift 3110-SH-00001 filed") {
			t.Errorf("on-site report sent to %q", to)
		}
		firm.post("/reports", form, http.StatusConflict) // its task is completed: nothing is filed twice

		// A week later a remote inspection is due.
		plan()
		remote := s.liftTask(f.firm, f.liftA, "remote")
		page = firm.get("/reports/new?task="+remote, 200)
		for _, want := range []string{"Remote inspection report", `<label for="items-17-result"><span class="code">HM18</span>`, `value="not_checkable_remotely"`,
			`<label for="evidence-0-sha256">`, "items stay on site", `name="items[28].result" value="not_checkable_remotely"`} {
			if !strings.Contains(page, want) {
				t.Errorf("the remote report form lacks %q:\n%s", want, trimHTML(page))
			}
		}
		key := hidden(t, page, "key")
		form = reportValues(remote, key, true)
		form.Set("add_evidence", "1")
		page, _ = firm.post("/reports", form, http.StatusOK)
		if !strings.Contains(page, `id="evidence-1-url"`) || !strings.Contains(page, `name="evidence_rows" value="2"`) ||
			!strings.Contains(page, `formaction="/reports#evidence-2"`) || !strings.Contains(page, `value="Li Na"`) {
			t.Errorf("after add another:\n%s", trimHTML(page))
		}
		// A bad report: HM18 not ok without a note, HM16 without a result, no
		// venue person, a bad hash in the second row (the first left blank).
		bad := reportValues(remote, key, true)
		bad.Set("items[17].result", "not_ok")
		bad.Set("items[15].result", "")
		bad.Set("venue_person", "")
		bad.Set("evidence_rows", "2")
		for _, k := range []string{"url", "sha256", "duration_s", "captured_at"} {
			bad.Set("evidence[1]."+k, bad.Get("evidence[0]."+k))
			bad.Del("evidence[0]." + k)
		}
		bad.Set("evidence[1].sha256", "not-a-hash")
		body, _ = firm.post("/reports", bad, http.StatusUnprocessableEntity)
		wantFieldErrors(t, body, "items-17-note", "items-15-result", "venue_person", "evidence-1-sha256")
		if !strings.Contains(body, `href="#items-17-note"`) || strings.Contains(body, `id="evidence-0-sha256-err"`) {
			t.Errorf("the refused report's error summary:\n%s", trimHTML(body))
		}
		if n := len(s.api("GET", "/lift-reports?elevator_id="+f.liftA, f.firm, nil, 200)["items"].([]any)); n != 1 {
			t.Errorf("reports after the refusal: %d, want the on-site one", n)
		}
		good := reportValues(remote, key, true)
		good.Set("items[17].result", "not_ok")
		good.Set("items[17].note", "intercom silent")
		_, to = firm.post("/reports", good, http.StatusSeeOther)
		msg := flash(t, to)
		for _, want := range []string{"Remote inspection report for lift 3110-SH-00001 filed", "Not ok: HM18", "urgent on-site task is due by",
			"agreement is suspended", "carry over to the next on-site visit"} {
			if !strings.HasPrefix(to, "/reports?") || !strings.Contains(msg, want) {
				t.Errorf("remote report sent to %q: %q lacks %q", to, msg, want)
			}
		}
		reps := s.api("GET", "/lift-reports?kind=remote&elevator_id="+f.liftA, f.firm, nil, 200)["items"].([]any)
		if len(reps) != 1 {
			t.Fatalf("remote reports: %v", reps)
		}
		rep := reps[0].(map[string]any)["id"].(string)
		urgent := s.liftTask(f.firm, f.liftA, "urgent_onsite")
		page = firm.get("/lifts", 200)
		if !strings.Contains(page, "urgent on-site visit") || !strings.Contains(page, "Carries over: HM18") || !strings.Contains(page, "s-suspended") {
			t.Errorf("the firm's lifts page after the failed check:\n%s", trimHTML(page))
		}
		if page := firm.get("/reports", 200); !strings.Contains(page, "Awaiting the venue's countersignature") || !strings.Contains(page, "/reports/"+rep) ||
			!strings.Contains(page, "/reports/new?task="+urgent) || strings.Contains(page, "/countersign") {
			t.Errorf("the firm's reports page:\n%s", trimHTML(page))
		}
		firm.post("/reports/"+rep+"/countersign", url.Values{"note": {"self-signed"}}, http.StatusForbidden)

		// Operator A reads and countersigns the report, once.
		page = opA.get("/reports", 200)
		if !strings.Contains(page, "Awaiting your countersignature") || !strings.Contains(page, `action="/reports/`+rep+`/countersign"`) ||
			!strings.Contains(page, `<label for="note-`+rep+`">`) {
			t.Errorf("operator A's reports page:\n%s", trimHTML(page))
		}
		page = opA.get("/reports/"+rep, 200)
		for _, want := range []string{"intercom silent", "https://video.example.org/check.mp4", "HM18", "Li Na", "Urgent on-site visit due by"} {
			if !strings.Contains(page, want) {
				t.Errorf("the report's page lacks %q:\n%s", want, trimHTML(page))
			}
		}
		opA.get("/reports/new?task="+urgent, http.StatusForbidden)
		_, to = opA.post("/reports/"+rep+"/countersign", url.Values{"note": {"watched the video"}}, http.StatusSeeOther)
		if !strings.Contains(flash(t, to), "countersigned") {
			t.Errorf("countersignature sent to %q", to)
		}
		if page := opA.get("/reports", 200); !strings.Contains(page, "watched the video") || strings.Contains(page, `/reports/`+rep+`/countersign"`) {
			t.Errorf("operator A's reports page after countersigning:\n%s", trimHTML(page))
		}
		opA.post("/reports/"+rep+"/countersign", url.Values{"note": {"again"}}, http.StatusConflict)
		if page := opA.get("/lifts/"+f.liftA, 200); !strings.Contains(page, "urgent on-site visit") || !strings.Contains(page, "/reports/"+rep) ||
			!strings.Contains(page, "/agreements/"+ag) || strings.Contains(page, "/reports/new") || strings.Contains(page, "Refused messages") {
			t.Errorf("operator A's page of lift A:\n%s", trimHTML(page))
		}
		// A message the ingest refused shows on the lift's page, with why.
		if err := s.st.SaveDeadLetters(context.Background(), []devices.DeadLetter{{Topic: devices.DeviceTopic(f.liftA, devices.MessageTelemetry, false),
			Reason: devices.ReasonWrongDeviceKind, Detail: "checks come from thermometers", Payload: []byte("{}"), Received: time.Now()}}); err != nil {
			t.Fatal(err)
		}
		if page := opA.get("/lifts/"+f.liftA, 200); !strings.Contains(page, "Refused messages") || !strings.Contains(page, "wrong_device_kind") {
			t.Errorf("operator A's page of lift A after a refused message:\n%s", trimHTML(page))
		}

		// Operator B and another firm: 404 for A's pages and POSTs, none of
		// A's data in their lists.
		for name, b := range map[string]*browser{"operator B": s.signIn(f.opB), "firm 2": s.signIn(firm2Tok)} {
			for _, p := range []string{"/lifts/" + f.liftA, "/agreements/" + ag, "/reports/" + rep, "/reports/new?task=" + urgent, "/lifts/not-a-uuid"} {
				if page := b.get(p, http.StatusNotFound); strings.Contains(page, "3110-SH-00001") || strings.Contains(page, "Pudong") {
					t.Errorf("%s's 404 for %s shows A's data", name, p)
				}
			}
			b.post("/agreements/"+ag+"/accept", url.Values{"version": {"2"}}, http.StatusNotFound)
			b.post("/agreements/"+ag+"/reject", url.Values{"version": {"2"}, "reason": {"no"}}, http.StatusNotFound)
			b.post("/reports/"+rep+"/countersign", url.Values{"note": {"x"}}, http.StatusNotFound)
			b.post("/reports", reportValues(urgent, "", false), http.StatusNotFound)
			b.post("/agreements", url.Values{"contract_id": {contractA}, "onsite_cycle_days": {"30"}, "remote_interval_days": {"7"},
				"valid_from": {day(91)}, "valid_to": {day(120)}, "reason": {"mine now"}}, http.StatusNotFound)
			for _, p := range []string{"/lifts", "/agreements", "/reports"} {
				if page := b.get(p, 200); strings.Contains(page, "3110-SH-00001") || strings.Contains(page, "Pudong") || strings.Contains(page, ag) ||
					strings.Contains(page, rep) || strings.Contains(page, urgent) {
					t.Errorf("%s's %s shows A's data:\n%s", name, p, trimHTML(page))
				}
			}
		}
		if page := s.signIn(firm2Tok).get("/lifts", 200); !strings.Contains(page, "No lifts are assigned to your firm yet") {
			t.Errorf("firm 2's empty lifts page:\n%s", trimHTML(page))
		}
	})
}

// org creates an organization with an admin token.
func (s *site) org(reg, name, kind string) (id, token string) {
	s.t.Helper()
	id = s.api("POST", "/organizations", reg, map[string]any{"name": name, "kind": kind, "region_code": "310115",
		"contact_email": "ops@example.org"}, 201)["id"].(string)
	return id, s.api("POST", "/organizations/"+id+"/tokens", reg, map[string]any{"name": "admin", "role": "admin"}, 201)["token"].(string)
}

// liftTask is the id of the one open task of kind on a lift.
func (s *site) liftTask(token, lift, kind string) string {
	s.t.Helper()
	items := s.api("GET", "/lift-tasks?state=open&kind="+kind+"&elevator_id="+lift, token, nil, 200)["items"].([]any)
	if len(items) != 1 {
		s.t.Fatalf("open %s tasks of %s: %v", kind, lift, items)
	}
	return items[0].(map[string]any)["id"].(string)
}

// reportValues is what the report form sends for a task: every
// half-monthly item ok (a remote inspection: the items that stay on site
// as the form's hidden not_checkable_remotely), and one piece of evidence.
func reportValues(task, key string, remote bool) url.Values {
	sh, _ := time.LoadLocation("Asia/Shanghai")
	at := time.Now().Add(-time.Minute).In(sh).Format("2006-01-02T15:04")
	v := url.Values{"task_id": {task}, "key": {key}, "technician": {"Wang Wei"}, "venue_person": {"Li Na"}, "performed_at": {at},
		"notes": {"video call with the duty manager"}, "evidence_rows": {"1"},
		"evidence[0].url": {"https://video.example.org/check.mp4"}, "evidence[0].sha256": {strings.Repeat("9f86d081", 8)},
		"evidence[0].duration_s": {"540"}, "evidence[0].captured_at": {at}}
	for i, it := range devices.ChecklistFor(devices.CategoryHalfMonthly, false) {
		res := "ok"
		if remote && !it.Remote {
			res = "not_checkable_remotely"
		}
		v.Set(fmt.Sprintf("items[%d].result", i), res)
		v.Set(fmt.Sprintf("items[%d].note", i), "")
	}
	return v
}

// wantFieldErrors checks that each input id has its error beside it and
// named by the input's aria-describedby.
func wantFieldErrors(t *testing.T, body string, ids ...string) {
	t.Helper()
	for _, id := range ids {
		re := regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `"[^>]*aria-describedby="[^"]*\b` + regexp.QuoteMeta(id) + `-err\b`)
		if !strings.Contains(body, `<p class="field-error" id="`+id+`-err">`) || !re.MatchString(body) {
			t.Errorf("no error next to %s:\n%s", id, trimHTML(body))
		}
	}
}

// hidden reads a hidden field's value from a page.
func hidden(t *testing.T, page, name string) string {
	t.Helper()
	m := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `" value="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no hidden %s on the page", name)
	}
	return m[1]
}

// flash is the message a redirect carries to the next page.
func flash(t *testing.T, location string) string {
	t.Helper()
	u, err := url.Parse(location)
	if err != nil {
		t.Fatalf("redirect %q: %v", location, err)
	}
	return u.Query().Get("done")
}
