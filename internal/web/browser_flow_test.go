package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/calibd/calibd/devices"
)

// TestBrowser drives headless chromium through what the issue lists: a
// venue operator signs in, registers a venue and a thermometer, and
// requests its calibration; the device page draws the drift chart with a
// point per check; a second operator finds none of it.
func TestBrowser(t *testing.T) {
	eachSite(t, func(t *testing.T, s *site) {
		f := s.fixture()
		c := newChrome(t, s.srv.URL, "operator-a")

		// 1. Sign in.
		c.signIn(f.opA)
		c.wantText("h1", "Overview")

		// 2. Register a venue and a thermometer.
		c.open("/venues")
		c.run("open the venue form", chromedp.Click(chromedp.CSS("details summary")))
		c.fill(map[string]string{"#name": "Terminal 3", "#region_code": "310115", "#contact_name": "Li Na"})
		c.run("register the venue", chromedp.Submit(chromedp.CSS("#name")), chromedp.WaitVisible(chromedp.CSS("p.flash")))
		c.wantText("h1", "Terminal 3")
		c.fill(map[string]string{"#manufacturer": "Braun", "#model": "IRT6520", "#serial": "T3-0001", "#location_note": "Gate 31"})
		c.run("choose the institute", chromedp.SetValue(chromedp.CSS("#institute_id"), f.instID))
		c.run("register the thermometer", chromedp.Submit(chromedp.CSS("#serial")), chromedp.WaitVisible(chromedp.CSS("p.flash")))
		c.wantText("table", "T3-0001")
		href := eval[string](c, `document.querySelector('a[href^="/devices/"]').getAttribute("href")`)
		th := strings.TrimPrefix(href, "/devices/")

		// 3. Request a calibration for it.
		c.run("tick the thermometer", chromedp.Click(chromedp.CSS(`input[name="thermometer_id"]`)))
		c.run("open the request form", chromedp.Click(chromedp.CSS("#request-form details summary")))
		c.fill(map[string]string{"#reason": "screening season"})
		c.run("request", chromedp.Submit(chromedp.CSS("#reason")), chromedp.WaitVisible(chromedp.CSS("p.flash")))
		c.wantText("p.flash", "Calibration requested")
		if reqs := s.api("GET", "/requests", f.inst, nil, 200)["items"].([]any); len(reqs) != 1 {
			t.Fatalf("the institute has %d requests, want 1", len(reqs))
		}

		// 4. The institute accepts the request; the planner puts the task
		// on a visit, which its week calendar shows.
		in := newChrome(t, s.srv.URL, "institute")
		in.signIn(f.inst)
		in.open("/visits")
		in.run("accept the request", chromedp.Click(chromedp.CSS(`form[action$="/accept"] button`)), chromedp.WaitVisible(chromedp.CSS("p.flash")))
		in.wantText("p.flash", "Request accepted")
		if _, err := s.st.PlanVisits(context.Background(), time.Now().UTC(), 60); err != nil {
			t.Fatal(err)
		}
		visits := s.api("GET", "/visits?venue_id="+eval[string](c, `location.pathname.split("/")[2]`), f.inst, nil, 200)["items"].([]any)
		if len(visits) != 1 {
			t.Fatalf("visits planned for the venue: %v", visits)
		}
		visit := visits[0].(map[string]any)
		day, err := time.Parse(time.DateOnly, visit["day"].(string))
		if err != nil {
			t.Fatalf("visit day %v: %v", visit["day"], err)
		}
		y, wk := day.ISOWeek()
		in.open(fmt.Sprintf("/calendar?week=%d-W%02d", y, wk))
		in.wantText(".week", "Terminal 3")
		in.keep("calendar")

		// 5. It confirms and starts the visit and enters the result; the
		// verdict shows as the readings are typed.
		s.api("POST", "/standards", f.inst, map[string]any{"name": "Blackbody BB-37", "serial": "BB-001", "certificate_no": "NIM-2026-0042",
			"calibrated_at": time.Now().UTC().AddDate(0, -3, 0).Format(time.RFC3339),
			"due_at":        time.Now().UTC().AddDate(1, 0, 0).Format(time.RFC3339)}, 201)
		in.run("open the visit", chromedp.Click(chromedp.CSS(`.week a[href^="/visits/"]`)), chromedp.WaitVisible(chromedp.CSS(`form[action$="/confirm"]`)))
		in.run("confirm", chromedp.Click(chromedp.CSS(`form[action$="/confirm"] button`)), chromedp.WaitVisible(chromedp.CSS(`form[action$="/start"]`)))
		in.run("start", chromedp.Click(chromedp.CSS(`form[action$="/start"] button`)), chromedp.WaitVisible(chromedp.CSS(`a[href^="/results/new"]`)))
		in.run("open the result form", chromedp.Click(chromedp.CSS(`a[href^="/results/new"]`)), chromedp.WaitVisible(chromedp.CSS("#result-form")))
		in.run("choose the standard", chromedp.SetValue(chromedp.CSS("#standard_id"), eval[string](in,
			`document.querySelector("#standard_id option[value]:not([value=''])").value`)))
		in.fill(map[string]string{"#ambient-temp_c": "23.1", "#ambient-rh_percent": "48"})
		readings := map[string]string{}
		for i, ref := range []float64{35.0, 37.0, 41.5} {
			for j, d := range []float64{0.05, 0.04, 0.06} {
				readings[fmt.Sprintf("#points-%d-as_found_c-%d", i, j)] = fmt.Sprintf("%.2f", ref+d)
			}
			readings[fmt.Sprintf("#points-%d-u_c", i)] = "0.05"
		}
		in.fill(readings)
		in.wantText("#verdict", "pass")
		in.keep("result-form")
		// One reading far off turns the live verdict to fail, and back.
		in.fill(map[string]string{"#points-1-as_found_c-0": "37.90"})
		in.wantText("#verdict", "fail")
		in.fill(map[string]string{"#points-1-as_found_c-0": "37.04"})
		in.wantText("#verdict", "pass")
		in.run("issue the certificate", chromedp.Click(chromedp.CSS(`#result-form button[type=submit]:not([name])`)),
			chromedp.WaitVisible(chromedp.CSS("p.flash")))
		in.wantText("p.flash", "CAL-")
		in.wantText("main", "Calibration history")

		// 6. The device page draws the drift chart with its points: 24
		// checks after the calibration drifting by 0.01 °C each.
		var msgs []devices.Message
		start := time.Now().UTC().Add(time.Second)
		for i := range 24 {
			msgs = append(msgs, devices.Message{Kind: devices.MessageChecks, Check: &devices.CheckReading{DeviceID: th, Seq: int64(i + 1),
				TS: start.Add(time.Duration(i) * time.Second), ReferenceC: 37, ValueC: 37 + 0.01*float64(i), Mode: devices.ModeCalibration}})
		}
		if _, err := s.st.SaveMessages(context.Background(), msgs, time.Now()); err != nil {
			t.Fatal(err)
		}
		c.open(href)
		c.waitFor("the chart", `document.querySelector("#drift-chart").dataset.drawn === "true"`)
		if n := eval[string](c, `document.querySelector("#drift-chart").dataset.points`); n != "24" {
			t.Errorf("the chart drew %s points, want 24", n)
		}
		if !eval[bool](c, `!!document.querySelector("#drift-chart canvas")`) {
			t.Error("the chart has no canvas")
		}
		c.wantText("main", "Calibration history")
		c.wantText("main", "CAL-")
		c.keep("device-page")
		for _, p := range []string{"/", "/venues", "/venues/" + f.venueA, href} {
			c.usable(p)
		}

		// Every role's pages: labelled fields, usable at 375 px.
		for _, p := range []string{"/calendar", "/visits", "/alerts"} {
			in.usable(p)
		}
		for _, who := range []struct {
			name, token string
			pages       []string
		}{
			{"firm", f.firm, []string{"/lifts", "/agreements", "/reports"}},
			{"regulator", f.reg, []string{"/coverage", "/alerts", "/deferrals", "/devices", "/organizations", "/organizations/" + f.opAID}},
		} {
			r := newChrome(t, s.srv.URL, who.name)
			r.signIn(who.token)
			for _, p := range who.pages {
				r.usable(p)
			}
		}

		// 7. A second tenant finds none of it.
		b := newChrome(t, s.srv.URL, "operator-b")
		b.signIn(f.opB)
		b.open("/venues")
		if txt := b.text("main"); strings.Contains(txt, "Terminal 3") || strings.Contains(txt, "Pudong T2") {
			t.Errorf("operator B's venues show A's: %s", txt)
		}
		b.open(href)
		b.wantText("main", "nothing you may see")
		if txt := b.text("main"); strings.Contains(txt, "T3-0001") {
			t.Errorf("operator B's 404 shows A's thermometer: %s", txt)
		}
	})
}
