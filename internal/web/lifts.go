package web

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/calibd/calibd/devices"
)

// liftRoutes registers the pages of one audience. Lifts: maintenance
// firms' lifts and reports, operators' agreements and countersigning.
//
// Each page reads and writes through the registry as the signed-in actor,
// exactly as the JSON API's contracts, agreements, lift-tasks and
// lift-reports endpoints do, so a lift, agreement, task or report of
// another tenant answers 404 here too.
func (s *Server) liftRoutes() {
	s.mux.HandleFunc("GET /lifts", s.authed(s.lifts))
	s.mux.HandleFunc("GET /lifts/{id}", s.authed(s.lift))
	s.mux.HandleFunc("GET /agreements", s.authed(s.agreements))
	s.mux.HandleFunc("POST /agreements", s.authed(s.proposeAgreement))
	s.mux.HandleFunc("GET /agreements/{id}", s.authed(s.agreement))
	s.mux.HandleFunc("POST /agreements/{id}/accept", s.authed(s.answerAgreement(devices.AgreementAccept)))
	s.mux.HandleFunc("POST /agreements/{id}/reject", s.authed(s.answerAgreement(devices.AgreementReject)))
	s.mux.HandleFunc("GET /reports", s.authed(s.reports))
	s.mux.HandleFunc("GET /reports/new", s.authed(s.newReport))
	s.mux.HandleFunc("POST /reports", s.authed(s.fileReport))
	s.mux.HandleFunc("GET /reports/{id}", s.authed(s.report))
	s.mux.HandleFunc("POST /reports/{id}/countersign", s.authed(s.countersign))
}

const (
	// liftPageSize is how many lifts one page of /lifts shows.
	liftPageSize = 50
	// listCap bounds how many rows a page reads from one list (tasks,
	// contracts, agreements, reports); past it the page says it is partial.
	listCap = 2000
	// shownHistory is how many past reports or tasks a page lists.
	shownHistory = 50
	// shownRefused is how many of a device's dead letters its page lists.
	shownRefused = 10
	// localInput is how datetime-local inputs write a time (the venue's).
	localInput = "2006-01-02T15:04"
)

// collect pages through a list until its end or until it holds at least
// max rows; cut reports whether rows were left unread.
func collect[T any](max int, list func(devices.Page) ([]T, string, error)) (out []T, cut bool, err error) {
	cursor := ""
	for {
		items, next, err := list(devices.Page{Limit: devices.MaxLimit, Cursor: cursor})
		if err != nil {
			return nil, false, err
		}
		out = append(out, items...)
		if next == "" {
			return out, false, nil
		}
		if len(out) >= max {
			return out, true, nil
		}
		cursor = next
	}
}

// lookups resolves the names a lift page shows (lift registration codes,
// venue names and zones, firm names) as the actor, once per request. What
// the actor may not see (a lift handed to another firm since) stays
// nameless rather than failing the page.
type lookups struct {
	s      *Server
	ctx    context.Context
	a      devices.Actor
	lifts  map[string]devices.Elevator
	venues map[string]devices.Venue
	firms  map[string]string
	zones  map[string]*time.Location
}

func (s *Server) lookups(r *http.Request) *lookups {
	return &lookups{s: s, ctx: r.Context(), a: actorOf(r), lifts: map[string]devices.Elevator{}, venues: map[string]devices.Venue{},
		zones: map[string]*time.Location{}}
}

// preload reads every visible lift and venue in one go, for list pages.
func (l *lookups) preload() error {
	lifts, _, err := collect(listCap, func(p devices.Page) ([]devices.Elevator, string, error) {
		return l.s.st.ListElevators(l.ctx, l.a, devices.ElevatorFilter{IncludeRetired: true}, p)
	})
	if err != nil {
		return err
	}
	for _, e := range lifts {
		l.lifts[e.ID] = e
	}
	venues, _, err := collect(listCap, func(p devices.Page) ([]devices.Venue, string, error) {
		return l.s.st.ListVenues(l.ctx, l.a, devices.VenueFilter{IncludeRetired: true}, p)
	})
	if err != nil {
		return err
	}
	for _, v := range venues {
		l.venues[v.ID] = v
	}
	return nil
}

func (l *lookups) lift(id string) (devices.Elevator, error) {
	if e, ok := l.lifts[id]; ok {
		return e, nil
	}
	e, err := l.s.st.GetElevator(l.ctx, l.a, id)
	if errors.Is(err, devices.ErrNotFound) {
		e, err = devices.Elevator{ID: id}, nil
	}
	if err != nil {
		return e, err
	}
	l.lifts[id] = e
	return e, nil
}

func (l *lookups) venue(id string) (devices.Venue, error) {
	if v, ok := l.venues[id]; ok {
		return v, nil
	}
	v, err := l.s.st.GetVenue(l.ctx, l.a, id)
	if errors.Is(err, devices.ErrNotFound) {
		v, err = devices.Venue{ID: id}, nil
	}
	if err != nil {
		return v, err
	}
	l.venues[id] = v
	return v, nil
}

// zone is the venue's time zone (UTC when unknown): due days and local
// times are the venue's.
func (l *lookups) zone(v devices.Venue) *time.Location {
	if loc, ok := l.zones[v.TimeZone]; ok {
		return loc
	}
	loc, err := time.LoadLocation(v.TimeZone)
	if err != nil || v.TimeZone == "" {
		loc = time.UTC
	}
	l.zones[v.TimeZone] = loc
	return loc
}

// today is the day in the venue's zone.
func (l *lookups) today(v devices.Venue) string {
	return time.Now().In(l.zone(v)).Format(devices.DateLayout)
}

// firm names a maintenance firm (the public directory), "" when unknown.
func (l *lookups) firm(id *string) (string, error) {
	if id == nil {
		return "", nil
	}
	if l.firms == nil {
		l.firms = map[string]string{}
		orgs, _, err := collect(listCap, func(p devices.Page) ([]devices.Organization, string, error) {
			return l.s.st.ListOrganizations(l.ctx, l.a, devices.OrganizationFilter{Kind: devices.KindMaintenanceFirm}, p)
		})
		if err != nil {
			return "", err
		}
		for _, o := range orgs {
			l.firms[o.ID] = o.Name
		}
	}
	return l.firms[*id], nil
}

// ---- lifts ------------------------------------------------------------------

// taskView is a lift task as a person reads it: when it is due, whether
// that day has passed, and whether the actor files its report.
type taskView struct {
	devices.LiftTask
	KindLabel string
	Lift      string
	Venue     string
	Overdue   bool
	DueToday  bool
	CanReport bool
}

func (l *lookups) taskView(t devices.LiftTask) (taskView, error) {
	e, err := l.lift(t.ElevatorID)
	if err != nil {
		return taskView{}, err
	}
	v, err := l.venue(t.VenueID)
	if err != nil {
		return taskView{}, err
	}
	today := l.today(v)
	open := t.State == devices.LiftTaskOpen
	return taskView{LiftTask: t, KindLabel: taskKindLabel(t.Kind), Lift: cmp.Or(e.RegistrationCode, "(a lift you no longer see)"), Venue: v.Name,
		Overdue: open && (t.OverdueSince != nil || t.DueOn < today), DueToday: open && t.DueOn == today,
		CanReport: open && l.a.OrgKind == devices.KindMaintenanceFirm && l.a.OrgID == t.FirmOrgID}, nil
}

// taskKindLabel names a kind of task as the pages do.
func taskKindLabel(k devices.LiftTaskKind) string {
	switch k {
	case devices.LiftTaskOnSite:
		return "on-site visit"
	case devices.LiftTaskRemote:
		return "remote inspection"
	case devices.LiftTaskUrgentOnSite:
		return "urgent on-site visit"
	}
	return label(string(k))
}

// liftCard is one lift with what is due on it.
type liftCard struct {
	Lift  devices.Elevator
	Venue devices.Venue
	Firm  string
	// Contract is the contract in force today, else the next one to start
	// (Future), else nil.
	Contract   *devices.MaintenanceContract
	Future     bool
	Agreements []devices.CycleAgreement // live: proposed, accepted or suspended
	Tasks      []taskView               // open, soonest first
	Alerts     []string                 // kinds of the lift's unresolved alerts
}

type liftsData struct {
	Lifts      []liftCard
	Next       string
	IsFirm     bool
	IsOperator bool
	Partial    bool
	// The page of one lift adds its history.
	Detail     bool
	Contracts  []devices.MaintenanceContract
	History    []agreementView
	PastTasks  []taskView
	Reports    []reportView
	MoreReport bool
	Refused    []devices.DeadLetter // its newest dead letters
}

// lifts: the lifts the actor sees (an operator its own, a firm those it
// maintains), each with its open tasks, the cycle in force, live
// agreements and unresolved alerts.
func (s *Server) lifts(w http.ResponseWriter, r *http.Request) {
	a, ctx := actorOf(r), r.Context()
	list, next, err := s.st.ListElevators(ctx, a, devices.ElevatorFilter{}, devices.Page{Limit: liftPageSize, Cursor: r.URL.Query().Get("cursor")})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l := s.lookups(r)
	for _, e := range list {
		l.lifts[e.ID] = e
	}
	d, err := s.liftCards(l, list, "")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Next = next
	s.render(w, r, http.StatusOK, "lifts", page{Title: "Lifts", Data: d})
}

// lift: one lift's page: its card, contracts, agreements, recent tasks and
// reports.
func (s *Server) lift(w http.ResponseWriter, r *http.Request) {
	a, ctx := actorOf(r), r.Context()
	e, err := s.st.GetElevator(ctx, a, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l := s.lookups(r)
	l.lifts[e.ID] = e
	d, err := s.liftCards(l, []devices.Elevator{e}, e.ID)
	if err == nil {
		err = s.liftHistory(l, &d, e.ID)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "lifts", page{Title: "Lift " + e.RegistrationCode, Data: d})
}

// liftCards builds the cards of lifts; one, when set, narrows every list
// read to that lift.
func (s *Server) liftCards(l *lookups, lifts []devices.Elevator, one string) (liftsData, error) {
	ctx, a := l.ctx, l.a
	d := liftsData{IsFirm: a.OrgKind == devices.KindMaintenanceFirm, IsOperator: a.OrgKind == devices.KindVenueOperator, Detail: one != ""}
	tasks, cut1, err := collect(listCap, func(p devices.Page) ([]devices.LiftTask, string, error) {
		return s.st.ListLiftTasks(ctx, a, devices.LiftTaskFilter{ElevatorID: one, State: devices.LiftTaskOpen}, p)
	})
	if err != nil {
		return d, err
	}
	contracts, cut2, err := collect(listCap, func(p devices.Page) ([]devices.MaintenanceContract, string, error) {
		return s.st.ListContracts(ctx, a, devices.ContractFilter{ElevatorID: one}, p)
	})
	if err != nil {
		return d, err
	}
	var live []devices.CycleAgreement
	for _, st := range []devices.AgreementState{devices.AgreementProposed, devices.AgreementAccepted, devices.AgreementSuspended} {
		list, cut, err := collect(listCap, func(p devices.Page) ([]devices.CycleAgreement, string, error) {
			return s.st.ListAgreements(ctx, a, devices.AgreementFilter{ElevatorID: one, State: st}, p)
		})
		if err != nil {
			return d, err
		}
		live = append(live, list...)
		d.Partial = d.Partial || cut
	}
	d.Partial = d.Partial || cut1 || cut2
	alerts := map[string][]devices.AlertKind{}
	if one == "" {
		if alerts, err = s.activeAlerts(ctx, a); err != nil {
			return d, err
		}
	} else {
		list, _, err := s.st.ListAlerts(ctx, a, devices.AlertFilter{DeviceID: one}, devices.Page{Limit: 100})
		if err != nil {
			return d, err
		}
		for _, al := range list {
			if al.State != devices.AlertResolved {
				alerts[al.DeviceID] = append(alerts[al.DeviceID], al.Kind)
			}
		}
	}
	tasksBy := map[string][]devices.LiftTask{}
	for _, t := range tasks {
		tasksBy[t.ElevatorID] = append(tasksBy[t.ElevatorID], t)
	}
	contractsBy := map[string][]devices.MaintenanceContract{}
	for _, c := range contracts {
		contractsBy[c.ElevatorID] = append(contractsBy[c.ElevatorID], c)
	}
	agreementsBy := map[string][]devices.CycleAgreement{}
	for _, ag := range live {
		agreementsBy[ag.ElevatorID] = append(agreementsBy[ag.ElevatorID], ag)
	}
	for _, e := range lifts {
		v, err := l.venue(e.VenueID)
		if err != nil {
			return d, err
		}
		card := liftCard{Lift: e, Venue: v, Agreements: agreementsBy[e.ID]}
		if a.OrgKind != devices.KindMaintenanceFirm {
			if card.Firm, err = l.firm(e.MaintenanceFirmID); err != nil {
				return d, err
			}
		}
		card.Contract, card.Future = contractToday(contractsBy[e.ID], l.today(v))
		slices.SortFunc(card.Agreements, func(x, y devices.CycleAgreement) int { return cmp.Compare(x.ValidFrom, y.ValidFrom) })
		ts := tasksBy[e.ID]
		slices.SortFunc(ts, func(x, y devices.LiftTask) int {
			return cmp.Or(cmp.Compare(x.DueOn, y.DueOn), cmp.Compare(x.Kind, y.Kind))
		})
		for _, t := range ts {
			tv, err := l.taskView(t)
			if err != nil {
				return d, err
			}
			card.Tasks = append(card.Tasks, tv)
		}
		for _, k := range alerts[e.ID] {
			if lk := label(string(k)); !slices.Contains(card.Alerts, lk) {
				card.Alerts = append(card.Alerts, lk)
			}
		}
		d.Lifts = append(d.Lifts, card)
	}
	return d, nil
}

// contractToday picks the contract in force on today, else the next to
// start.
func contractToday(cs []devices.MaintenanceContract, today string) (*devices.MaintenanceContract, bool) {
	var next *devices.MaintenanceContract
	for i := range cs {
		c := &cs[i]
		if c.ActiveOn(today) {
			return c, false
		}
		if c.StartsOn > today && (next == nil || c.StartsOn < next.StartsOn) {
			next = c
		}
	}
	return next, next != nil
}

// liftHistory adds one lift's contracts, agreements, past tasks and
// reports to its page, newest first.
func (s *Server) liftHistory(l *lookups, d *liftsData, id string) error {
	ctx, a := l.ctx, l.a
	cs, cut1, err := collect(listCap, func(p devices.Page) ([]devices.MaintenanceContract, string, error) {
		return s.st.ListContracts(ctx, a, devices.ContractFilter{ElevatorID: id}, p)
	})
	if err != nil {
		return err
	}
	slices.SortFunc(cs, func(x, y devices.MaintenanceContract) int { return cmp.Compare(y.StartsOn, x.StartsOn) })
	d.Contracts = cs
	ags, cut2, err := collect(listCap, func(p devices.Page) ([]devices.CycleAgreement, string, error) {
		return s.st.ListAgreements(ctx, a, devices.AgreementFilter{ElevatorID: id}, p)
	})
	if err != nil {
		return err
	}
	if d.History, err = l.agreementViews(ags); err != nil {
		return err
	}
	tasks, cut3, err := collect(listCap, func(p devices.Page) ([]devices.LiftTask, string, error) {
		return s.st.ListLiftTasks(ctx, a, devices.LiftTaskFilter{ElevatorID: id}, p)
	})
	if err != nil {
		return err
	}
	slices.SortFunc(tasks, func(x, y devices.LiftTask) int { return cmp.Compare(y.DueOn, x.DueOn) })
	for _, t := range tasks {
		if t.State == devices.LiftTaskOpen {
			continue
		}
		if len(d.PastTasks) == shownHistory {
			break
		}
		tv, err := l.taskView(t)
		if err != nil {
			return err
		}
		d.PastTasks = append(d.PastTasks, tv)
	}
	reps, cut4, err := collect(listCap/4, func(p devices.Page) ([]devices.MaintenanceReport, string, error) {
		return s.st.ListReports(ctx, a, devices.ReportFilter{ElevatorID: id}, p)
	})
	if err != nil {
		return err
	}
	urgent, cut5, err := l.urgentTasks(id)
	if err != nil {
		return err
	}
	views, err := l.reportViews(reps, urgent)
	if err != nil {
		return err
	}
	if len(views) > shownHistory {
		views, d.MoreReport = views[:shownHistory], true
	}
	d.Reports = views
	if d.Refused, _, err = s.st.DeviceDeadLetters(ctx, a, id, devices.DeadLetterFilter{}, devices.Page{Limit: shownRefused}); err != nil {
		return err
	}
	d.Partial = d.Partial || cut1 || cut2 || cut3 || cut4 || cut5
	return nil
}
