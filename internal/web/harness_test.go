package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calibd/calibd/internal/httpapi"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
	"github.com/calibd/calibd/internal/web"
)

// site is calibd's HTTP side as it runs: the API and the dashboard on one
// server, over a real store (SQLite and PostgreSQL, testenv.EachStore).
type site struct {
	t   *testing.T
	st  *store.Store
	srv *httptest.Server
}

func eachSite(t *testing.T, fn func(t *testing.T, s *site)) {
	t.Helper()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		ui, err := web.New(st, testenv.Logger(), web.Config{Version: "test"})
		if err != nil {
			t.Fatal(err)
		}
		api, err := httpapi.New(st, testenv.Logger(), httpapi.Config{UI: ui}, prometheus.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(api.Handler())
		t.Cleanup(srv.Close)
		fn(t, &site{t: t, st: st, srv: srv})
	})
}

// api calls the JSON API with a bearer token and wants status.
func (s *site) api(method, path, token string, body any, want int) map[string]any {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.srv.URL+"/api/v1"+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != want {
		s.t.Fatalf("%s %s = %d, want %d: %v", method, path, resp.StatusCode, want, out)
	}
	return out
}

// fixture: the regulator, two venue operators (A and B), an institute, a
// lift firm; a venue, an ear thermometer (assigned to the institute) and a
// lift (maintained by the firm) for each operator.
type fixture struct {
	reg, opA, opB, inst, firm    string // tokens
	opAID, opBID, instID, firmID string // organizations
	venueA, venueB               string
	thermA, thermB, liftA, liftB string
}

func (s *site) fixture() fixture {
	s.t.Helper()
	reg, err := s.st.Bootstrap(context.Background(), "")
	if err != nil {
		s.t.Fatal(err)
	}
	f := fixture{reg: reg}
	org := func(name, kind string) (string, string) {
		id := s.api("POST", "/organizations", reg, map[string]any{"name": name, "kind": kind, "region_code": "310115",
			"contact_email": "ops@example.org"}, 201)["id"].(string)
		tok := s.api("POST", "/organizations/"+id+"/tokens", reg, map[string]any{"name": "admin", "role": "admin"}, 201)["token"].(string)
		return id, tok
	}
	f.opAID, f.opA = org("Operator A", "venue_operator")
	f.opBID, f.opB = org("Operator B", "venue_operator")
	f.instID, f.inst = org("Shanghai Institute of Metrology", "metrology_institute")
	f.firmID, f.firm = org("Lift firm", "maintenance_firm")
	venue := func(tok, name string) string {
		return s.api("POST", "/venues", tok, map[string]any{"name": name, "kind": "airport", "region_code": "310115",
			"time_zone": "Asia/Shanghai"}, 201)["id"].(string)
	}
	f.venueA, f.venueB = venue(f.opA, "Pudong T2"), venue(f.opB, "Hongqiao Station")
	therm := func(tok, venue, serial string) string {
		return s.api("POST", "/thermometers", tok, map[string]any{"venue_id": venue, "type": "ir_ear", "manufacturer": "Braun",
			"model": "IRT6520", "serial": serial, "institute_id": f.instID}, 201)["id"].(string)
	}
	f.thermA, f.thermB = therm(f.opA, f.venueA, "A-1"), therm(f.opB, f.venueB, "B-1")
	lift := func(tok, venue, code string) string {
		return s.api("POST", "/elevators", tok, map[string]any{"venue_id": venue, "registration_code": code, "manufacturer": "Otis",
			"model": "Gen2", "maintenance_firm_id": f.firmID}, 201)["id"].(string)
	}
	f.liftA, f.liftB = lift(f.opA, f.venueA, "3110-SH-00001"), lift(f.opB, f.venueB, "3110-SH-00002")
	return f
}

// browser is a signed-in browser: a cookie jar and the session's CSRF
// token, not following redirects so tests see them.
type browser struct {
	s    *site
	c    *http.Client
	csrf string
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)

func (s *site) signIn(token string) *browser {
	s.t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &browser{s: s, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	resp, err := b.c.PostForm(s.srv.URL+"/signin", url.Values{"token": {token}})
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		s.t.Fatalf("sign in: %d", resp.StatusCode)
	}
	body := b.get("/", 200)
	m := csrfMeta.FindStringSubmatch(body)
	if m == nil {
		s.t.Fatal("no CSRF token on the overview")
	}
	b.csrf = m[1]
	return b
}

// get fetches a page and wants status; it returns the body.
func (b *browser) get(path string, want int) string {
	b.s.t.Helper()
	resp, err := b.c.Get(b.s.srv.URL + path)
	if err != nil {
		b.s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		b.s.t.Fatalf("GET %s = %d, want %d:\n%s", path, resp.StatusCode, want, trimHTML(string(body)))
	}
	return string(body)
}

// post submits a form with the session's CSRF token and wants status; it
// returns the body and the redirect target.
func (b *browser) post(path string, form url.Values, want int) (string, string) {
	b.s.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if form.Get("csrf") == "" {
		form.Set("csrf", b.csrf)
	}
	resp, err := b.c.PostForm(b.s.srv.URL+path, form)
	if err != nil {
		b.s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		b.s.t.Fatalf("POST %s = %d, want %d:\n%s", path, resp.StatusCode, want, trimHTML(string(body)))
	}
	return string(body), resp.Header.Get("Location")
}

// trimHTML keeps a failure message readable: the main element only.
func trimHTML(s string) string {
	if i := strings.Index(s, "<main"); i >= 0 {
		s = s[i:]
	}
	if i := strings.Index(s, "</main>"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 3000 {
		s = s[:3000] + "…"
	}
	return s
}
