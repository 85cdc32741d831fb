package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
)

// TestOperatorPages: a venue operator registers a venue and a thermometer
// through the forms (errors shown next to the field), sees its status,
// and requests its calibration; another operator gets 404 for every page
// of A's and sees none of A's data.
func TestOperatorPages(t *testing.T) {
	eachSite(t, func(t *testing.T, s *site) {
		f := s.fixture()
		a := s.signIn(f.opA)
		body, _ := a.post("/venues", url.Values{"name": {""}, "kind": {"airport"}, "region_code": {"31 15"}, "time_zone": {"Mars/Olympus"}},
			http.StatusUnprocessableEntity)
		for _, field := range []string{"name", "region_code", "time_zone"} {
			if !strings.Contains(body, `id="`+field+`-err"`) || !strings.Contains(body, `aria-describedby="`) {
				t.Errorf("no error next to %s:\n%s", field, trimHTML(body))
			}
		}
		_, to := a.post("/venues", url.Values{"name": {"Pudong T1"}, "kind": {"airport"}, "region_code": {"310115"},
			"time_zone": {"Asia/Shanghai"}}, http.StatusSeeOther)
		if !strings.HasPrefix(to, "/venues/") {
			t.Fatalf("venue created, sent to %q", to)
		}
		venue := strings.TrimPrefix(strings.SplitN(to, "?", 2)[0], "/venues/")
		page := a.get(to, 200)
		if !strings.Contains(page, "Pudong T1") || !strings.Contains(page, "No thermometers at this venue yet") {
			t.Errorf("new venue page:\n%s", trimHTML(page))
		}
		a.post("/venues/"+venue+"/thermometers", url.Values{"type": {"ir_ear"}, "manufacturer": {"Braun"}, "model": {"IRT6520"},
			"serial": {""}}, http.StatusUnprocessableEntity)
		_, to = a.post("/venues/"+venue+"/thermometers", url.Values{"type": {"ir_ear"}, "manufacturer": {"Braun"}, "model": {"IRT6520"},
			"serial": {"T1-1"}, "institute_id": {f.instID}}, http.StatusSeeOther)
		page = a.get(to, 200)
		if !strings.Contains(page, "T1-1") || !strings.Contains(page, "due soon") {
			t.Errorf("venue page after registering a never-calibrated thermometer (due at once):\n%s", trimHTML(page))
		}
		// Request calibration of the venue's thermometer.
		list := s.api("GET", "/thermometers?venue_id="+venue, f.opA, nil, 200)["items"].([]any)
		th := list[0].(map[string]any)["id"].(string)
		a.post("/requests", url.Values{"venue_id": {venue}, "reason": {"screening season"}}, http.StatusUnprocessableEntity)
		_, to = a.post("/requests", url.Values{"venue_id": {venue}, "thermometer_id": {th}, "reason": {"screening season"},
			"window_from": {"2026-12-01"}, "window_to": {"2026-12-20"}}, http.StatusSeeOther)
		if !strings.Contains(to, "Calibration+requested") {
			t.Errorf("request sent to %q", to)
		}
		reqs := s.api("GET", "/requests", f.inst, nil, 200)["items"].([]any)
		if len(reqs) != 1 || reqs[0].(map[string]any)["reason"] != "screening season" {
			t.Errorf("the institute's requests: %v", reqs)
		}
		// The device page and its chart data.
		page = a.get("/devices/"+th, 200)
		if !strings.Contains(page, `id="drift-chart"`) || !strings.Contains(page, "Not calibrated yet") {
			t.Errorf("device page:\n%s", trimHTML(page))
		}
		var chart map[string]any
		if err := json.Unmarshal([]byte(a.get("/devices/"+th+"/chart.json", 200)), &chart); err != nil || chart["mpe_c"] != 0.2 {
			t.Errorf("chart data: %v, %v", chart, err)
		}
		// Its readings as a CSV download, the header alone so far.
		if !strings.Contains(page, `href="/devices/`+th+`/readings.csv"`) {
			t.Errorf("device page has no readings download")
		}
		if csv := a.get("/devices/"+th+"/readings.csv", 200); csv != strings.Join(devices.ReadingColumns, ",")+"\n" {
			t.Errorf("readings.csv of a silent thermometer = %q", csv)
		}
		// Messages the ingest refused show on the page with why.
		if strings.Contains(page, "Refused messages") {
			t.Errorf("device page with nothing refused shows the section")
		}
		if err := s.st.SaveDeadLetters(context.Background(), []devices.DeadLetter{{Topic: devices.DeviceTopic(th, devices.MessageChecks, false),
			Reason: devices.ReasonBadUnit, Detail: `unit "degF" is neither Cel nor K`, Payload: []byte("{}"), Received: time.Now()}}); err != nil {
			t.Fatal(err)
		}
		if page = a.get("/devices/"+th, 200); !strings.Contains(page, "Refused messages") || !strings.Contains(page, "bad_unit") ||
			!strings.Contains(page, "is neither Cel nor K") {
			t.Errorf("device page after a refused message:\n%s", trimHTML(page))
		}

		// Operator B: 404 for each of A's pages, none of A's data in its own.
		b := s.signIn(f.opB)
		for _, p := range []string{"/venues/" + venue, "/venues/" + f.venueA, "/devices/" + th, "/devices/" + f.thermA, "/devices/" + th + "/readings.csv",
			"/devices/" + f.thermA + "/chart.json", "/devices/not-a-uuid"} {
			if page := b.get(p, http.StatusNotFound); strings.Contains(page, "Pudong T") || strings.Contains(page, ">T1-1") {
				t.Errorf("B's 404 for %s shows A's data", p)
			}
		}
		b.post("/venues/"+venue+"/thermometers", url.Values{"type": {"ir_ear"}, "manufacturer": {"X"}, "model": {"Y"}, "serial": {"Z"}},
			http.StatusNotFound)
		b.post("/requests", url.Values{"venue_id": {venue}, "thermometer_id": {th}, "reason": {"x"}}, http.StatusNotFound)
		for _, p := range []string{"/", "/venues"} {
			if page := b.get(p, 200); strings.Contains(page, "Pudong T") || strings.Contains(page, ">A-1<") || strings.Contains(page, "T1-1") {
				t.Errorf("B's %s shows A's data:\n%s", p, trimHTML(page))
			}
		}
	})
}
