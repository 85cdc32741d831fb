package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/calibd/calibd/devices"
)

// instituteRoutes registers the pages of one audience. Metrology institutes: calendar, visits, result entry with a live verdict.
//
// The pages list what the signed-in actor may see, so a venue operator or
// the regulator reading them sees the visits to its venues or all of them;
// only the visit's institute is offered the actions, and the Registry
// refuses them to anyone else as the API does.
func (s *Server) instituteRoutes() {
	s.mux.HandleFunc("GET /calendar", s.authed(s.calendar))
	s.mux.HandleFunc("POST /calendar/feeds", s.authed(s.createFeed))
	s.mux.HandleFunc("POST /calendar/feeds/{id}/revoke", s.authed(s.revokeFeed))
	s.mux.HandleFunc("GET /visits", s.authed(s.visits))
	s.mux.HandleFunc("GET /visits/{id}", s.authed(s.visit))
	s.mux.HandleFunc("POST /visits/{id}/{action}", s.authed(s.actOnVisit))
	s.mux.HandleFunc("POST /requests/{id}/{action}", s.authed(s.actOnRequest))
	s.mux.HandleFunc("GET /results/new", s.authed(s.resultForm))
	s.mux.HandleFunc("POST /results/preview", s.authed(s.previewResult))
	s.mux.HandleFunc("POST /results", s.authed(s.recordResult))
	s.mux.HandleFunc("POST /standards", s.authed(s.createStandard))
}

// problem says how a refused write is shown on the page it came from:
// the status and a message a person can act on. ok is false for errors
// that are not a refusal (not found, validation, internal), which the
// caller handles otherwise.
func problem(err error) (status int, msg string, ok bool) {
	var ce *devices.ConflictError
	var fe *devices.ForbiddenError
	switch {
	case errors.As(err, &ce):
		return http.StatusConflict, ce.Message, true
	case errors.Is(err, devices.ErrPreconditionFailed):
		return http.StatusConflict, "Someone changed this since you loaded the page; it is shown as it is now. Check it and try again.", true
	case errors.As(err, &fe):
		return http.StatusForbidden, "Not allowed: " + fe.Reason + ".", true
	case errors.Is(err, devices.ErrForbidden):
		return http.StatusForbidden, err.Error(), true
	case errors.Is(err, devices.ErrConflict):
		return http.StatusConflict, err.Error(), true
	}
	return 0, "", false
}

// ---- Calendar -------------------------------------------------------------

var isoWeekPattern = regexp.MustCompile(`^(\d{4})-W(\d{2})$`)

// weekMonday returns the Monday (UTC midnight) of ISO week "2026-W48".
func weekMonday(s string) (time.Time, bool) {
	m := isoWeekPattern.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, false
	}
	y, _ := strconv.Atoi(m[1])
	w, _ := strconv.Atoi(m[2])
	// 4 January always lies in week 1.
	jan4 := time.Date(y, time.January, 4, 0, 0, 0, 0, time.UTC)
	mon := jan4.AddDate(0, 0, -((int(jan4.Weekday())+6)%7)+7*(w-1))
	if yy, ww := mon.ISOWeek(); yy != y || ww != w {
		return time.Time{}, false
	}
	return mon, true
}

// isoWeek names the ISO week of t, as "2026-W48".
func isoWeek(t time.Time) string {
	y, w := t.ISOWeek()
	return fmt.Sprintf("%04d-W%02d", y, w)
}

// visitRow is a visit as lists show it.
type visitRow struct {
	devices.Visit
	VenueName string
}

// venueNames names the venues of visits the actor sees; a venue it can no
// longer see (its thermometers went to another institute) is named so.
func (s *Server) venueNames(ctx context.Context, a devices.Actor, ids []string) (map[string]string, error) {
	out := map[string]string{}
	for _, id := range ids {
		if _, done := out[id]; done {
			continue
		}
		v, err := s.st.GetVenue(ctx, a, id)
		switch {
		case errors.Is(err, devices.ErrNotFound):
			out[id] = "a venue you no longer serve"
		case err != nil:
			return nil, err
		default:
			out[id] = v.Name
		}
	}
	return out, nil
}

func (s *Server) visitRows(ctx context.Context, a devices.Actor, vs []devices.Visit) ([]visitRow, error) {
	ids := make([]string, len(vs))
	for i, v := range vs {
		ids[i] = v.VenueID
	}
	names, err := s.venueNames(ctx, a, ids)
	if err != nil {
		return nil, err
	}
	out := make([]visitRow, len(vs))
	for i, v := range vs {
		out[i] = visitRow{Visit: v, VenueName: names[v.VenueID]}
	}
	return out, nil
}

// zoneOf is the time zone "today" is judged in: the institute's calendar
// zone for an institute, UTC for everyone else.
func (s *Server) zoneOf(ctx context.Context, a devices.Actor) (*time.Location, error) {
	if a.OrgKind != devices.KindMetrologyInstitute {
		return time.UTC, nil
	}
	cal, _, err := s.st.GetCalendar(ctx, a, a.OrgID)
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(cal.TimeZone)
	if err != nil {
		return time.UTC, nil
	}
	return loc, nil
}

type calendarDay struct {
	Date   string
	Label  string
	Today  bool
	Visits []visitRow
}

type calendarData struct {
	Week, Prev, Next, ThisWeek string
	Range                      string
	Zone                       string
	Days                       []calendarDay
	Count                      int
	Truncated                  bool
	// The institute's iCalendar feeds; FeedURL is set once, right after
	// one was created (its secret is not kept).
	IsInstitute bool
	Feeds       []devices.Feed
	FeedURL     string
	FeedName    string
	PastDays    int
}

// maxWeekVisits bounds one week's page.
const maxWeekVisits = 2000

func (s *Server) calendar(w http.ResponseWriter, r *http.Request) {
	s.calendarPage(w, r, http.StatusOK, "", nil)
}

func (s *Server) calendarPage(w http.ResponseWriter, r *http.Request, status int, feedURL string, errs map[string]string) {
	a, ctx := actorOf(r), r.Context()
	loc, err := s.zoneOf(ctx, a)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	now := time.Now().In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	thisWeek := isoWeek(today)
	week := strings.TrimSpace(r.URL.Query().Get("week"))
	if week == "" {
		week = thisWeek
	}
	mon, ok := weekMonday(week)
	if !ok {
		if errs == nil {
			errs = map[string]string{}
		}
		errs["week"] = "Give an ISO week such as " + thisWeek + " (year, W, week number 01 to 53)."
		status = http.StatusUnprocessableEntity
		week = thisWeek
		mon, _ = weekMonday(week)
	}
	sun := mon.AddDate(0, 0, 6)
	d := calendarData{Week: week, ThisWeek: thisWeek, Prev: isoWeek(mon.AddDate(0, 0, -7)), Next: isoWeek(mon.AddDate(0, 0, 7)),
		Range: mon.Format("Mon 2 Jan") + " – " + sun.Format("Mon 2 Jan 2006"), Zone: loc.String(),
		IsInstitute: a.OrgKind == devices.KindMetrologyInstitute, FeedURL: feedURL, FeedName: "Calibration visits",
		PastDays: devices.FeedPastDays}
	f := devices.VisitFilter{From: mon.Format(devices.DateLayout), To: sun.Format(devices.DateLayout)}
	var visits []devices.Visit
	cursor := ""
	for {
		batch, next, err := s.st.ListVisits(ctx, a, f, devices.Page{Limit: devices.MaxLimit, Cursor: cursor})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		visits = append(visits, batch...)
		if next == "" {
			break
		}
		if len(visits) >= maxWeekVisits {
			d.Truncated = true
			break
		}
		cursor = next
	}
	rows, err := s.visitRows(ctx, a, visits)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	slices.SortStableFunc(rows, func(x, y visitRow) int {
		if x.Priority != y.Priority {
			return x.Priority - y.Priority
		}
		return strings.Compare(x.VenueName, y.VenueName)
	})
	for i := range 7 {
		day := mon.AddDate(0, 0, i)
		cd := calendarDay{Date: day.Format(devices.DateLayout), Label: day.Format("Mon 2 Jan"), Today: day.Equal(today)}
		for _, v := range rows {
			if v.Day == cd.Date {
				cd.Visits = append(cd.Visits, v)
			}
		}
		d.Count += len(cd.Visits)
		d.Days = append(d.Days, cd)
	}
	if d.IsInstitute {
		feeds, _, err := s.st.ListFeeds(ctx, a, devices.Page{Limit: 100})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for _, fd := range feeds {
			if fd.Kind == devices.FeedInstitute && fd.SubjectID == a.OrgID && fd.RevokedAt == nil {
				d.Feeds = append(d.Feeds, fd)
			}
		}
	}
	y, n := mon.ISOWeek()
	s.render(w, r, status, "calendar", page{Title: fmt.Sprintf("Visits in week %d of %d", n, y), Errors: errs, Data: d})
}

// feedURL is where the API serves a feed (httpapi's feedPath), absolute
// so that a calendar client can subscribe to it as it is.
func (s *Server) feedURL(r *http.Request, secret string) string {
	scheme := "http"
	if s.secure(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/feeds/" + secret + ".ics"
}

// createFeed makes an iCalendar feed of the institute's visits and shows
// its URL this once.
func (s *Server) createFeed(w http.ResponseWriter, r *http.Request) {
	a := actorOf(r)
	f := devices.Feed{Kind: devices.FeedInstitute, SubjectID: a.OrgID, Name: strings.TrimSpace(r.PostFormValue("name"))}
	if a.OrgKind != devices.KindMetrologyInstitute {
		s.fail(w, r, devices.Forbidden("only an institute subscribes to its visits here"))
		return
	}
	secret, err := s.st.CreateFeed(r.Context(), a, &f)
	if err != nil {
		if errs, ok := fieldErrors(err); ok {
			s.calendarPage(w, r, http.StatusUnprocessableEntity, "", map[string]string{"feed-name": errs["name"]})
			return
		}
		s.fail(w, r, err)
		return
	}
	s.calendarPage(w, r, http.StatusOK, s.feedURL(r, secret), nil)
}

func (s *Server) revokeFeed(w http.ResponseWriter, r *http.Request) {
	f, err := s.st.RevokeFeed(r.Context(), actorOf(r), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	redirectDone(w, r, "/calendar", "Feed "+f.Name+" revoked: its URL no longer answers.")
}

// ---- Visit list and requests ----------------------------------------------

// requestRow is a calibration request with its venue, and the values and
// errors of the action form that was last sent for it.
type requestRow struct {
	devices.CalibrationRequest
	VenueName string
	Form      map[string]string
	Errs      map[string]string
	Open      string
	// What the action forms need: the session's CSRF token and the
	// proposal's default window.
	CSRF, Today, Later string
}

type visitsData struct {
	Visits       []visitRow
	Next         string
	State        string
	States       []devices.VisitState
	IsInstitute  bool
	Requests     []requestRow
	RequestsNext string
	Proposed     []requestRow
	ProposedMore bool
}

// requestForm is a request action form sent back with its errors.
type requestForm struct {
	id, action string
	form, errs map[string]string
}

func (s *Server) visits(w http.ResponseWriter, r *http.Request) {
	s.visitsPage(w, r, http.StatusOK, nil, "")
}

func (s *Server) visitsPage(w http.ResponseWriter, r *http.Request, status int, sent *requestForm, problemMsg string) {
	a, ctx := actorOf(r), r.Context()
	q := r.URL.Query()
	d := visitsData{States: devices.VisitStates, IsInstitute: a.OrgKind == devices.KindMetrologyInstitute}
	var errs map[string]string
	f := devices.VisitFilter{}
	if st := q.Get("state"); st != "" {
		if devices.VisitState(st).Valid() {
			f.State, d.State = devices.VisitState(st), st
		} else {
			errs = map[string]string{"state": "Pick one of the listed states."}
			status = http.StatusUnprocessableEntity
		}
	}
	list, next, err := s.st.ListVisits(ctx, a, f, devices.Page{Limit: 50, Cursor: q.Get("cursor")})
	if err != nil {
		if _, ok := fieldErrors(err); ok {
			// A stale or forged cursor: show the first page.
			if problemMsg == "" {
				problemMsg = "That page link no longer works; this is the first page."
			}
			list, next, err = s.st.ListVisits(ctx, a, f, devices.Page{Limit: 50})
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
	}
	slices.SortStableFunc(list, func(x, y devices.Visit) int { return strings.Compare(x.Day, y.Day) })
	if d.Visits, err = s.visitRows(ctx, a, list); err != nil {
		s.fail(w, r, err)
		return
	}
	d.Next = next
	if d.IsInstitute {
		reqs, rnext, err := s.st.ListRequests(ctx, a, devices.RequestFilter{State: devices.RequestRequested},
			devices.Page{Limit: 50, Cursor: q.Get("rcursor")})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		proposed, pnext, err := s.st.ListRequests(ctx, a, devices.RequestFilter{State: devices.RequestProposed}, devices.Page{Limit: 50})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		// The request whose form came back with errors is shown even when
		// it is not on this page.
		if sent != nil && !slices.ContainsFunc(slices.Concat(reqs, proposed), func(x devices.CalibrationRequest) bool { return x.ID == sent.id }) {
			if one, err := s.st.GetRequest(ctx, a, sent.id); err == nil {
				if one.State == devices.RequestProposed {
					proposed = append([]devices.CalibrationRequest{one}, proposed...)
				} else {
					reqs = append([]devices.CalibrationRequest{one}, reqs...)
				}
			}
		}
		loc, err := s.zoneOf(ctx, a)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		now := time.Now().In(loc)
		forms := requestRow{CSRF: sessionOf(r).CSRF, Today: now.Format(devices.DateLayout), Later: now.AddDate(0, 0, 14).Format(devices.DateLayout)}
		if d.Requests, err = s.requestRows(ctx, a, reqs, sent, forms); err != nil {
			s.fail(w, r, err)
			return
		}
		if d.Proposed, err = s.requestRows(ctx, a, proposed, sent, forms); err != nil {
			s.fail(w, r, err)
			return
		}
		d.RequestsNext, d.ProposedMore = rnext, pnext != ""
	}
	s.render(w, r, status, "visits", page{Title: "Visits", Errors: errs, Problem: problemMsg, Data: d})
}

func (s *Server) requestRows(ctx context.Context, a devices.Actor, reqs []devices.CalibrationRequest, sent *requestForm,
	forms requestRow) ([]requestRow, error) {
	ids := make([]string, len(reqs))
	for i, q := range reqs {
		ids[i] = q.VenueID
	}
	names, err := s.venueNames(ctx, a, ids)
	if err != nil {
		return nil, err
	}
	out := make([]requestRow, len(reqs))
	for i, q := range reqs {
		out[i] = requestRow{CalibrationRequest: q, VenueName: names[q.VenueID], CSRF: forms.CSRF, Today: forms.Today, Later: forms.Later}
		if sent != nil && sent.id == q.ID {
			out[i].Form, out[i].Errs, out[i].Open = sent.form, sent.errs, sent.action
		}
	}
	return out, nil
}

// requestActions are the actions the dashboard offers on a request, by
// the path segment the form posts to.
var requestActions = map[string]devices.RequestAction{
	"accept": devices.RequestAccept, "propose": devices.RequestPropose, "decline": devices.RequestDecline,
	"accept-proposal": devices.RequestAcceptProposal, "withdraw": devices.RequestWithdraw,
}

// actOnRequest answers a calibration request through the Registry at the
// version the page showed: accept (creating the tasks), propose another
// window, or decline with a note; the operator's accept-proposal and
// withdraw work the same way.
func (s *Server) actOnRequest(w http.ResponseWriter, r *http.Request) {
	action, ok := requestActions[r.PathValue("action")]
	if !ok {
		s.fail(w, r, fmt.Errorf("request action %q: %w", r.PathValue("action"), devices.ErrNotFound))
		return
	}
	id := r.PathValue("id")
	f := formOf(r, "version", "note", "proposed_from", "proposed_to", "next")
	version, err := strconv.Atoi(f["version"])
	if err != nil || version < 0 {
		version = devices.AnyVersion
	}
	req, err := s.st.ActOnRequest(r.Context(), actorOf(r), id, version, action, f["note"], f["proposed_from"], f["proposed_to"])
	if err != nil {
		sent := &requestForm{id: id, action: r.PathValue("action"), form: f}
		if errs, ok := fieldErrors(err); ok {
			sent.errs = errs
			s.visitsPage(w, r, http.StatusUnprocessableEntity, sent, "")
			return
		}
		if status, msg, ok := problem(err); ok {
			s.visitsPage(w, r, status, sent, msg)
			return
		}
		s.fail(w, r, err)
		return
	}
	var msg string
	switch action {
	case devices.RequestAccept, devices.RequestAcceptProposal:
		msg = fmt.Sprintf("Request accepted: %d calibration task(s) created. The next planning run puts them on a visit; it then shows in the calendar.",
			len(req.TaskIDs))
	case devices.RequestPropose:
		msg = "Proposed " + req.ProposedFrom + " to " + req.ProposedTo + "; the venue operator accepts it or withdraws the request."
	case devices.RequestDecline:
		msg = "Request declined; the venue operator sees your note."
	default:
		msg = "Request withdrawn."
	}
	to := "/visits"
	if f["next"] != "" {
		to = safeNext(f["next"])
	}
	redirectDone(w, r, to, msg)
}

// ---- One visit --------------------------------------------------------------

// taskRow is a task of a visit with its thermometer and, once completed,
// its result's certificate.
type taskRow struct {
	devices.Task
	Serial        string
	ResultID      string
	CertificateNo string
	Verdict       devices.Verdict
}

type visitData struct {
	Visit    devices.Visit
	Venue    devices.Venue
	HasVenue bool
	Tasks    []taskRow
	Actions  []devices.VisitAction
	CanAct   bool
	CanEnter bool
	Reason   string
	Open     string
	Week     string // the visit's ISO week, for the calendar link
}

func (s *Server) visit(w http.ResponseWriter, r *http.Request) {
	s.visitPage(w, r, http.StatusOK, nil, "", "")
}

func (s *Server) visitPage(w http.ResponseWriter, r *http.Request, status int, errs map[string]string, problemMsg, reason string) {
	a, ctx := actorOf(r), r.Context()
	v, err := s.st.GetVisit(ctx, a, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := visitData{Visit: v, Reason: reason,
		CanAct:   a.OrgID == v.InstituteID || (a.IsRegulator() && a.IsAdmin()),
		CanEnter: a.OrgKind == devices.KindMetrologyInstitute && a.OrgID == v.InstituteID}
	if len(errs) > 0 {
		d.Open = "cancel"
	}
	if day, err := time.Parse(devices.DateLayout, v.Day); err == nil {
		d.Week = isoWeek(day)
	}
	venue, err := s.st.GetVenue(ctx, a, v.VenueID)
	switch {
	case err == nil:
		d.Venue, d.HasVenue = venue, true
	case !errors.Is(err, devices.ErrNotFound):
		s.fail(w, r, err)
		return
	}
	for _, act := range devices.VisitActions {
		if _, err := v.State.Next(act); err == nil {
			d.Actions = append(d.Actions, act)
		}
	}
	if d.Tasks, err = s.visitTasks(ctx, a, v); err != nil {
		s.fail(w, r, err)
		return
	}
	title := "Visit on " + v.Day
	if d.HasVenue {
		title = "Visit to " + venue.Name + " on " + v.Day
	}
	s.render(w, r, status, "visit", page{Title: title, Errors: errs, Problem: problemMsg, Data: d})
}

// visitTasks loads a visit's tasks one by one (a task list cannot filter
// by visit), their thermometers' serials from the venue's list, and the
// certificate of each completed task.
func (s *Server) visitTasks(ctx context.Context, a devices.Actor, v devices.Visit) ([]taskRow, error) {
	out := make([]taskRow, 0, len(v.TaskIDs))
	for _, id := range v.TaskIDs {
		t, err := s.st.GetTask(ctx, a, id)
		if errors.Is(err, devices.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, taskRow{Task: t})
	}
	serials := map[string]string{}
	cursor := ""
	for range 20 {
		ths, next, err := s.st.ListThermometers(ctx, a, devices.ThermometerFilter{VenueID: v.VenueID, IncludeRetired: true},
			devices.Page{Limit: devices.MaxLimit, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		for _, t := range ths {
			serials[t.ID] = t.Serial
		}
		if next == "" {
			break
		}
		cursor = next
	}
	for i := range out {
		t := &out[i]
		t.Serial = serials[t.ThermometerID]
		if t.Serial == "" {
			t.Serial = "thermometer"
		}
		if t.State != devices.TaskCompleted {
			continue
		}
		results, _, err := s.st.ListResults(ctx, a, devices.ResultFilter{ThermometerID: t.ThermometerID}, devices.Page{Limit: 20})
		if err != nil {
			return nil, err
		}
		// The newest result of the task: a correction replaces the original.
		for _, res := range results {
			if res.TaskID != nil && *res.TaskID == t.ID && res.ReplacedByID == nil {
				t.ResultID, t.CertificateNo, t.Verdict = res.ID, res.CertificateNo, res.Verdict
				break
			}
		}
	}
	slices.SortStableFunc(out, func(x, y taskRow) int {
		if x.Priority != y.Priority {
			return x.Priority - y.Priority
		}
		return strings.Compare(x.DueOn, y.DueOn)
	})
	return out, nil
}

var visitActionByName = map[string]devices.VisitAction{
	string(devices.VisitConfirm): devices.VisitConfirm, string(devices.VisitStart): devices.VisitStart,
	string(devices.VisitComplete): devices.VisitComplete, string(devices.VisitCancel): devices.VisitCancel,
}

// actOnVisit moves a visit through its workflow at the version the page
// showed: confirm, start (its tasks go in progress), complete (when every
// task has its result) or cancel with a reason.
func (s *Server) actOnVisit(w http.ResponseWriter, r *http.Request) {
	action, ok := visitActionByName[r.PathValue("action")]
	if !ok {
		s.fail(w, r, fmt.Errorf("visit action %q: %w", r.PathValue("action"), devices.ErrNotFound))
		return
	}
	f := formOf(r, "version", "reason")
	version, err := strconv.Atoi(f["version"])
	if err != nil || version < 0 {
		version = devices.AnyVersion
	}
	v, err := s.st.ActOnVisit(r.Context(), actorOf(r), r.PathValue("id"), version, action, f["reason"])
	if err != nil {
		if errs, ok := fieldErrors(err); ok {
			s.visitPage(w, r, http.StatusUnprocessableEntity, errs, "", f["reason"])
			return
		}
		if status, msg, ok := problem(err); ok {
			s.visitPage(w, r, status, nil, msg, f["reason"])
			return
		}
		s.fail(w, r, err)
		return
	}
	msg := map[devices.VisitAction]string{
		devices.VisitConfirm:  "Visit confirmed: it stays on " + v.Day + " when visits are re-planned.",
		devices.VisitStart:    "Visit started: its tasks are in progress. Enter each thermometer's result below.",
		devices.VisitComplete: "Visit completed.",
		devices.VisitCancel:   "Visit cancelled: its tasks are open again for the next planning run.",
	}[action]
	redirectDone(w, r, "/visits/"+v.ID, msg)
}
