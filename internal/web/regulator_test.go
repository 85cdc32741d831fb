package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
)

// raiseDrift stores three calibration checks 0.1 °C high for thermometer
// id, as the ingest would, which opens its drift alert (a new one after a
// person resolved the last); it returns the open alert's id as the API
// lists it to token.
func (s *site) raiseDrift(id, token string) string {
	s.t.Helper()
	var msgs []devices.Message
	seq := time.Now().UnixMicro()
	for i := range 3 {
		msgs = append(msgs, devices.Message{Kind: devices.MessageChecks, Check: &devices.CheckReading{DeviceID: id, Seq: seq + int64(i),
			TS: time.Now().UTC().Add(time.Duration(i+1) * time.Second), ReferenceC: 37, ValueC: 37.1, Mode: devices.ModeCalibration}})
	}
	if _, err := s.st.SaveMessages(context.Background(), msgs, time.Now()); err != nil {
		s.t.Fatal(err)
	}
	items := s.api("GET", "/alerts?kind=drift&state=open&device_id="+id, token, nil, 200)["items"].([]any)
	if len(items) != 1 {
		s.t.Fatalf("drift alerts of %s: %v", id, items)
	}
	return items[0].(map[string]any)["id"].(string)
}

// formVersion is the version an action form on the page carries.
func formVersion(t *testing.T, page, action string) string {
	t.Helper()
	re := regexp.MustCompile(`(?s)<form method="post" action="` + regexp.QuoteMeta(action) + `"[^>]*>.*?name="version" value="(\d+)"`)
	m := re.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form posting to %s:\n%s", action, trimHTML(page))
	}
	return m[1]
}

// TestAlertPages: operator A sees its thermometer's drift alert with its
// evidence and a link to the device, acknowledges it and resolves it
// (first without a reason: the error is next to the field; then with a
// stale version: a conflict); operator B sees none of A's alerts and gets
// 404 acting on one; the regulator sees every alert and is told it may not
// act; the institute of the thermometer may act on it too.
func TestAlertPages(t *testing.T) {
	eachSite(t, func(t *testing.T, s *site) {
		f := s.fixture()
		a := s.signIn(f.opA)
		if page := a.get("/alerts", 200); !strings.Contains(page, "No open alerts") {
			t.Errorf("alerts page before any alert:\n%s", trimHTML(page))
		}
		id := s.raiseDrift(f.thermA, f.opA)

		page := a.get("/alerts", 200)
		for _, want := range []string{`id="alert-` + id + `"`, `href="/devices/` + f.thermA + `">Thermometer A-1</a>`, ">drift<",
			"1 reading(s)", "EWMA", `action="/alerts/` + id + `/acknowledge"`, `action="/alerts/` + id + `/resolve"`,
			`<label for="reason-` + id + `">`, `name="csrf" value="` + a.csrf + `"`} {
			if !strings.Contains(page, want) {
				t.Errorf("operator A's alerts page lacks %s:\n%s", want, trimHTML(page))
			}
		}
		if strings.Contains(page, "B-1") {
			t.Errorf("operator A's alerts page shows B's thermometer")
		}
		// The filter: drift alerts only, then a kind with none.
		if page := a.get("/alerts?kind=drift&state=open", 200); !strings.Contains(page, `id="alert-`+id+`"`) {
			t.Errorf("filtered to open drift alerts:\n%s", trimHTML(page))
		}
		if page := a.get("/alerts?kind=silent", 200); strings.Contains(page, `id="alert-`) || !strings.Contains(page, "No alerts match") {
			t.Errorf("filtered to silent alerts:\n%s", trimHTML(page))
		}
		if page := a.get("/alerts?state=sleeping", http.StatusUnprocessableEntity); !strings.Contains(page, `id="state-err"`) {
			t.Errorf("an unknown state is not reported next to its field:\n%s", trimHTML(page))
		}

		// Operator B: nothing of A's, 404 for an action on it.
		b := s.signIn(f.opB)
		for _, p := range []string{"/alerts", "/alerts?state=all", "/alerts?kind=drift&state=open"} {
			if page := b.get(p, 200); strings.Contains(page, id) || strings.Contains(page, "A-1") {
				t.Errorf("B's %s shows A's alert:\n%s", p, trimHTML(page))
			}
		}
		b.post("/alerts/"+id+"/acknowledge", url.Values{"version": {"1"}}, http.StatusNotFound)
		b.post("/alerts/"+id+"/resolve", url.Values{"version": {"1"}, "reason": {"not mine"}}, http.StatusNotFound)

		// B's own alert: B sees it, A does not.
		idB := s.raiseDrift(f.thermB, f.opB)
		if page := b.get("/alerts", 200); !strings.Contains(page, `id="alert-`+idB+`"`) {
			t.Errorf("B's alerts page lacks B's alert:\n%s", trimHTML(page))
		}
		if page := a.get("/alerts?state=all", 200); strings.Contains(page, idB) || strings.Contains(page, "B-1") {
			t.Errorf("A's alerts page shows B's alert:\n%s", trimHTML(page))
		}

		// The regulator sees both, without action forms, and is refused.
		r := s.signIn(f.reg)
		page = r.get("/alerts", 200)
		if !strings.Contains(page, `id="alert-`+id+`"`) || !strings.Contains(page, `id="alert-`+idB+`"`) ||
			strings.Contains(page, `action="/alerts/`) || !strings.Contains(page, "You see every alert") {
			t.Errorf("the regulator's alerts page:\n%s", trimHTML(page))
		}
		body, _ := r.post("/alerts/"+id+"/acknowledge", url.Values{"version": {"1"}}, http.StatusForbidden)
		if !strings.Contains(body, "The regulator watches alerts but does not act on them") || !strings.Contains(body, `id="alert-`+id+`"`) {
			t.Errorf("the regulator's refused acknowledgement:\n%s", trimHTML(body))
		}

		// A acknowledges, back to the same filter.
		v := formVersion(t, a.get("/alerts", 200), "/alerts/"+id+"/acknowledge")
		_, to := a.post("/alerts/"+id+"/acknowledge", url.Values{"version": {v}, "back": {"state=active"}}, http.StatusSeeOther)
		if !strings.HasPrefix(to, "/alerts?state=active&done=") {
			t.Errorf("acknowledged, sent to %q", to)
		}
		page = a.get(to, 200)
		if !strings.Contains(page, "The drift alert is acknowledged") || strings.Contains(page, `action="/alerts/`+id+`/acknowledge"`) ||
			!strings.Contains(page, `action="/alerts/`+id+`/resolve"`) {
			t.Errorf("after acknowledging:\n%s", trimHTML(page))
		}
		if al := s.api("GET", "/alerts/"+id, f.opA, nil, 200); al["state"] != "acknowledged" {
			t.Errorf("alert after acknowledging: %v", al)
		}
		// Acknowledging twice (an old form) is a conflict, shown on the list.
		if body, _ := a.post("/alerts/"+id+"/acknowledge", url.Values{"version": {v}}, http.StatusConflict); !strings.Contains(body,
			"Someone acted on this alert") {
			t.Errorf("stale acknowledgement:\n%s", trimHTML(body))
		}

		// Resolving needs a reason, said next to the field.
		v = formVersion(t, page, "/alerts/"+id+"/resolve")
		body, _ = a.post("/alerts/"+id+"/resolve", url.Values{"version": {v}, "reason": {"  "}, "back": {"state=active"}},
			http.StatusUnprocessableEntity)
		if !strings.Contains(body, `id="reason-`+id+`-err"`) || !strings.Contains(body, "Say why the alert is resolved") ||
			!strings.Contains(body, `aria-describedby="reason-`+id+`-hint reason-`+id+`-err"`) {
			t.Errorf("resolve without a reason:\n%s", trimHTML(body))
		}
		_, to = a.post("/alerts/"+id+"/resolve", url.Values{"version": {v}, "reason": {"probe cleaned & rechecked"}, "back": {"state=active"}},
			http.StatusSeeOther)
		if page := a.get(to, 200); !strings.Contains(page, "The drift alert is resolved") || !strings.Contains(page, "No open alerts") {
			t.Errorf("after resolving:\n%s", trimHTML(page))
		}
		page = a.get("/alerts?state=resolved", 200)
		if !strings.Contains(page, `id="alert-`+id+`"`) || !strings.Contains(page, html.EscapeString("probe cleaned & rechecked")) ||
			strings.Contains(page, `action="/alerts/`+id) {
			t.Errorf("resolved alerts:\n%s", trimHTML(page))
		}

		// The thermometer's institute sees thermA's next alert and may act.
		id2 := s.raiseDrift(f.thermA, f.inst)
		if id2 == id {
			t.Fatalf("a resolved alert was reopened")
		}
		in := s.signIn(f.inst)
		page = in.get("/alerts", 200)
		v = formVersion(t, page, "/alerts/"+id2+"/acknowledge")
		in.post("/alerts/"+id2+"/acknowledge", url.Values{"version": {v}}, http.StatusSeeOther)
	})
}

// cells are the text of each table row's cells, header and footer too.
func cells(page string) [][]string {
	rowRE := regexp.MustCompile(`(?s)<tr>(.*?)</tr>`)
	cellRE := regexp.MustCompile(`(?s)<t[hd][^>]*>(.*?)</t[hd]>`)
	tagRE := regexp.MustCompile(`<[^>]+>`)
	var out [][]string
	for _, row := range rowRE.FindAllStringSubmatch(page, -1) {
		var cs []string
		for _, c := range cellRE.FindAllStringSubmatch(row[1], -1) {
			cs = append(cs, strings.TrimSpace(html.UnescapeString(tagRE.ReplaceAllString(c[1], ""))))
		}
		out = append(out, cs)
	}
	return out
}

// TestRegulatorCoverage: the regulator's coverage table counts the
// fixture's thermometers by region and venue kind (never calibrated, so
// due today: due soon), with a totals row, and the drifting column follows
// a drift alert; anyone else is refused as the API refuses its other
// regulator-only collection (403), and has no link to it.
func TestRegulatorCoverage(t *testing.T) {
	eachSite(t, func(t *testing.T, s *site) {
		f := s.fixture()
		// A second region and venue kind: operator B's hospital in Shenzhen.
		hosp := s.api("POST", "/venues", f.opB, map[string]any{"name": "Shenzhen People's Hospital", "kind": "hospital",
			"region_code": "440303", "time_zone": "Asia/Shanghai"}, 201)["id"].(string)
		s.api("POST", "/thermometers", f.opB, map[string]any{"venue_id": hosp, "type": "ir_forehead", "manufacturer": "Omron",
			"model": "MC-720", "serial": "H-1"}, 201)

		r := s.signIn(f.reg)
		want := func(drifting string) [][]string {
			return [][]string{
				{"Region", "Venue kind", "Thermometers", "Due soon", "Overdue", "Out of tolerance", "Drifting", "Silent"},
				{"310115", "airport", "2", "2", "0", "0", drifting, "0"},
				{"440303", "hospital", "1", "1", "0", "0", "0", "0"},
				{"All regions", "3", "3", "0", "0", drifting, "0"},
			}
		}
		page := r.get("/coverage", 200)
		if got := cells(page); !slices.EqualFunc(got, want("0"), slices.Equal) {
			t.Errorf("coverage before any alert = %q, want %q", got, want("0"))
		}
		s.raiseDrift(f.thermA, f.reg)
		page = r.get("/coverage", 200)
		if got := cells(page); !slices.EqualFunc(got, want("1"), slices.Equal) {
			t.Errorf("coverage after thermA's drift alert = %q, want %q", got, want("1"))
		}
		if !strings.Contains(page, `<a href="/coverage" aria-current="page">Coverage</a>`) {
			t.Errorf("the regulator's coverage page is not the current nav item")
		}

		for name, tok := range map[string]string{"operator": f.opA, "institute": f.inst, "firm": f.firm} {
			b := s.signIn(tok)
			page := b.get("/coverage", http.StatusForbidden)
			if !strings.Contains(page, "only the regulator watches coverage") || strings.Contains(page, "310115") {
				t.Errorf("%s's /coverage:\n%s", name, trimHTML(page))
			}
			if home := b.get("/", 200); strings.Contains(home, `href="/coverage"`) {
				t.Errorf("%s's overview links to the coverage page", name)
			}
		}
	})
}

// TestRegulatorDeferrals: the deferrals page lists a policy declared
// through the API with its scope, window and reason; the operator of the
// venue it names sees it without the lift form, the other operator does
// not see it at all; the regulator lifts it (a reason is required, said
// next to the field), and the page shows it lifted.
func TestRegulatorDeferrals(t *testing.T) {
	eachSite(t, func(t *testing.T, s *site) {
		f := s.fixture()
		r := s.signIn(f.reg)
		if page := r.get("/deferrals", 200); !strings.Contains(page, "No deferral policies") {
			t.Errorf("deferrals page before any:\n%s", trimHTML(page))
		}
		sh, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			t.Fatal(err)
		}
		today := time.Now().In(sh)
		from, to := today.AddDate(0, 0, -1).Format(time.DateOnly), today.AddDate(0, 0, 30).Format(time.DateOnly)
		d := s.api("POST", "/deferrals", f.reg, map[string]any{"name": "Level I emergency response", "reason": "visits suspended <city-wide>",
			"types": []string{"ir_ear"}, "region_codes": []string{"310000"}, "venue_ids": []string{f.venueA}, "window_from": from,
			"window_to": to, "extend_days": 60}, 201)
		id := d["id"].(string)

		page := r.get("/deferrals", 200)
		for _, want := range []string{`id="deferral-` + id + `"`, "Level I emergency response", html.EscapeString("visits suspended <city-wide>"),
			"ir ear", "310000", `<a href="/venues/` + f.venueA + `">Pudong T2</a>`, from, to, "60 days after", "1 thermometer(s)",
			`action="/deferrals/` + id + `/lift"`, `<label for="reason-` + id + `">`, `name="csrf" value="` + r.csrf + `"`} {
			if !strings.Contains(page, want) {
				t.Errorf("the regulator's deferrals page lacks %s:\n%s", want, trimHTML(page))
			}
		}
		a := s.signIn(f.opA)
		if page := a.get("/deferrals", 200); !strings.Contains(page, "Level I emergency response") || strings.Contains(page, `action="/deferrals/`) {
			t.Errorf("operator A's deferrals page:\n%s", trimHTML(page))
		}
		if body, _ := a.post("/deferrals/"+id+"/lift", url.Values{"version": {"1"}, "reason": {"over"}}, http.StatusForbidden); !strings.Contains(body,
			"only a regulator admin lifts a deferral") {
			t.Errorf("operator A lifting:\n%s", trimHTML(body))
		}
		b := s.signIn(f.opB)
		if page := b.get("/deferrals", 200); strings.Contains(page, "Level I") || !strings.Contains(page, "No deferral policies") {
			t.Errorf("operator B sees a deferral naming only A's venue:\n%s", trimHTML(page))
		}
		b.post("/deferrals/"+id+"/lift", url.Values{"version": {"1"}, "reason": {"over"}}, http.StatusNotFound)

		v := formVersion(t, page, "/deferrals/"+id+"/lift")
		body, _ := r.post("/deferrals/"+id+"/lift", url.Values{"version": {v}, "reason": {""}}, http.StatusUnprocessableEntity)
		if !strings.Contains(body, `id="reason-`+id+`-err"`) || !strings.Contains(body, "Say why the deferral is lifted") {
			t.Errorf("lift without a reason:\n%s", trimHTML(body))
		}
		_, next := r.post("/deferrals/"+id+"/lift", url.Values{"version": {v}, "reason": {"visits resumed"}}, http.StatusSeeOther)
		page = r.get(next, 200)
		if !strings.Contains(page, "lifted: 1 thermometer(s)") || !strings.Contains(page, "visits resumed") ||
			strings.Contains(page, `action="/deferrals/`+id+`/lift"`) {
			t.Errorf("after lifting:\n%s", trimHTML(page))
		}
		if page := r.get("/deferrals?state=active", 200); strings.Contains(page, "Level I") || !strings.Contains(page, "No active deferral") {
			t.Errorf("active deferrals after lifting:\n%s", trimHTML(page))
		}
	})
}

var alertIDRE = regexp.MustCompile(`<li class="card alert" id="alert-([0-9a-f-]+)"`)

// TestAlertPagesPaging: 52 alerts, 2 of them acknowledged, page by 50 as
// "open or acknowledged" (the 50 open ones, then the acknowledged two: the
// first page ends exactly where the open alerts do) and as "any state";
// every alert appears once.
func TestAlertPagesPaging(t *testing.T) {
	eachSite(t, func(t *testing.T, s *site) {
		f := s.fixture()
		ths := []string{f.thermA}
		for i := range 51 {
			ths = append(ths, s.api("POST", "/thermometers", f.opA, map[string]any{"venue_id": f.venueA, "type": "ir_ear",
				"manufacturer": "Braun", "model": "IRT6520", "serial": "P-" + strconv.Itoa(i)}, 201)["id"].(string))
		}
		var msgs []devices.Message
		for _, th := range ths {
			for i := range 3 {
				msgs = append(msgs, devices.Message{Kind: devices.MessageChecks, Check: &devices.CheckReading{DeviceID: th, Seq: int64(i + 1),
					TS: time.Now().UTC().Add(time.Duration(i+1) * time.Second), ReferenceC: 37, ValueC: 37.1, Mode: devices.ModeCalibration}})
			}
		}
		if _, err := s.st.SaveMessages(context.Background(), msgs, time.Now()); err != nil {
			t.Fatal(err)
		}
		var acked []string
		for _, it := range s.api("GET", "/alerts?limit=2", f.opA, nil, 200)["items"].([]any) {
			id := it.(map[string]any)["id"].(string)
			s.api("POST", "/alerts/"+id+"/acknowledge", f.opA, map[string]any{}, 200)
			acked = append(acked, id)
		}
		a := s.signIn(f.opA)
		pages := func(first string) [][]string {
			t.Helper()
			var out [][]string
			next := first
			for n := 0; next != "" && n < 5; n++ {
				page := a.get(next, 200)
				var ids []string
				for _, m := range alertIDRE.FindAllStringSubmatch(page, -1) {
					ids = append(ids, m[1])
				}
				out = append(out, ids)
				next = ""
				if m := regexp.MustCompile(`<a href="(/alerts\?[^"]+)">Next page</a>`).FindStringSubmatch(page); m != nil {
					next = html.UnescapeString(m[1])
				}
			}
			return out
		}
		for _, first := range []string{"/alerts", "/alerts?state=all"} {
			got := pages(first)
			if len(got) != 2 || len(got[0]) != 50 || len(got[1]) != 2 {
				t.Errorf("%s: pages of %v alerts, want 50 and 2", first, lens(got))
				continue
			}
			all := slices.Concat(got...)
			slices.Sort(all)
			if len(slices.Compact(all)) != 52 {
				t.Errorf("%s: %d distinct alerts over the pages, want 52", first, len(slices.Compact(all)))
			}
			if first == "/alerts" && !(slices.Contains(got[1], acked[0]) && slices.Contains(got[1], acked[1])) {
				t.Errorf("the second page of open or acknowledged alerts = %v, want the acknowledged %v", got[1], acked)
			}
		}
		// A cursor from another filter starts the list over.
		if page := a.get("/alerts?state=open&cursor=1.", 200); len(alertIDRE.FindAllString(page, -1)) != 50 {
			t.Errorf("a cursor out of range did not start over")
		}
	})
}

func lens(pages [][]string) []int {
	out := make([]int, len(pages))
	for i, p := range pages {
		out[i] = len(p)
	}
	return out
}
