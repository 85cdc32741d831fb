package web_test

import (
	"context"
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
		c := newChrome(t, s.srv.URL)

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

		// 6. The device page draws the drift chart with its points: 24
		// hourly checks drifting by 0.01 °C an hour.
		var msgs []devices.Message
		start := time.Now().UTC().Add(-24 * time.Hour)
		for i := range 24 {
			msgs = append(msgs, devices.Message{Kind: devices.MessageChecks, Check: &devices.CheckReading{DeviceID: th, Seq: int64(i + 1),
				TS: start.Add(time.Duration(i) * time.Hour), ReferenceC: 37, ValueC: 37 + 0.01*float64(i), Mode: devices.ModeCalibration}})
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
		c.wantText("main", "drift")
		c.keep("device-page")
		for _, p := range []string{"/", "/venues", "/venues/" + f.venueA, href} {
			c.usable(p)
		}

		// 7. A second tenant finds none of it.
		b := newChrome(t, s.srv.URL)
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
