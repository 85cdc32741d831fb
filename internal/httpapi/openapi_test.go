package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/httpapi"
	"github.com/calibd/calibd/internal/testenv"
)

// The embedded OpenAPI document, parsed, validated and routed once per test
// binary: checkResponse runs on every request of every API test.
var openapiSpec struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	opts   *openapi3filter.Options
	err    error
}

// uuidPattern is what devices.IsUUID accepts: any canonical UUID, any case.
var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

type uuidFormat struct{}

func (uuidFormat) Validate(v string) error {
	if !uuidPattern.MatchString(v) {
		return fmt.Errorf("%q is not a UUID", v)
	}
	return nil
}

func loadOpenAPISpec() (*openapi3.T, routers.Router, *openapi3filter.Options, error) {
	openapiSpec.once.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(httpapi.OpenAPI())
		if err != nil {
			openapiSpec.err = fmt.Errorf("parse openapi.json: %w", err)
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			openapiSpec.err = fmt.Errorf("openapi.json is not a valid OpenAPI 3 document: %w", err)
			return
		}
		router, err := legacy.NewRouter(doc)
		if err != nil {
			openapiSpec.err = fmt.Errorf("route openapi.json: %w", err)
			return
		}
		// Calendar feeds are text: validate them as a string body.
		openapi3filter.RegisterBodyDecoder("text/calendar", openapi3filter.FileBodyDecoder)
		openapi3filter.RegisterBodyDecoder("application/pdf", openapi3filter.FileBodyDecoder)
		openapiSpec.doc, openapiSpec.router = doc, router
		openapiSpec.opts = &openapi3filter.Options{
			// A status the document does not list for the operation is a
			// mismatch, not a pass.
			IncludeResponseStatus: true,
			MultiError:            true,
			// format: uuid is not checked by default; ids are a contract.
			SchemaValidationOptions: []openapi3.SchemaValidationOption{
				openapi3.WithStringFormatValidator("uuid", uuidFormat{}),
			},
		}
	})
	return openapiSpec.doc, openapiSpec.router, openapiSpec.opts, openapiSpec.err
}

// checkResponse validates a recorded response to req against the OpenAPI
// document: the status must be one the operation lists, documented headers
// (ETag, Location, X-Request-ID, ...) must be present and well-formed, and
// the body must match the schema of its content type (application/json,
// application/problem+json, text/csv, text/plain). A request the document
// has no operation for passes only as gin's own 404 no_route or 405
// method_not_allowed problem. A mismatch is reported with tb.Errorf; the
// test goes on. req is only read for its method and URL (its body may be
// consumed).
func checkResponse(tb testing.TB, req *http.Request, status int, header http.Header, body []byte) {
	tb.Helper()
	doc, router, opts, err := loadOpenAPISpec()
	if err != nil {
		tb.Errorf("checkResponse: %v", err)
		return
	}
	what := req.Method + " " + req.URL.RequestURI()
	// Route on the path alone: the document's server is "/", whatever host
	// and scheme the test's request names.
	u := *req.URL
	u.Scheme, u.Host, u.User = "", "", nil
	req = req.WithContext(req.Context())
	req.URL = &u
	route, params, err := router.FindRoute(req)
	if err != nil {
		if msg := checkUnrouted(doc, router, req, status, header, body); msg != "" {
			tb.Errorf("%s answered %d, which the OpenAPI document does not describe: %s\nbody: %s", what, status, msg, clipBody(body))
		}
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route, Options: opts,
		},
		Status:  status,
		Header:  header,
		Body:    io.NopCloser(bytes.NewReader(body)),
		Options: opts,
	}
	if err := openapi3filter.ValidateResponse(req.Context(), in); err != nil {
		tb.Errorf("%s answered %d, which does not match operation %s of the OpenAPI document:\n%s\nContent-Type: %q\nbody: %s",
			what, status, route.Operation.OperationID, describeMismatch(err), header.Get("Content-Type"), clipBody(body))
	}
}

// describeMismatch flattens a validation error into one line per problem, each
// with the JSON pointer at fault, leaving out kin-openapi's schema dumps.
func describeMismatch(err error) string {
	var re *openapi3filter.ResponseError
	if errors.As(err, &re) {
		if re.Err == nil {
			return re.Reason
		}
		return re.Reason + ":\n" + describeMismatch(re.Err)
	}
	var me openapi3.MultiError
	if errors.As(err, &me) {
		lines := make([]string, 0, len(me))
		for _, e := range me {
			lines = append(lines, describeMismatch(e))
		}
		return strings.Join(lines, "\n")
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		return "  at /" + strings.Join(se.JSONPointer(), "/") + ": " + se.Reason
	}
	return "  " + err.Error()
}

// checkUnrouted judges a response to a request no operation describes: it
// must be the engine's 404 no_route (no operation has this path) or 405
// method_not_allowed (an operation has the path, under another method), as
// a Problem. It returns what is wrong, or "".
func checkUnrouted(doc *openapi3.T, router routers.Router, req *http.Request, status int, header http.Header, body []byte) string {
	pathKnown := false
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == req.Method {
			continue
		}
		r2 := req.Clone(context.Background())
		r2.Method = m
		if _, _, err := router.FindRoute(r2); err == nil {
			pathKnown = true
			break
		}
	}
	wantStatus, wantCode := http.StatusNotFound, "no_route"
	if pathKnown {
		wantStatus, wantCode = http.StatusMethodNotAllowed, "method_not_allowed"
	}
	if status != wantStatus {
		return fmt.Sprintf("no operation matches %s %s, so only %d %s may answer", req.Method, req.URL.Path, wantStatus, wantCode)
	}
	if mt, _, _ := mime.ParseMediaType(header.Get("Content-Type")); mt != "application/problem+json" {
		return fmt.Sprintf("content type %q, want application/problem+json", header.Get("Content-Type"))
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return "body is not JSON: " + err.Error()
	}
	if err := doc.Components.Schemas["Problem"].Value.VisitJSON(v, openapi3.MultiErrors()); err != nil {
		return "body is not a Problem:\n" + describeMismatch(err)
	}
	if code := v.(map[string]any)["code"]; code != wantCode {
		return fmt.Sprintf("code %v, want %s", code, wantCode)
	}
	return ""
}

func clipBody(b []byte) string {
	const limit = 2000
	if len(b) > limit {
		return string(b[:limit]) + fmt.Sprintf("... (%d bytes)", len(b))
	}
	return string(b)
}

// TestOpenAPIDocumentIsValid: the embedded document parses and validates
// as OpenAPI 3, and the conventions every operation follows hold.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(httpapi.OpenAPI())
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatalf("validate: %v", err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}
	if len(doc.Security) != 1 || doc.Security[0]["bearerAuth"] == nil {
		t.Errorf("global security = %v, want bearerAuth", doc.Security)
	}
	public := map[string]bool{"GET /healthz": true, "GET /readyz": true, "GET /metrics": true, "GET /api/v1/openapi.json": true,
		"GET /feeds/{file}": true} // the secret in the path is the credential
	ids := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			name := method + " " + path
			if op.OperationID == "" || op.Summary == "" || op.Description == "" {
				t.Errorf("%s lacks operationId, summary or description", name)
			}
			if prev, dup := ids[op.OperationID]; dup {
				t.Errorf("%s and %s share operationId %s", name, prev, op.OperationID)
			}
			ids[op.OperationID] = name
			secured := op.Security == nil || len(*op.Security) > 0
			if secured == public[name] {
				t.Errorf("%s: secured = %v, want %v (only %v are public)", name, secured, !public[name], sortedKeys(public))
			}
			if secured && op.Responses.Status(http.StatusUnauthorized) == nil {
				t.Errorf("%s is secured but documents no 401", name)
			}
			for code, r := range op.Responses.Map() {
				for ct, mt := range r.Value.Content {
					isProblem := ct == "application/problem+json"
					if name == "GET /metrics" && code == "500" && ct == "text/plain" {
						continue // promhttp reports a failed gather itself
					}
					if (code[0] == '4' || code[0] == '5') != isProblem {
						t.Errorf("%s %s is served as %s", name, code, ct)
					}
					if isProblem && !strings.HasSuffix(mt.Schema.Ref, "Problem") {
						t.Errorf("%s %s: problem schema %q is not a Problem", name, code, mt.Schema.Ref)
					}
				}
			}
			if op.RequestBody != nil && !strings.HasPrefix(path, "/broker/") { // broker hooks ignore extra fields
				for ct, mt := range op.RequestBody.Value.Content {
					if ct != "application/json" {
						continue
					}
					if s := mt.Schema.Value; s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has {
						t.Errorf("%s: request body %s allows unknown fields, but the handler refuses them", name, mt.Schema.Ref)
					}
				}
			}
		}
	}
}

// TestOpenAPIEnumsMatchDomain: the document's enums are the domain's.
func TestOpenAPIEnumsMatchDomain(t *testing.T) {
	doc, _, _, err := loadOpenAPISpec()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"OrgKind":           enumStrings(devices.OrgKinds),
		"Role":              {string(devices.RoleAdmin), string(devices.RoleMember)},
		"VenueKind":         enumStrings(devices.VenueKinds),
		"ThermometerType":   enumStrings(devices.ThermometerTypes),
		"ThermometerStatus": enumStrings(devices.ThermometerStatuses),
		"ReadingMode":       {string(devices.ModeCalibration), string(devices.ModeBody)},
		"ElevatorStatus":    enumStrings(devices.ElevatorStatuses),
		"AuditResource":     devices.AuditResources,
		"AuditAction":       devices.AuditActions,
		"TaskState":         enumStrings(devices.TaskStates),
		"TaskKind":          enumStrings(devices.TaskKinds),
		"VisitState":        enumStrings(devices.VisitStates),
		"RequestState":      enumStrings(devices.RequestStates),
		"EventKind":         enumStrings(devices.EventKinds),
		"IntervalKind":      enumStrings(devices.IntervalKinds),
		"DeadLetterReason":  devices.DeadLetterReasons,
	}
	for name, w := range want {
		s := doc.Components.Schemas[name]
		if s == nil {
			t.Errorf("components/schemas/%s is missing", name)
			continue
		}
		var got []string
		for _, v := range s.Value.Enum {
			got = append(got, v.(string))
		}
		if !slices.Equal(got, w) {
			t.Errorf("%s enum = %v, want %v", name, got, w)
		}
	}
}

func enumStrings[T ~string](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var ginParam = regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)

// TestOpenAPIDescribesEveryRoute: every gin route has an operation, and
// every operation a route.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	doc, _, _, err := loadOpenAPISpec()
	if err != nil {
		t.Fatal(err)
	}
	srv := newSpecServer(t).srv
	routes := map[string]bool{}
	for _, r := range srv.Routes() {
		routes[r.Method+" "+ginParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	ops := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			ops[method+" "+path] = true
		}
	}
	for r := range routes {
		if !ops[r] {
			t.Errorf("route %s is not described in openapi.json", r)
		}
	}
	for o := range ops {
		if !routes[o] {
			t.Errorf("openapi.json describes %s, which is not a route", o)
		}
	}
	if len(routes) == 0 {
		t.Fatal("the server has no routes")
	}
}

// specServer is a server over a fresh SQLite store with a regulator, a
// venue operator and one of each object, made through the API.
type specServer struct {
	t           *testing.T
	srv         *httpapi.Server
	regTok      string
	opTok       string
	org, tokID  string
	venue       string
	therm, elev string
	institute   string
	task        string
	visit       string
	event       string
	request     string
	standard    string
	result      string
	deferral    string
	contract    string
	agreement   string
	liftTask    string // the lift's first on-site task, made by the lifts job
	liftReport  string // the firm's report of it
	instTok     string // the institute's admin token
	technician  string // the institute's technician, assigned to visit
}

func newSpecServer(t *testing.T) *specServer {
	t.Helper()
	st := testenv.Store(t, "sqlite")
	srv := newAPI(t, st, httpapi.Config{}).srv
	reg, err := st.Bootstrap(t.Context(), "")
	if err != nil || reg == "" {
		t.Fatalf("bootstrap: %q, %v", reg, err)
	}
	return &specServer{t: t, srv: srv, regTok: reg}
}

// call sends one request, checks the response against the document and
// the expected status, and returns the decoded JSON body (nil for others).
func (s *specServer) call(method, target, token, ctype string, body string, header map[string]string, want int) (map[string]any, http.Header) {
	s.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	s.srv.Handler().ServeHTTP(w, req)
	checkResponse(s.t, req, w.Code, w.Header(), w.Body.Bytes())
	if w.Code != want {
		s.t.Fatalf("%s %s = %d, want %d: %s", method, target, w.Code, want, w.Body.Bytes())
	}
	var out map[string]any
	if strings.Contains(w.Header().Get("Content-Type"), "json") {
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			s.t.Fatalf("%s %s: %v: %s", method, target, err, w.Body.Bytes())
		}
	}
	return out, w.Header()
}

func (s *specServer) json(method, target, token string, body any, header map[string]string, want int) (map[string]any, http.Header) {
	s.t.Helper()
	b := ""
	if body != nil {
		enc, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		b = string(enc)
	}
	ct := ""
	if b != "" {
		ct = "application/json"
	}
	return s.call(method, target, token, ct, b, header, want)
}

// populate makes one object of every kind through the API.
func (s *specServer) populate() {
	s.t.Helper()
	org, _ := s.json("POST", "/api/v1/organizations", s.regTok,
		map[string]any{"name": "Operator", "kind": "venue_operator", "region_code": "cn-sh", "contact_email": "ops@example.org"}, nil, 201)
	s.org = org["id"].(string)
	inst, _ := s.json("POST", "/api/v1/organizations", s.regTok, map[string]any{"name": "Institute", "kind": "metrology_institute"}, nil, 201)
	s.institute = inst["id"].(string)
	firm, _ := s.json("POST", "/api/v1/organizations", s.regTok, map[string]any{"name": "Firm", "kind": "maintenance_firm"}, nil, 201)
	tok, _ := s.json("POST", "/api/v1/organizations/"+s.org+"/tokens", s.regTok,
		map[string]any{"name": "ops", "role": "admin", "expires_at": "2999-01-01T00:00:00Z"}, nil, 201)
	s.opTok, s.tokID = tok["token"].(string), tok["id"].(string)
	v, _ := s.json("POST", "/api/v1/venues", s.opTok, map[string]any{"name": "Station", "kind": "railway_station",
		"region_code": "310112", "time_zone": "Asia/Shanghai", "lat": 31.19, "lon": 121.32,
		"contact": map[string]any{"name": "Li", "phone": "123", "email": "li@example.org"}}, nil, 201)
	s.venue = v["id"].(string)
	th, _ := s.json("POST", "/api/v1/thermometers", s.opTok, map[string]any{"venue_id": s.venue, "type": "ir_ear",
		"manufacturer": "Braun", "model": "IRT6520", "serial": "S-1", "institute_id": s.institute,
		"last_calibrated_at": "2026-01-05T08:00:00Z", "mpe_override_c": 0.3, "mpe_override_reason": "contract"}, nil, 201)
	s.therm = th["id"].(string)
	el, _ := s.json("POST", "/api/v1/elevators", s.opTok, map[string]any{"venue_id": s.venue, "registration_code": "lift-1",
		"manufacturer": "Otis", "maintenance_firm_id": firm["id"], "commissioning_date": "2015-06-30"}, nil, 201)
	s.elev = el["id"].(string)
	// Never calibrated, so due now: the plan job makes it a task.
	due, _ := s.json("POST", "/api/v1/thermometers", s.opTok, map[string]any{"venue_id": s.venue, "type": "ir_forehead",
		"manufacturer": "Beurer", "model": "FT 90", "serial": "S-2", "institute_id": s.institute}, nil, 201)
	s.json("POST", "/api/v1/scheduler/jobs/plan/run", s.regTok, nil, nil, 200)
	tasks, _ := s.json("GET", "/api/v1/tasks?thermometer_id="+due["id"].(string), s.regTok, nil, nil, 200)
	s.task = tasks["items"].([]any)[0].(map[string]any)["id"].(string)
	s.json("POST", "/api/v1/scheduler/jobs/visits/run", s.regTok, nil, nil, 200)
	visits, _ := s.json("GET", "/api/v1/visits?institute_id="+s.institute, s.regTok, nil, nil, 200)
	s.visit = visits["items"].([]any)[0].(map[string]any)["id"].(string)
	// Calibrated long ago: the overdue job raises an event about it.
	s.json("POST", "/api/v1/thermometers", s.opTok, map[string]any{"venue_id": s.venue, "type": "ir_ear",
		"manufacturer": "Braun", "model": "IRT6520", "serial": "S-OLD", "last_calibrated_at": "2024-01-05T08:00:00Z"}, nil, 201)
	s.json("POST", "/api/v1/scheduler/jobs/overdue/run", s.regTok, nil, nil, 200)
	events, _ := s.json("GET", "/api/v1/events", s.regTok, nil, nil, 200)
	s.event = events["items"].([]any)[0].(map[string]any)["id"].(string)
	r, _ := s.json("POST", "/api/v1/requests", s.opTok, map[string]any{"venue_id": s.venue, "thermometer_ids": []string{s.therm},
		"reason": "readings look high", "window_from": "2026-12-01", "window_to": "2026-12-05"}, nil, 201)
	s.request = r["id"].(string)
	lab, _ := s.json("POST", "/api/v1/organizations/"+s.institute+"/tokens", s.regTok, map[string]any{"name": "lab", "role": "admin"}, nil, 201)
	instTok := lab["token"].(string)
	s.instTok = instTok
	tech, _ := s.json("POST", "/api/v1/technicians", instTok, map[string]any{"name": "Zhang Min", "email": "zhang.min@example.org",
		"phone": "+86 21 0000 0001"}, nil, 201)
	s.technician = tech["id"].(string)
	s.json("POST", "/api/v1/visits/"+s.visit+"/technicians", instTok, map[string]any{"technician_ids": []string{s.technician}}, nil, 200)
	now := time.Now().UTC()
	std, _ := s.json("POST", "/api/v1/standards", instTok, map[string]any{"name": "Blackbody", "serial": "BB-1", "certificate_no": "NIM-1",
		"calibrated_at": now.AddDate(0, 0, -10).Format(time.RFC3339), "due_at": now.AddDate(0, 0, 100).Format(time.RFC3339)}, nil, 201)
	s.standard = std["id"].(string)
	s.json("POST", "/api/v1/visits/"+s.visit+"/confirm", instTok, nil, nil, 200)
	s.json("POST", "/api/v1/visits/"+s.visit+"/start", instTok, nil, nil, 200)
	body := calData()
	body["task_id"], body["standard_id"], body["performed_at"] = s.task, s.standard, now.Add(time.Second).Format(time.RFC3339)
	res, _ := s.json("POST", "/api/v1/results", instTok, body, nil, 201)
	s.result = res["id"].(string)
	def, _ := s.json("POST", "/api/v1/deferrals", s.regTok, map[string]any{"name": "Works", "reason": "closed",
		"venue_ids": []string{s.venue}, "window_from": "2030-01-01", "window_to": "2030-01-31"}, nil, 201)
	s.deferral = def["id"].(string)
	firmID := firm["id"].(string)
	firmTok, _ := s.json("POST", "/api/v1/organizations/"+firmID+"/tokens", s.regTok, map[string]any{"name": "f", "role": "admin"}, nil, 201)
	today := time.Now().UTC().Format(time.DateOnly)
	con, _ := s.json("POST", "/api/v1/contracts", s.opTok, map[string]any{"elevator_id": s.elev, "firm_id": firmID, "starts_on": today}, nil, 201)
	s.contract = con["id"].(string)
	ag, _ := s.json("POST", "/api/v1/agreements", firmTok["token"].(string), map[string]any{"contract_id": s.contract, "onsite_cycle_days": 30,
		"remote_interval_days": 7, "valid_from": today, "valid_to": time.Now().UTC().AddDate(0, 0, 60).Format(time.DateOnly), "reason": "r"}, nil, 201)
	s.agreement = ag["id"].(string)
	s.json("POST", "/api/v1/scheduler/jobs/lifts/run", s.regTok, nil, nil, 200)
	lt, _ := s.json("GET", "/api/v1/lift-tasks?elevator_id="+s.elev, s.regTok, nil, nil, 200)
	s.liftTask = lt["items"].([]any)[0].(map[string]any)["id"].(string)
	rep, _ := s.json("POST", "/api/v1/lift-reports", firmTok["token"].(string), map[string]any{"kind": "onsite", "elevator_id": s.elev,
		"category": "half_monthly", "performed_at": time.Now().UTC().Add(-time.Minute).Format(time.RFC3339), "technician": "Wang Wei",
		"items": halfMonthlyItems(false)}, nil, 201)
	s.liftReport = rep["id"].(string)
}

// TestResponsesMatchOpenAPI drives real requests, successes and failures,
// through the engine and checks each response against the document.
func TestResponsesMatchOpenAPI(t *testing.T) {
	s := newSpecServer(t)
	s.populate()
	reg, op := s.regTok, s.opTok
	venue := "/api/v1/venues/" + s.venue
	stranger := "/api/v1/venues/00000000-0000-7000-8000-000000000000"

	s.call("GET", "/healthz", "", "", "", nil, 200)
	s.call("GET", "/readyz", "", "", "", nil, 200)
	s.call("GET", "/metrics", "", "", "", nil, 200)
	s.call("GET", "/api/v1/openapi.json", "", "", "", nil, 200)
	s.call("GET", "/api/v1/me", op, "", "", nil, 200)
	s.call("GET", "/api/v1/me", "", "", "", nil, 401)
	s.call("GET", "/api/v1/me", "cdt_nope", "", "", nil, 401)
	s.call("GET", "/api/v1/tolerance-profiles", op, "", "", nil, 200)
	s.call("GET", "/api/v1/tolerance-profiles/jjg1164_ear", op, "", "", nil, 200)
	s.call("GET", "/api/v1/tolerance-profiles/none", op, "", "", nil, 404)

	s.call("GET", "/api/v1/organizations?kind=venue_operator&limit=1", reg, "", "", nil, 200)
	s.call("GET", "/api/v1/organizations?kind=bank", reg, "", "", nil, 422)
	s.call("GET", "/api/v1/organizations/"+s.org, op, "", "", nil, 200)
	s.json("POST", "/api/v1/organizations", op, map[string]any{"name": "X", "kind": "regulator"}, nil, 403)
	s.call("GET", "/api/v1/organizations/"+s.org+"/tokens", op, "", "", nil, 200)
	s.json("POST", "/api/v1/organizations/"+s.org+"/tokens/"+s.tokID+"/revoke", reg, nil, nil, 200)
	tok, _ := s.json("POST", "/api/v1/organizations/"+s.org+"/tokens", reg, map[string]any{"name": "again"}, nil, 201)
	op = tok["token"].(string)

	s.call("GET", "/api/v1/venues?include_retired=true&region_code=310112", op, "", "", nil, 200)
	s.call("GET", "/api/v1/venues?colour=red", op, "", "", nil, 422)
	_, h := s.call("GET", venue, op, "", "", nil, 200)
	etag := h.Get("ETag")
	s.call("GET", venue, reg, "", "", nil, 200)
	s.call("GET", stranger, op, "", "", nil, 404)
	s.json("POST", "/api/v1/venues", reg, map[string]any{"name": "V", "kind": "mall", "region_code": "310115", "time_zone": "Asia/Shanghai"}, nil, 403)
	s.json("POST", "/api/v1/venues", op, map[string]any{"name": "", "kind": "castle", "contact": map[string]any{"fax": "1"}}, nil, 422)
	s.call("POST", "/api/v1/venues", op, "application/json", `{"name":`, nil, 400)
	s.call("POST", "/api/v1/venues", op, "application/x-www-form-urlencoded", `name=x`, nil, 415)
	s.json("PATCH", venue, op, map[string]any{"name": "Station 2"}, nil, 428)
	s.json("PATCH", venue, op, map[string]any{"name": "Station 2"}, map[string]string{"If-Match": `"99"`}, 412)
	s.json("PATCH", venue, reg, map[string]any{"name": "Station 2"}, map[string]string{"If-Match": etag}, 403)
	s.json("PATCH", venue, op, map[string]any{"name": "Station 2", "lat": nil, "lon": nil}, map[string]string{"If-Match": etag}, 200)
	s.json("POST", venue+"/retire", op, nil, nil, 409)

	s.call("GET", venue+"/thermometers/export", op, "", "", nil, 200)
	s.call("GET", venue+"/elevators/export", reg, "", "", nil, 200)
	s.call("GET", stranger+"/elevators/export", op, "", "", nil, 404)
	s.call("POST", venue+"/thermometers/import", op, "text/csv",
		"type,manufacturer,model,serial,modes\nir_forehead,Omron,MC-720,F-1,body\nir_ear,Braun,IRT6520,E-2,calibration;body\n", nil, 201)
	s.call("POST", venue+"/thermometers/import", op, "text/csv", "type,manufacturer,model,serial\nir_ear,Braun,IRT6520,S-1\nfoo,,,\n", nil, 422)
	s.call("POST", venue+"/elevators/import", op, "text/csv; charset=utf-8", "registration_code,manufacturer\nL-2,Kone\n", nil, 201)
	s.call("POST", venue+"/elevators/import", op, "application/json", "{}", nil, 415)

	s.call("GET", "/api/v1/thermometers?due_before=2030-01-01&type=ir_ear&include_retired=true", op, "", "", nil, 200)
	s.call("GET", "/api/v1/thermometers?due_before=soon", op, "", "", nil, 422)
	s.call("GET", "/api/v1/thermometers/"+s.therm, op, "", "", nil, 200)
	s.json("PATCH", "/api/v1/thermometers/"+s.therm, op, map[string]any{"version": 1, "status": "out_of_tolerance", "institute_id": nil}, nil, 200)
	s.json("PATCH", "/api/v1/thermometers/"+s.therm, op, map[string]any{"version": 2, "status": "in_service"}, nil, 409)
	s.json("POST", "/api/v1/thermometers", op, map[string]any{"venue_id": s.venue, "type": "ir_ear", "manufacturer": "Braun",
		"model": "IRT6520", "serial": "S-1"}, nil, 409)
	s.json("POST", "/api/v1/thermometers/"+s.therm+"/retire", op, map[string]any{"version": 2}, nil, 200)

	s.call("GET", "/api/v1/elevators?status=in_service", op, "", "", nil, 200)
	s.call("GET", "/api/v1/elevators/"+s.elev, op, "", "", nil, 200)
	s.json("PATCH", "/api/v1/elevators/"+s.elev, op, map[string]any{"maintenance_firm_id": nil, "commissioning_date": nil}, map[string]string{"If-Match": `W/"1"`}, 200)
	s.call("POST", "/api/v1/elevators/"+s.elev+"/retire", op, "", "", nil, 200)
	s.json("POST", "/api/v1/elevators", op, map[string]any{"venue_id": s.venue, "registration_code": "L-2", "manufacturer": "Otis"}, nil, 409)

	tech := "/api/v1/technicians/" + s.technician
	s.call("GET", "/api/v1/technicians?include_retired=true&institute_id="+s.institute, reg, "", "", nil, 200)
	s.call("GET", "/api/v1/technicians?institute_id=x", s.instTok, "", "", nil, 422)
	s.call("GET", tech, s.instTok, "", "", nil, 200)
	s.call("GET", tech, op, "", "", nil, 404)
	s.json("POST", "/api/v1/technicians", op, map[string]any{"name": "X"}, nil, 403)
	s.json("POST", "/api/v1/technicians", s.instTok, map[string]any{"name": " ", "email": "nope"}, nil, 422)
	s.json("PATCH", tech, s.instTok, map[string]any{"phone": "1"}, nil, 428)
	s.json("PATCH", tech, s.instTok, map[string]any{"phone": "1"}, map[string]string{"If-Match": `"9"`}, 412)
	s.json("PATCH", tech, reg, map[string]any{"phone": "1", "version": 1}, nil, 403)
	s.json("PATCH", tech, s.instTok, map[string]any{"phone": "+86 21 0000 0002", "version": 1}, nil, 200)
	s.call("POST", tech+"/retire", s.instTok, "", "", nil, 409) // assigned to the visit in progress
	s.json("POST", "/api/v1/visits/"+s.visit+"/technicians", op, map[string]any{"technician_ids": []string{}}, nil, 403)
	s.json("POST", "/api/v1/visits/"+s.visit+"/technicians", s.instTok, map[string]any{"technician_ids": []string{"x"}}, nil, 422)
	s.json("POST", "/api/v1/visits/"+s.visit+"/technicians", s.instTok, map[string]any{"technician_ids": []string{}, "version": 99}, nil, 412)
	s.json("POST", "/api/v1/visits/"+s.visit+"/technicians", s.instTok, map[string]any{"technician_ids": []string{}}, nil, 200)
	s.json("POST", tech+"/retire", s.instTok, map[string]any{"version": 2}, nil, 200)
	s.json("PATCH", tech, s.instTok, map[string]any{"name": "Z"}, map[string]string{"If-Match": `"3"`}, 409)
	s.json("POST", "/api/v1/feeds", s.instTok, map[string]any{"kind": "technician", "subject_id": s.technician, "name": "Zhang Min"}, nil, 201)
	s.json("POST", "/api/v1/feeds", op, map[string]any{"kind": "technician", "subject_id": s.technician, "name": "x"}, nil, 404)

	s.call("GET", "/api/v1/audit?resource=venue&since=2020-01-01", reg, "", "", nil, 200)
	s.call("GET", "/api/v1/audit?action=launch", reg, "", "", nil, 422)

	s.call("GET", "/api/v1/nothing", op, "", "", nil, 404)
	s.call("DELETE", venue, op, "", "", nil, 405)
}

// tbRecorder is a testing.TB that keeps Errorf messages instead of failing.
type tbRecorder struct {
	testing.TB
	errs []string
}

func (r *tbRecorder) Helper() {}
func (r *tbRecorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// TestCheckResponseCatchesMismatches: the helper is not a rubber stamp.
func TestCheckResponseCatchesMismatches(t *testing.T) {
	venueJSON := `{"id":"0190f3a2-7c41-7d2e-9b7e-1c2d3e4f5a6b","name":"V","kind":"mall","address":"","region_code":"310115",` +
		`"lat":null,"lon":null,"time_zone":"Asia/Shanghai","operator_org_id":"0190f3a2-7c41-7d2e-9b7e-1c2d3e4f5a6c",` +
		`"contact":{"name":"","phone":"","email":""},"retired":false,"version":1,"created_at":"2026-01-01T00:00:00Z",` +
		`"updated_at":"2026-01-01T00:00:00Z","retired_at":null}`
	jsonHeader := func(extra ...string) http.Header {
		h := http.Header{"Content-Type": {"application/json; charset=utf-8"}, "X-Request-Id": {"abc"}}
		for i := 0; i+1 < len(extra); i += 2 {
			h.Set(extra[i], extra[i+1])
		}
		return h
	}
	problem := `{"type":"urn:calibd:problem:not_found","title":"Not Found","status":404,"code":"not_found"}`
	problemHeader := http.Header{"Content-Type": {"application/problem+json"}, "X-Request-Id": {"abc"}, "Cache-Control": {"no-store"}}
	get := func(target string) *http.Request { return httptest.NewRequest("GET", target, nil) }
	venueURL := "/api/v1/venues/0190f3a2-7c41-7d2e-9b7e-1c2d3e4f5a6b"
	tests := []struct {
		name    string
		req     *http.Request
		status  int
		header  http.Header
		body    string
		wantErr string // "" for a pass
	}{
		{"matching venue", get(venueURL), 200, jsonHeader("ETag", `"1"`), venueJSON, ""},
		{"missing ETag", get(venueURL), 200, jsonHeader(), venueJSON, "ETag"},
		{"extra field", get(venueURL), 200, jsonHeader("ETag", `"1"`), strings.Replace(venueJSON, `"name":"V"`, `"name":"V","colour":"red"`, 1), "colour"},
		{"bad enum", get(venueURL), 200, jsonHeader("ETag", `"1"`), strings.Replace(venueJSON, `"mall"`, `"castle"`, 1), "kind"},
		{"id not a uuid", get(venueURL), 200, jsonHeader("ETag", `"1"`), strings.Replace(venueJSON, `0190f3a2-7c41-7d2e-9b7e-1c2d3e4f5a6b`, `v1`, 1), "UUID"},
		{"undocumented status", get(venueURL), 409, problemHeader, strings.ReplaceAll(problem, "not_found", "retired"), "status"},
		{"problem as plain JSON", get(venueURL), 404, jsonHeader("Cache-Control", "no-store"), problem, "Content-Type has unexpected value"},
		{"problem with wrong code", get(venueURL), 404, problemHeader, strings.Replace(problem, `"code":"not_found"`, `"code":"missing"`, 1), "code"},
		{"matching problem", get(venueURL), 404, problemHeader, problem, ""},
		{"csv export header", get(venueURL + "/elevators/export"), 200,
			http.Header{"Content-Type": {"text/csv; charset=utf-8"}, "X-Request-Id": {"a"}, "Content-Disposition": {`attachment; filename="elevators-x.csv"`}},
			"registration_code,manufacturer,model,commissioning_date,maintenance_firm_id,status,id\n", ""},
		{"csv export with wrong columns", get(venueURL + "/elevators/export"), 200,
			http.Header{"Content-Type": {"text/csv; charset=utf-8"}, "X-Request-Id": {"a"}, "Content-Disposition": {`attachment; filename="elevators-x.csv"`}},
			"code,maker\n", "regular expression"},
		{"unknown route answered 200", get("/api/v1/nothing"), 200, jsonHeader(), `{}`, "no operation"},
		{"unknown route as no_route", get("/api/v1/nothing"), 404, problemHeader, strings.ReplaceAll(problem, "not_found", "no_route"), ""},
		{"known path, other method", httptest.NewRequest("DELETE", venueURL, nil), 405, problemHeader,
			strings.ReplaceAll(strings.ReplaceAll(problem, "not_found", "method_not_allowed"), "404", "405"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &tbRecorder{TB: t}
			checkResponse(rec, tt.req, tt.status, tt.header, []byte(tt.body))
			all := strings.Join(rec.errs, "\n")
			if all != "" {
				t.Logf("checkResponse says:\n%s", all)
			}
			switch {
			case tt.wantErr == "" && len(rec.errs) > 0:
				t.Errorf("checkResponse reported a mismatch for a valid response:\n%s", all)
			case tt.wantErr != "" && len(rec.errs) == 0:
				t.Errorf("checkResponse passed a response with a bad %s", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(all, tt.wantErr):
				t.Errorf("checkResponse message does not mention %q:\n%s", tt.wantErr, all)
			}
		})
	}
}

// TestOpenAPIQueryParametersMatchHandlers: every list documents exactly the
// query parameters its handler accepts (the 422 for an unknown parameter
// names the known ones), and operations that document none accept any.
func TestOpenAPIQueryParametersMatchHandlers(t *testing.T) {
	doc, _, _, err := loadOpenAPISpec()
	if err != nil {
		t.Fatal(err)
	}
	s := newSpecServer(t)
	s.populate()
	lists := 0
	for path, item := range doc.Paths.Map() {
		op := item.Get
		if op == nil || !strings.HasPrefix(path, "/api/v1/") || path == "/api/v1/openapi.json" {
			continue
		}
		var documented []string
		for _, p := range append(item.Parameters, op.Parameters...) {
			if p.Value.In == openapi3.ParameterInQuery {
				documented = append(documented, p.Value.Name)
			}
		}
		sort.Strings(documented)
		target := s.fill(path) + "?zz_unknown=1"
		req := httptest.NewRequest("GET", target, nil)
		req.Header.Set("Authorization", "Bearer "+s.regTok)
		w := httptest.NewRecorder()
		s.srv.Handler().ServeHTTP(w, req)
		checkResponse(t, req, w.Code, w.Header(), w.Body.Bytes())
		known, checked := knownQueryParams(t, w.Body.Bytes())
		switch {
		case !checked && len(documented) > 0:
			t.Errorf("GET %s documents query parameters %v but the handler ignores unknown ones (%d)", path, documented, w.Code)
		case checked && !slices.Equal(known, documented):
			t.Errorf("GET %s: handler accepts query parameters %v, openapi.json documents %v", path, known, documented)
		}
		if checked {
			lists++
		}
	}
	if lists < 7 {
		t.Errorf("only %d operations check their query parameters; want the 7 lists at least", lists)
	}
}

// knownQueryParams reads the handler's list of known parameters from the
// 422 it gives for zz_unknown.
func knownQueryParams(t *testing.T, body []byte) ([]string, bool) {
	t.Helper()
	var p httpapi.Problem
	if json.Unmarshal(body, &p) != nil {
		return nil, false
	}
	for _, fe := range p.Errors {
		if fe.Field != "zz_unknown" {
			continue
		}
		_, list, ok := strings.Cut(fe.Reason, "known: ")
		if !ok {
			t.Fatalf("unexpected reason %q", fe.Reason)
		}
		known := strings.Split(list, ", ")
		sort.Strings(known)
		return known, true
	}
	return nil, false
}

// fill puts the populated objects' ids into a path template.
func (s *specServer) fill(path string) string {
	id := ""
	switch {
	case strings.HasPrefix(path, "/api/v1/organizations/"):
		id = s.org
	case strings.HasPrefix(path, "/api/v1/venues/"):
		id = s.venue
	case strings.HasPrefix(path, "/api/v1/thermometers/"):
		id = s.therm
	case strings.HasPrefix(path, "/api/v1/elevators/"):
		id = s.elev
	case strings.HasPrefix(path, "/api/v1/tasks/"):
		id = s.task
	case strings.HasPrefix(path, "/api/v1/visits/"):
		id = s.visit
	case strings.HasPrefix(path, "/api/v1/events/"):
		id = s.event
	case strings.HasPrefix(path, "/api/v1/requests/"):
		id = s.request
	case strings.HasPrefix(path, "/api/v1/standards/"):
		id = s.standard
	case strings.HasPrefix(path, "/api/v1/results/"):
		id = s.result
	case strings.HasPrefix(path, "/api/v1/deferrals/"):
		id = s.deferral
	case strings.HasPrefix(path, "/api/v1/devices/"):
		id = s.therm
	case strings.HasPrefix(path, "/api/v1/alerts/"):
		id = "01a2292b-0000-7000-8000-000000000001" // none raised here: a documented 404
	case strings.HasPrefix(path, "/api/v1/contracts/"):
		id = s.contract
	case strings.HasPrefix(path, "/api/v1/agreements/"):
		id = s.agreement
	case strings.HasPrefix(path, "/api/v1/technicians/"):
		id = s.technician
	case strings.HasPrefix(path, "/api/v1/lift-tasks/"):
		id = s.liftTask
	case strings.HasPrefix(path, "/api/v1/lift-reports/"):
		id = s.liftReport
	}
	r := strings.NewReplacer("{id}", id, "{token_id}", s.tokID, "{code}", "jjg1164_ear", "{name}", "plan")
	return r.Replace(path)
}

// TestOpenAPIRequestFieldsMatchHandlers: every field a JSON request body
// documents is one its handler reads (it is not reported as unknown when
// sent beside a truly unknown one, which makes the request fail before
// anything is written).
func TestOpenAPIRequestFieldsMatchHandlers(t *testing.T) {
	doc, _, _, err := loadOpenAPISpec()
	if err != nil {
		t.Fatal(err)
	}
	s := newSpecServer(t)
	s.populate()
	bodies := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			// Broker hooks read what a broker sends and ignore the rest
			// (VerneMQ and EMQX add fields of their own).
			if op.RequestBody == nil || strings.HasPrefix(path, "/broker/") {
				continue
			}
			mt := op.RequestBody.Value.Content.Get("application/json")
			if mt == nil {
				continue
			}
			body := map[string]any{"zz_unknown": 1}
			var fields []string
			for name, prop := range mt.Schema.Value.Properties {
				if prop.Value.Type.Is("object") {
					sub := map[string]any{"zz_unknown": 1}
					for subName := range prop.Value.Properties {
						sub[subName] = "x"
						fields = append(fields, name+"."+subName)
					}
					body[name] = sub
					continue
				}
				body[name] = "x"
				fields = append(fields, name)
			}
			bodies++
			enc, _ := json.Marshal(body)
			req := httptest.NewRequest(method, s.fill(path), bytes.NewReader(enc))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+s.opTok)
			req.Header.Set("If-Match", `"1"`) // PATCH reads the body before the version check
			w := httptest.NewRecorder()
			s.srv.Handler().ServeHTTP(w, req)
			checkResponse(t, req, w.Code, w.Header(), w.Body.Bytes())
			if w.Code != http.StatusUnprocessableEntity {
				t.Errorf("%s %s with an unknown field = %d, want 422: %s", method, path, w.Code, w.Body.Bytes())
				continue
			}
			var p httpapi.Problem
			mustJSON(t, w.Body.Bytes(), &p)
			unknown := map[string]bool{}
			for _, fe := range p.Errors {
				if fe.Reason == "is not a known field" {
					unknown[fe.Field] = true
				}
			}
			if !unknown["zz_unknown"] {
				t.Errorf("%s %s did not report zz_unknown: %s", method, path, w.Body.Bytes())
			}
			for _, f := range fields {
				if unknown[f] {
					t.Errorf("%s %s: openapi.json documents field %s, the handler does not know it", method, path, f)
				}
			}
		}
	}
	if bodies < 13 {
		t.Errorf("only %d operations with JSON bodies checked; want 13", bodies)
	}
}

// TestCheckResponseURLForms: the helper routes requests built with full
// URLs, query strings and escaped paths as the engine does.
func TestCheckResponseURLForms(t *testing.T) {
	for _, target := range []string{"http://example.com/healthz", "/healthz?x=1", "https://calibd.internal:8443/healthz"} {
		req := httptest.NewRequest("GET", target, nil)
		rec := &tbRecorder{TB: t}
		checkResponse(rec, req, 200, http.Header{"Content-Type": {"application/json; charset=utf-8"}, "X-Request-Id": {"a"}},
			[]byte(`{"status":"ok","version":""}`))
		if len(rec.errs) > 0 {
			t.Errorf("%s: %s", target, strings.Join(rec.errs, "\n"))
		}
	}
}
