package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/calibd/calibd/devices"
)

// regulatorRoutes registers the pages of one audience. The regulator:
// coverage, alerts, deferral policies. The alerts page serves every role:
// each sees the alerts of the devices it answers for, as the API lists
// them.
func (s *Server) regulatorRoutes() {
	s.mux.HandleFunc("GET /alerts", s.authed(s.alerts))
	s.mux.HandleFunc("POST /alerts/{id}/acknowledge", s.authed(s.actOnAlert(devices.AlertAcknowledge)))
	s.mux.HandleFunc("POST /alerts/{id}/resolve", s.authed(s.actOnAlert(devices.AlertResolve)))
	s.mux.HandleFunc("GET /coverage", s.authed(s.coverage))
	s.mux.HandleFunc("GET /deferrals", s.authed(s.deferrals))
	s.mux.HandleFunc("POST /deferrals/{id}/lift", s.authed(s.liftDeferral))
}

// ---- alerts ----

// alertsPerPage is one page of the alerts list.
const alertsPerPage = 50

// Alert state filter values beyond the states themselves.
const (
	alertsActive = "active" // open or acknowledged: the default
	alertsAll    = "all"
)

type option struct{ Value, Label string }

var alertStateOptions = []option{{alertsActive, "Open or acknowledged"}, {string(devices.AlertOpen), "Open"},
	{string(devices.AlertAcknowledged), "Acknowledged"}, {string(devices.AlertResolved), "Resolved"}, {alertsAll, "Any state"}}

// alertFilter is the alerts page's GET form, also carried through the
// action forms so a POST comes back to the same list.
type alertFilter struct {
	Kind, State, Cursor string
}

// alertFilterOf reads and checks the filter; errs names a field whose
// value was not one of the choices (it is reset to the default).
func alertFilterOf(v url.Values) (alertFilter, map[string]string) {
	f := alertFilter{Kind: strings.TrimSpace(v.Get("kind")), State: strings.TrimSpace(v.Get("state")), Cursor: v.Get("cursor")}
	errs := map[string]string{}
	if f.Kind != "" && !devices.AlertKind(f.Kind).Valid() {
		errs["kind"] = "Choose one of the kinds listed."
		f.Kind, f.Cursor = "", ""
	}
	switch {
	case f.State == "":
		f.State = alertsActive
	case f.State != alertsActive && f.State != alertsAll && !devices.AlertState(f.State).Valid():
		errs["state"] = "Choose one of the states listed."
		f.State, f.Cursor = alertsActive, ""
	}
	return f, errs
}

// query is the filter as a query string (the action forms' "back").
func (f alertFilter) query() string {
	q := url.Values{}
	for k, v := range map[string]string{"kind": f.Kind, "state": f.State, "cursor": f.Cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q.Encode()
}

// states lists the states the store is asked for, one list call each.
func (f alertFilter) states() []devices.AlertState {
	switch f.State {
	case alertsActive:
		return []devices.AlertState{devices.AlertOpen, devices.AlertAcknowledged}
	case alertsAll:
		return []devices.AlertState{""}
	}
	return []devices.AlertState{devices.AlertState(f.State)}
}

// alertItem is one alert with what the page shows beside it.
type alertItem struct {
	devices.Alert
	DeviceLabel string
	DeviceHref  string
	CanAct      bool
	CanAck      bool
	CanResolve  bool
}

type alertsData struct {
	Items     []alertItem
	Next      string
	Filter    alertFilter
	Back      string
	Kinds     []devices.AlertKind
	States    []option
	Regulator bool
	// ErrAlert is the alert whose resolve form Errors concern, and Reason
	// what was typed in it.
	ErrAlert string
	Reason   string
}

// alerts: GET /alerts.
func (s *Server) alerts(w http.ResponseWriter, r *http.Request) {
	f, errs := alertFilterOf(r.URL.Query())
	status := http.StatusOK
	if len(errs) > 0 {
		status = http.StatusUnprocessableEntity
	}
	s.alertsPage(w, r, status, f, alertsData{}, page{Errors: errs})
}

// alertsPage renders the list for f; extra carries a failed action's form
// state, p its errors and problem.
func (s *Server) alertsPage(w http.ResponseWriter, r *http.Request, status int, f alertFilter, extra alertsData, p page) {
	a, ctx := actorOf(r), r.Context()
	list, next, err := s.alertPage(ctx, a, f)
	if err != nil {
		if errs, ok := fieldErrors(err); ok && errs["cursor"] != "" {
			// A cursor from an old link: start the list over.
			f.Cursor = ""
			list, next, err = s.alertPage(ctx, a, f)
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
	}
	items, err := s.alertItems(ctx, a, list)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	extra.Items, extra.Next, extra.Filter, extra.Back = items, next, f, f.query()
	extra.Kinds, extra.States, extra.Regulator = devices.AlertKinds, alertStateOptions, a.IsRegulator()
	p.Title, p.Data = "Alerts", extra
	s.render(w, r, status, "alerts", p)
}

// alertPage reads one page of the filtered list. The store lists one
// state at a time in the order alerts were raised, so "open or
// acknowledged" pages through the open alerts first, then the
// acknowledged: the cursor is "<state index>.<store cursor>".
func (s *Server) alertPage(ctx context.Context, a devices.Actor, f alertFilter) ([]devices.Alert, string, error) {
	states := f.states()
	phase, cursor := 0, ""
	if f.Cursor != "" {
		i, c, ok := strings.Cut(f.Cursor, ".")
		n, err := strconv.Atoi(i)
		if !ok || err != nil || n < 0 || n >= len(states) {
			return nil, "", devices.Invalid("cursor", "is not a cursor this page gave")
		}
		phase, cursor = n, c
	}
	filter := func(i int) devices.AlertFilter {
		return devices.AlertFilter{Kind: devices.AlertKind(f.Kind), State: states[i]}
	}
	var out []devices.Alert
	for ; phase < len(states); phase, cursor = phase+1, "" {
		list, next, err := s.st.ListAlerts(ctx, a, filter(phase), devices.Page{Limit: alertsPerPage - len(out), Cursor: cursor})
		if err != nil {
			return nil, "", err
		}
		out = append(out, list...)
		if next != "" {
			return out, strconv.Itoa(phase) + "." + next, nil
		}
		if len(out) < alertsPerPage {
			continue
		}
		// The page is full and this state done: a next page only when a
		// later state has any.
		for later := phase + 1; later < len(states); later++ {
			more, _, err := s.st.ListAlerts(ctx, a, filter(later), devices.Page{Limit: 1})
			if err != nil {
				return nil, "", err
			}
			if len(more) > 0 {
				return out, strconv.Itoa(later) + ".", nil
			}
		}
		return out, "", nil
	}
	return out, "", nil
}

// alertItems names each alert's device (its serial or registration code,
// one read per device on the page) and says which actions the actor may
// take, by the rule ActOnAlert applies (the store still decides).
func (s *Server) alertItems(ctx context.Context, a devices.Actor, list []devices.Alert) ([]alertItem, error) {
	labels := map[string]string{}
	out := make([]alertItem, len(list))
	for i, al := range list {
		label, seen := labels[al.DeviceID]
		if !seen {
			var err error
			if label, err = s.deviceLabel(ctx, a, al); err != nil {
				return nil, err
			}
			labels[al.DeviceID] = label
		}
		it := alertItem{Alert: al, DeviceLabel: label}
		if al.DeviceKind == devices.DeviceThermometer {
			it.DeviceHref = "/devices/" + al.DeviceID
		}
		operator := a.CanWriteRegistry() && a.OrgID == al.OperatorOrgID
		institute := a.OrgKind == devices.KindMetrologyInstitute && al.InstituteID != nil && *al.InstituteID == a.OrgID
		firm := a.OrgKind == devices.KindMaintenanceFirm && al.DeviceKind == devices.DeviceElevator
		it.CanAct = operator || institute || firm
		it.CanAck = it.CanAct && al.State == devices.AlertOpen
		it.CanResolve = it.CanAct && al.State != devices.AlertResolved
		out[i] = it
	}
	return out, nil
}

// deviceLabel is "thermometer <serial>" or "lift <registration code>";
// a device the actor cannot read shows its id.
func (s *Server) deviceLabel(ctx context.Context, a devices.Actor, al devices.Alert) (string, error) {
	var name string
	var err error
	switch al.DeviceKind {
	case devices.DeviceThermometer:
		var t devices.Thermometer
		if t, err = s.st.GetThermometer(ctx, a, al.DeviceID); err == nil {
			name = "Thermometer " + t.Serial
		}
	case devices.DeviceElevator:
		var e devices.Elevator
		if e, err = s.st.GetElevator(ctx, a, al.DeviceID); err == nil {
			name = "Lift " + e.RegistrationCode
		}
	default:
		err = devices.ErrNotFound
	}
	switch {
	case err == nil:
		return name, nil
	case errors.Is(err, devices.ErrNotFound):
		if al.DeviceKind == devices.DeviceElevator {
			return "Lift " + al.DeviceID, nil
		}
		return "Thermometer " + al.DeviceID, nil
	}
	return "", err
}

// actOnAlert: POST /alerts/{id}/{acknowledge,resolve} with the alert's
// version (and, to resolve, a reason), through the registry as the API
// does. A refusal, a stale version or a missing reason shows the list
// again with the message where it belongs.
func (s *Server) actOnAlert(action devices.AlertAction) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, id := actorOf(r), r.PathValue("id")
		back, _ := url.ParseQuery(r.PostFormValue("back"))
		f, _ := alertFilterOf(back)
		reason := strings.TrimSpace(r.PostFormValue("reason"))
		version, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("version")))
		if err != nil || version < 1 {
			err = devices.Invalid("version", "reload the page: the form lost the alert's version")
		} else {
			var al devices.Alert
			al, err = s.st.ActOnAlert(r.Context(), a, id, version, action, reason)
			if err == nil {
				msg := "The " + label(string(al.Kind)) + " alert is acknowledged: everyone who watches the device sees that someone is on it."
				if action == devices.AlertResolve {
					msg = "The " + label(string(al.Kind)) + " alert is resolved; it stays listed under Resolved with your reason."
				}
				redirectDone(w, r, "/alerts?"+f.query(), msg)
				return
			}
		}
		var fe *devices.ForbiddenError
		switch {
		case errors.As(err, &fe):
			msg := "You may not act on this alert: " + fe.Reason + "."
			if a.IsRegulator() {
				msg = "The regulator watches alerts but does not act on them: the device's venue operator, its metrology " +
					"institute or its lift's maintenance firm acknowledges and resolves them."
			}
			s.alertsPage(w, r, http.StatusForbidden, f, alertsData{}, page{Problem: msg})
		case errors.Is(err, devices.ErrPreconditionFailed):
			s.alertsPage(w, r, http.StatusConflict, f, alertsData{}, page{Problem: "Someone acted on this alert since you " +
				"loaded the page; it is shown below as it is now. Try again if it still needs it."})
		case errors.Is(err, devices.ErrConflict):
			s.alertsPage(w, r, http.StatusConflict, f, alertsData{}, page{Problem: "Not done: " + err.Error() +
				". The list below shows each alert as it is now."})
		default:
			p, ok := reasonProblems(err, "Not done")
			if !ok {
				s.fail(w, r, err)
				return
			}
			s.alertsPage(w, r, http.StatusUnprocessableEntity, f, alertsData{ErrAlert: id, Reason: reason}, p)
		}
	}
}

// sentence turns a field reason ("say why ...") into a sentence.
func sentence(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

// shortID is the first block of a UUID, enough to tell devices apart in a
// message.
func shortID(id string) string {
	if i := strings.IndexByte(id, '-'); i > 0 {
		return id[:i]
	}
	return id
}

// ---- coverage ----

type coverageData struct {
	Coverage devices.Coverage
	Totals   devices.CoverageRow
}

// coverage: GET /coverage, the regulator's counts by region and venue
// kind. Anyone else gets what the API gives for its regulator-only
// collection: 403 with the reason (the page is no secret; the data is).
func (s *Server) coverage(w http.ResponseWriter, r *http.Request) {
	c, err := s.st.Coverage(r.Context(), actorOf(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "coverage", page{Title: "Coverage", Data: coverageData{Coverage: c, Totals: c.Totals()}})
}

// ---- deferrals ----

var deferralStateOptions = []option{{"", "Any state"}, {string(devices.DeferralActive), "Active"}, {string(devices.DeferralLifted), "Lifted"}}

// deferralItem is a deferral with names for its declarer and venues.
type deferralItem struct {
	devices.Deferral
	DeclaredBy string
	Venues     []venueLink
	CanLift    bool
}

type venueLink struct{ ID, Name string }

type deferralsData struct {
	Items  []deferralItem
	Next   string
	State  string
	States []option
	// ErrDeferral is the deferral whose lift form Errors concern, and
	// Reason what was typed in it.
	ErrDeferral string
	Reason      string
}

// maxVenueNames bounds the venue reads of one deferrals page; further
// venues show their ids.
const maxVenueNames = 50

// deferrals: GET /deferrals, the emergency deferral policies the actor
// may see (everyone sees those that name no venue).
func (s *Server) deferrals(w http.ResponseWriter, r *http.Request) {
	s.deferralsPage(w, r, http.StatusOK, r.URL.Query().Get("state"), r.URL.Query().Get("cursor"), deferralsData{}, page{})
}

func (s *Server) deferralsPage(w http.ResponseWriter, r *http.Request, status int, state, cursor string, extra deferralsData, p page) {
	a, ctx := actorOf(r), r.Context()
	if state != "" && state != string(devices.DeferralActive) && state != string(devices.DeferralLifted) {
		if p.Errors == nil {
			p.Errors = map[string]string{}
		}
		p.Errors["state"] = "Choose one of the states listed."
		state, cursor, status = "", "", http.StatusUnprocessableEntity
	}
	list, next, err := s.st.ListDeferrals(ctx, a, devices.DeferralState(state), devices.Page{Limit: 50, Cursor: cursor})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	orgs, venues := map[string]string{}, map[string]string{}
	items := make([]deferralItem, len(list))
	for i, d := range list {
		it := deferralItem{Deferral: d, CanLift: a.IsRegulator() && a.IsAdmin() && d.State == devices.DeferralActive}
		if it.DeclaredBy, err = s.orgName(ctx, a, d.DeclaredByOrg, orgs); err != nil {
			s.fail(w, r, err)
			return
		}
		for _, id := range d.VenueIDs {
			name, ok := venues[id]
			if !ok && len(venues) < maxVenueNames {
				v, err := s.st.GetVenue(ctx, a, id)
				if err != nil && !errors.Is(err, devices.ErrNotFound) {
					s.fail(w, r, err)
					return
				}
				name, venues[id] = v.Name, v.Name
			}
			if name == "" {
				name = "venue " + shortID(id)
			}
			it.Venues = append(it.Venues, venueLink{ID: id, Name: name})
		}
		items[i] = it
	}
	extra.Items, extra.Next, extra.State, extra.States = items, next, state, deferralStateOptions
	p.Title, p.Data = "Deferral policies", extra
	s.render(w, r, status, "deferrals", p)
}

// orgName reads an organization's name once per page; one the actor
// cannot see shows its id.
func (s *Server) orgName(ctx context.Context, a devices.Actor, id string, cache map[string]string) (string, error) {
	if n, ok := cache[id]; ok {
		return n, nil
	}
	o, err := s.st.GetOrganization(ctx, a, id)
	switch {
	case errors.Is(err, devices.ErrNotFound):
		o.Name = "organization " + shortID(id)
	case err != nil:
		return "", err
	}
	cache[id] = o.Name
	return o.Name, nil
}

// liftDeferral: POST /deferrals/{id}/lift, a regulator admin ends a
// deferral with a reason; every due date it held comes back.
func (s *Server) liftDeferral(w http.ResponseWriter, r *http.Request) {
	a, id := actorOf(r), r.PathValue("id")
	state := r.PostFormValue("back_state")
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	version, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("version")))
	if err != nil || version < 1 {
		err = devices.Invalid("version", "reload the page: the form lost the deferral's version")
	} else {
		var d devices.Deferral
		var rep devices.DeferralReport
		d, rep, err = s.st.LiftDeferral(r.Context(), a, id, version, reason)
		if err == nil {
			to := "/deferrals"
			if state != "" {
				to += "?" + url.Values{"state": {state}}.Encode()
			}
			redirectDone(w, r, to, fmt.Sprintf("Deferral %q lifted: %d thermometer(s) are due on their normal dates again, "+
				"%d task(s) reopened, %d deferred by another active policy.", d.Name, rep.Restored, rep.TasksReopened, rep.Deferred))
			return
		}
	}
	var fe *devices.ForbiddenError
	switch {
	case errors.As(err, &fe):
		s.deferralsPage(w, r, http.StatusForbidden, state, "", deferralsData{}, page{Problem: "Not lifted: " + fe.Reason + "."})
	case errors.Is(err, devices.ErrPreconditionFailed):
		s.deferralsPage(w, r, http.StatusConflict, state, "", deferralsData{}, page{Problem: "This deferral changed since you " +
			"loaded the page; it is shown below as it is now."})
	case errors.Is(err, devices.ErrConflict):
		s.deferralsPage(w, r, http.StatusConflict, state, "", deferralsData{}, page{Problem: "Not lifted: " + err.Error() + "."})
	default:
		p, ok := reasonProblems(err, "Not lifted")
		if !ok {
			s.fail(w, r, err)
			return
		}
		s.deferralsPage(w, r, http.StatusUnprocessableEntity, state, "", deferralsData{ErrDeferral: id, Reason: reason}, p)
	}
}

// reasonProblems turns the validation error of a one-field form (a
// reason) into the page's errors: the reason's next to its field, any
// other as the page's problem, headed by what was not done. ok is false
// when err is not a validation error.
func reasonProblems(err error, notDone string) (page, bool) {
	errs, ok := fieldErrors(err)
	if !ok {
		return page{}, false
	}
	p := page{Errors: map[string]string{}}
	for field, why := range errs {
		if field == "reason" {
			p.Errors["reason"] = sentence(why)
			continue
		}
		p.Problem = notDone + ": " + field + " " + why + "."
	}
	return p, true
}
