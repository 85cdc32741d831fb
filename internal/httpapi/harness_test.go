package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/httpapi"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
	"github.com/calibd/calibd/scheduler"
)

// api drives the real gin engine over a real store, and checks every
// response against the OpenAPI document.
type api struct {
	t   *testing.T
	st  *store.Store
	srv *httpapi.Server
}

func newAPI(t *testing.T, st *store.Store, cfg httpapi.Config) *api {
	t.Helper()
	if st != nil && cfg.Jobs == nil {
		jobs, err := scheduler.New(scheduler.Options{Logger: testenv.Logger(), Locker: st})
		if err != nil {
			t.Fatal(err)
		}
		if err := jobs.Register(scheduler.PlanJob(st, time.Now, devices.DefaultDueHorizonDays, "")); err != nil {
			t.Fatal(err)
		}
		if err := jobs.Register(scheduler.VisitsJob(st, time.Now, 60, "")); err != nil {
			t.Fatal(err)
		}
		if err := jobs.Register(scheduler.LiftsJob(st, st, time.Now, 7, "")); err != nil {
			t.Fatal(err)
		}
		if err := jobs.Register(scheduler.OverdueJob(st, time.Now, "")); err != nil {
			t.Fatal(err)
		}
		cfg.Jobs = jobs
	}
	srv, err := httpapi.New(st, testenv.Logger(), cfg, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return &api{t: t, st: st, srv: srv}
}

// eachAPI runs fn on both databases with a fresh server.
func eachAPI(t *testing.T, fn func(t *testing.T, a *api)) {
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		fn(t, newAPI(t, st, defaultCfg))
	})
}

type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r resp) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v: %s", err, r.Body)
	}
	return m
}

func (r resp) str(t testing.TB, k string) string {
	t.Helper()
	v, ok := r.json(t)[k].(string)
	if !ok {
		t.Fatalf("response has no string %q: %s", k, r.Body)
	}
	return v
}

// items returns the ids of a list response.
func (r resp) ids(t testing.TB) []string {
	t.Helper()
	var body struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("not a list: %v: %s", err, r.Body)
	}
	out := make([]string, len(body.Items))
	for i, it := range body.Items {
		out[i] = it.ID
	}
	return out
}

// fields returns the field names of a problem's errors.
func (r resp) fields(t testing.TB) []string {
	t.Helper()
	var p httpapi.Problem
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatalf("not a problem: %v: %s", err, r.Body)
	}
	out := make([]string, len(p.Errors))
	for i, e := range p.Errors {
		out[i] = e.Field
	}
	return out
}

func (r resp) code(t testing.TB) string {
	t.Helper()
	var p httpapi.Problem
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatalf("not a problem: %v: %s", err, r.Body)
	}
	return p.Code
}

// req is one request: body may be nil, a string (sent as is) or a value
// (sent as JSON).
type req struct {
	method, path, token string
	body                any
	header              map[string]string
}

func (a *api) do(r req) resp {
	a.t.Helper()
	var rd io.Reader
	ctype := ""
	switch b := r.body.(type) {
	case nil:
	case csvPayload:
		rd = strings.NewReader(string(b))
		ctype = "text/csv"
	case string:
		rd = strings.NewReader(b)
		ctype = "application/json"
	case []byte:
		rd = bytes.NewReader(b)
		ctype = "application/json"
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
		ctype = "application/json"
	}
	hr := httptest.NewRequest(r.method, r.path, rd)
	if ctype != "" {
		hr.Header.Set("Content-Type", ctype)
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	a.srv.Handler().ServeHTTP(w, hr)
	out := resp{Status: w.Code, Header: w.Header(), Body: w.Body.Bytes()}
	checkResponse(a.t, hr, out.Status, out.Header, out.Body)
	return out
}

func (a *api) must(r req, status int) resp {
	a.t.Helper()
	out := a.do(r)
	if out.Status != status {
		a.t.Fatalf("%s %s = %d, want %d: %s", r.method, r.path, out.Status, status, out.Body)
	}
	return out
}

// world is two venue operators, an institute and a firm, each with devices,
// built through the API.
type world struct {
	reg                              string // regulator admin token
	regOrg                           string
	opA, opB, inst, inst2, firm      string // org ids
	adminA, memberA, adminB          string // tokens
	instTok, inst2Tok, firmTok       string
	venueA, venueB                   string
	thermA, thermB, thermAUnassigned string
	elevA, elevB                     string
	tokenA                           string // id of adminA's token
	taskA                            string // the calibration task of thermA
	visitA                           string // the institute's planned visit to venueA
	eventA                           string // an overdue event about operator A's thermometer
	requestA                         string // a calibration request of operator A (made by a.request)
	feedA                            string // operator A's calendar feed of venueA (made by a.feed)
	standardA, resultA               string // the institute\'s standard and thermA\'s result (made by a.result)
	deferralA                        string // a deferral naming venueA only (made by a.deferral)
	contractA, agreementA            string // elevA's contract with the firm and the firm's proposal (made by a.contract)
	alertA                           string // a drift alert on thermA (made by a.alert)
	technicianA                      string // the institute's technician, assigned to visitA (made by a.technician)
	liftTaskA, liftReportA           string // elevA's first on-site task and the firm's report of it (made by a.liftWork)
}

func (a *api) org(reg, name, kind string) string {
	return a.must(req{method: "POST", path: "/api/v1/organizations", token: reg,
		body: map[string]any{"name": name, "kind": kind}}, 201).str(a.t, "id")
}

func (a *api) token(reg, org, role string) (secret, id string) {
	r := a.must(req{method: "POST", path: "/api/v1/organizations/" + org + "/tokens", token: reg,
		body: map[string]any{"name": role + " token", "role": role}}, 201)
	return r.str(a.t, "token"), r.str(a.t, "id")
}

func (a *api) venue(tok, name string) string {
	return a.must(req{method: "POST", path: "/api/v1/venues", token: tok, body: map[string]any{
		"name": name, "kind": "hospital", "region_code": "310115", "time_zone": "Asia/Shanghai"}}, 201).str(a.t, "id")
}

func (a *api) thermometer(tok, venue, serial string, institute string) string {
	body := map[string]any{"venue_id": venue, "type": "ir_ear", "manufacturer": "Braun", "model": "IRT6520", "serial": serial}
	if institute != "" {
		body["institute_id"] = institute
	}
	return a.must(req{method: "POST", path: "/api/v1/thermometers", token: tok, body: body}, 201).str(a.t, "id")
}

func (a *api) elevator(tok, venue, code, firm string) string {
	return a.must(req{method: "POST", path: "/api/v1/elevators", token: tok, body: map[string]any{
		"venue_id": venue, "registration_code": code, "manufacturer": "Otis", "maintenance_firm_id": firm,
		"commissioning_date": "2015-06-30"}}, 201).str(a.t, "id")
}

func newWorld(t *testing.T, a *api) *world {
	t.Helper()
	reg, err := a.st.Bootstrap(context.Background(), "")
	if err != nil || reg == "" {
		t.Fatalf("bootstrap: %v", err)
	}
	w := &world{reg: reg}
	w.regOrg = a.must(req{method: "GET", path: "/api/v1/me", token: reg}, 200).json(t)["organization"].(map[string]any)["id"].(string)
	w.opA = a.org(reg, "Operator A", "venue_operator")
	w.opB = a.org(reg, "Operator B", "venue_operator")
	w.inst = a.org(reg, "Institute", "metrology_institute")
	w.inst2 = a.org(reg, "Other institute", "metrology_institute")
	w.firm = a.org(reg, "Lift firm", "maintenance_firm")
	w.adminA, w.tokenA = a.token(reg, w.opA, "admin")
	w.memberA, _ = a.token(reg, w.opA, "member")
	w.adminB, _ = a.token(reg, w.opB, "admin")
	w.instTok, _ = a.token(reg, w.inst, "admin")
	w.inst2Tok, _ = a.token(reg, w.inst2, "admin")
	w.firmTok, _ = a.token(reg, w.firm, "admin")
	w.venueA = a.venue(w.adminA, "Hospital A")
	w.venueB = a.venue(w.adminB, "Hospital B")
	w.thermA = a.thermometer(w.adminA, w.venueA, "A-1", w.inst)
	// Calibrated a year and two days ago with the default 365-day
	// interval: overdue, so the overdue job raises events about it.
	w.thermAUnassigned = a.must(req{method: "POST", path: "/api/v1/thermometers", token: w.adminA, body: map[string]any{
		"venue_id": w.venueA, "type": "ir_ear", "manufacturer": "Braun", "model": "IRT6520", "serial": "A-2",
		"last_calibrated_at": time.Now().UTC().AddDate(-1, 0, -2).Format(time.RFC3339)}}, 201).str(t, "id")
	w.thermB = a.thermometer(w.adminB, w.venueB, "B-1", w.inst)
	w.elevA = a.elevator(w.adminA, w.venueA, "LIFT-A-1", w.firm)
	w.elevB = a.elevator(w.adminB, w.venueB, "LIFT-B-1", w.firm)
	// Every thermometer above was never calibrated, so the plan job makes
	// each a task.
	a.must(req{method: "POST", path: "/api/v1/scheduler/jobs/plan/run", token: reg}, 200)
	w.taskA = a.must(req{method: "GET", path: "/api/v1/tasks?thermometer_id=" + w.thermA, token: w.adminA}, 200).ids(t)[0]
	a.must(req{method: "POST", path: "/api/v1/scheduler/jobs/visits/run", token: reg}, 200)
	w.visitA = a.must(req{method: "GET", path: "/api/v1/visits?venue_id=" + w.venueA, token: w.adminA}, 200).ids(t)[0]
	a.must(req{method: "POST", path: "/api/v1/scheduler/jobs/overdue/run", token: reg}, 200)
	w.eventA = a.must(req{method: "GET", path: "/api/v1/events?kind=device_overdue", token: w.adminA}, 200).ids(t)[0]
	return w
}

func csvBody(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

// csvPayload is a body sent as text/csv.
type csvPayload string

func (a *api) csv(method, path, token, body string) resp {
	a.t.Helper()
	return a.do(req{method: method, path: path, token: token, body: csvPayload(body)})
}

var defaultCfg = httpapi.Config{AuthCacheTTL: 5 * time.Second}

func problemErrors(t testing.TB, r resp) []devices.FieldError {
	t.Helper()
	var p httpapi.Problem
	mustJSON(t, r.Body, &p)
	return p.Errors
}

func mustJSON(t testing.TB, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

// request makes operator A's calibration request for thermA and returns
// its id.
func (a *api) request(w *world) string {
	return a.must(req{method: "POST", path: "/api/v1/requests", token: w.adminA, body: map[string]any{"venue_id": w.venueA,
		"thermometer_ids": []string{w.thermA}, "reason": "readings look high", "window_from": "2026-12-01",
		"window_to": "2026-12-10"}}, 201).str(a.t, "id")
}

// feed makes operator A's calendar feed of venueA and returns its id and
// its URL (which carries the secret).
func (a *api) feed(w *world) (id, url string) {
	r := a.must(req{method: "POST", path: "/api/v1/feeds", token: w.adminA, body: map[string]any{"kind": "venue",
		"subject_id": w.venueA, "name": "Terminal 2 calibrations"}}, 201)
	return r.str(a.t, "id"), r.str(a.t, "url")
}

// calData is a passing ear-thermometer calibration at 35.0, 37.0 and
// 41.5 °C.
func calData() map[string]any {
	pt := func(ref float64) map[string]any {
		return map[string]any{"reference_c": ref, "as_found_c": []float64{ref + 0.05, ref + 0.05, ref + 0.05}, "u_c": 0.05}
	}
	return map[string]any{"mode": "calibration", "rule": "simple_acceptance", "adjusted": false,
		"ambient": map[string]any{"temp_c": 23.0, "rh_percent": 50.0}, "points": []any{pt(35.0), pt(37.0), pt(41.5)}}
}

// result registers the institute's blackbody, confirms and starts visitA
// and records thermA's calibration; it returns the standard and result ids.
func (a *api) result(w *world) (standard, result string) {
	now := time.Now().UTC()
	standard = a.must(req{method: "POST", path: "/api/v1/standards", token: w.instTok, body: map[string]any{
		"name": "Blackbody BB-37", "serial": "BB-001", "certificate_no": "NIM-2026-0042",
		"calibrated_at": now.AddDate(0, 0, -30).Format(time.RFC3339), "due_at": now.AddDate(0, 0, 300).Format(time.RFC3339)}}, 201).str(a.t, "id")
	a.must(req{method: "POST", path: "/api/v1/visits/" + w.visitA + "/confirm", token: w.instTok}, 200)
	a.must(req{method: "POST", path: "/api/v1/visits/" + w.visitA + "/start", token: w.instTok}, 200)
	body := calData()
	body["task_id"], body["standard_id"] = w.taskA, standard
	// Whole seconds, as clients send them: the task was created within
	// this second, and the result still counts as after it.
	body["performed_at"] = now.Format(time.RFC3339)
	result = a.must(req{method: "POST", path: "/api/v1/results", token: w.instTok, body: body}, 201).str(a.t, "id")
	return standard, result
}

// technician registers a technician of the institute, assigns it to
// visitA and returns its id.
func (a *api) technician(w *world) string {
	id := a.must(req{method: "POST", path: "/api/v1/technicians", token: w.instTok, body: map[string]any{
		"name": "Zhang Min", "email": "zhang.min@example.org"}}, 201).str(a.t, "id")
	a.must(req{method: "POST", path: "/api/v1/visits/" + w.visitA + "/technicians", token: w.instTok,
		body: map[string]any{"technician_ids": []string{id}}}, 200)
	return id
}

// deferral declares a deferral naming venueA only, with a window in 2030
// that moves nothing, and returns its id.
func (a *api) deferral(w *world) string {
	return a.must(req{method: "POST", path: "/api/v1/deferrals", token: w.reg, body: map[string]any{"name": "Terminal works",
		"reason": "terminal closed", "venue_ids": []string{w.venueA}, "window_from": "2030-01-01", "window_to": "2030-01-31"}}, 201).str(a.t, "id")
}

// contract makes operator A contract the firm for elevA from today (in
// Shanghai) and the firm propose a 30-day cycle with weekly remote checks
// for the next 90 days; it returns both ids.
func (a *api) contract(w *world) (contract, agreement string) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		a.t.Fatal(err)
	}
	today := time.Now().In(sh)
	contract = a.must(req{method: "POST", path: "/api/v1/contracts", token: w.adminA, body: map[string]any{
		"elevator_id": w.elevA, "firm_id": w.firm, "starts_on": today.Format(time.DateOnly)}}, 201).str(a.t, "id")
	agreement = a.must(req{method: "POST", path: "/api/v1/agreements", token: w.firmTok, body: map[string]any{
		"contract_id": contract, "onsite_cycle_days": 30, "remote_interval_days": 7, "valid_from": today.Format(time.DateOnly),
		"valid_to": today.AddDate(0, 0, 90).Format(time.DateOnly), "reason": "fewer site visits during the emergency"}}, 201).str(a.t, "id")
	return contract, agreement
}

// halfMonthlyItems gives every half-monthly T5002 item a result: on site
// all ok; remote (remote=true) the remotely checkable ones ok or, when
// listed in failed, not_ok, the others not_checkable_remotely.
func halfMonthlyItems(remote bool, failed ...string) []any {
	var items []any
	for i := 1; i <= 31; i++ {
		code := fmt.Sprintf("HM%02d", i)
		it, _ := devices.ChecklistItemByCode(code)
		res := "ok"
		switch {
		case slices.Contains(failed, code):
			res = "not_ok"
		case remote && !it.Remote:
			res = "not_checkable_remotely"
		}
		items = append(items, map[string]any{"code": code, "result": res, "note": map[bool]string{true: "broken", false: ""}[res == "not_ok"]})
	}
	return items
}

// liftWork runs the lifts job after a.contract, so elevA's first on-site
// task is due today, and has the firm report that visit.
func (a *api) liftWork(w *world) (task, report string) {
	a.must(req{method: "POST", path: "/api/v1/scheduler/jobs/lifts/run", token: w.reg}, 200)
	ids := a.must(req{method: "GET", path: "/api/v1/lift-tasks?kind=onsite&state=open&elevator_id=" + w.elevA, token: w.firmTok}, 200).ids(a.t)
	if len(ids) != 1 {
		a.t.Fatalf("open on-site tasks of elevA after the lifts job: %v", ids)
	}
	report = a.must(req{method: "POST", path: "/api/v1/lift-reports", token: w.firmTok, body: map[string]any{
		"kind": "onsite", "elevator_id": w.elevA, "category": "half_monthly", "performed_at": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339),
		"technician": "Wang Wei", "items": halfMonthlyItems(false)}}, 201).str(a.t, "id")
	return ids[0], report
}

// alert stores three calibration checks of thermA 0.1 °C off its
// detectors' target, as the ingest would, and returns the drift alert they
// raise. They are dated after now: a result recorded earlier reset the
// detectors.
func (a *api) alert(w *world) string {
	// 0.1 °C away from the error the detectors aim at (0 before a
	// calibration; the calibration's error after one).
	target := a.must(req{method: "GET", path: "/api/v1/devices/" + w.thermA + "/drift", token: w.adminA}, 200).json(a.t)["target_error_c"].(float64)
	var msgs []devices.Message
	for i := range 3 {
		msgs = append(msgs, devices.Message{Kind: devices.MessageChecks, Check: &devices.CheckReading{DeviceID: w.thermA, Seq: int64(i + 1),
			TS: time.Now().UTC().Add(time.Duration(i+1) * time.Second), ReferenceC: 37, ValueC: 37.1 + target, Mode: devices.ModeCalibration}})
	}
	if _, err := a.st.SaveMessages(context.Background(), msgs, time.Now()); err != nil {
		a.t.Fatal(err)
	}
	ids := a.must(req{method: "GET", path: "/api/v1/alerts?device_id=" + w.thermA + "&kind=drift", token: w.adminA}, 200).ids(a.t)
	if len(ids) != 1 {
		a.t.Fatalf("drift alerts of thermA: %v", ids)
	}
	return ids[0]
}
