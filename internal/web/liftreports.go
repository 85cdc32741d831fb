package web

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/calibd/calibd/devices"
)

// Maintenance reports: the operator countersigns, the firm files them
// through the report form (issue 6, lift pages).

// reportView is a maintenance report as its readers see it: the lift, the
// local time it was done, what failed and whether the actor countersigns.
type reportView struct {
	devices.MaintenanceReport
	KindLabel      string
	Lift           string
	Venue          string
	Performed      string // in the venue's zone, named
	Failed         []string
	CanCountersign bool
	Urgent         *taskView   // the urgent on-site task the report opened
	Checks         []checkView // on the report's own page
}

type checkView struct {
	Code, Title string
	Result      devices.ItemResult
	Note        string
}

// reportViews makes the views of reports, newest first; urgent maps a
// report to the urgent task it opened.
func (l *lookups) reportViews(reps []devices.MaintenanceReport, urgent map[string]taskView) ([]reportView, error) {
	slices.SortStableFunc(reps, func(x, y devices.MaintenanceReport) int { return y.SubmittedAt.Compare(x.SubmittedAt) })
	out := make([]reportView, 0, len(reps))
	for _, rep := range reps {
		e, err := l.lift(rep.ElevatorID)
		if err != nil {
			return nil, err
		}
		v, err := l.venue(rep.VenueID)
		if err != nil {
			return nil, err
		}
		loc := l.zone(v)
		out = append(out, reportView{MaintenanceReport: rep, KindLabel: kindLabel(rep.Kind), Venue: v.Name,
			Lift:      cmp.Or(e.RegistrationCode, "(a lift you no longer see)"),
			Performed: rep.PerformedAt.In(loc).Format("2006-01-02 15:04") + " " + loc.String(), Failed: rep.Failed(),
			CanCountersign: rep.CountersignedAt == nil && l.a.CanWriteRegistry() && l.a.OrgID == rep.OperatorOrgID})
		if u, ok := urgent[rep.ID]; ok {
			out[len(out)-1].Urgent = &u
		}
	}
	return out, nil
}

// urgentTasks maps each report that opened an urgent on-site task (of one
// lift, or of all the actor sees) to that task. A report read back does
// not carry its UrgentTaskID (only the filing returns it), so the tasks'
// SourceReportID is what links them.
func (l *lookups) urgentTasks(elevatorID string) (map[string]taskView, bool, error) {
	ts, cut, err := collect(listCap, func(p devices.Page) ([]devices.LiftTask, string, error) {
		return l.s.st.ListLiftTasks(l.ctx, l.a, devices.LiftTaskFilter{ElevatorID: elevatorID, Kind: devices.LiftTaskUrgentOnSite}, p)
	})
	if err != nil {
		return nil, false, err
	}
	out := map[string]taskView{}
	for _, t := range ts {
		if t.SourceReportID == nil {
			continue
		}
		tv, err := l.taskView(t)
		if err != nil {
			return nil, false, err
		}
		out[*t.SourceReportID] = tv
	}
	return out, cut, nil
}

type reportsData struct {
	Awaiting   []reportView // not countersigned yet
	Signed     []reportView // countersigned, newest first
	MoreSigned bool
	Due        []taskView // the firm's open tasks, soonest first
	IsFirm     bool
	IsOperator bool
	Detail     bool
	Partial    bool
}

func (s *Server) reports(w http.ResponseWriter, r *http.Request) {
	s.reportsPage(w, r, http.StatusOK, "", nil, "")
}

func (s *Server) report(w http.ResponseWriter, r *http.Request) {
	s.reportsPage(w, r, http.StatusOK, r.PathValue("id"), nil, "")
}

// reportsPage renders the reports the actor sees, or one report when id
// is set, with errors by input id and a message for the page.
func (s *Server) reportsPage(w http.ResponseWriter, r *http.Request, status int, id string, errs map[string]string, problem string) {
	a, ctx := actorOf(r), r.Context()
	l := s.lookups(r)
	d := reportsData{IsFirm: a.OrgKind == devices.KindMaintenanceFirm, IsOperator: a.OrgKind == devices.KindVenueOperator, Detail: id != ""}
	var reps []devices.MaintenanceReport
	if id != "" {
		rep, err := s.st.GetReport(ctx, a, id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		reps = []devices.MaintenanceReport{rep}
	} else {
		if err := l.preload(); err != nil {
			s.fail(w, r, err)
			return
		}
		var err error
		// Reports come oldest first and carry their items: a thousand is
		// plenty for a page, and the page says when there are more.
		reps, d.Partial, err = collect(listCap/2, func(p devices.Page) ([]devices.MaintenanceReport, string, error) {
			return s.st.ListReports(ctx, a, devices.ReportFilter{}, p)
		})
		if err != nil {
			s.fail(w, r, err)
			return
		}
	}
	one := ""
	if id != "" {
		one = reps[0].ElevatorID
	}
	urgent, cut, err := l.urgentTasks(one)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Partial = d.Partial || cut
	views, err := l.reportViews(reps, urgent)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, v := range views {
		if v.CountersignedAt == nil {
			d.Awaiting = append(d.Awaiting, v)
			continue
		}
		if len(d.Signed) == shownHistory && id == "" {
			d.MoreSigned = true
			continue
		}
		d.Signed = append(d.Signed, v)
	}
	title := "Inspection reports"
	if id != "" {
		v := &views[0]
		for _, it := range v.Items {
			ci, _ := devices.ChecklistItemByCode(it.Code)
			v.Checks = append(v.Checks, checkView{Code: it.Code, Title: ci.Title, Result: it.Result, Note: it.Note})
		}
		d.Awaiting, d.Signed = nil, nil
		if v.CountersignedAt == nil {
			d.Awaiting = []reportView{*v}
		} else {
			d.Signed = []reportView{*v}
		}
		title = fmt.Sprintf("%s report, lift %s", kindLabel(v.Kind), v.Lift)
	}
	if d.IsFirm && id == "" {
		tasks, cut, err := collect(listCap, func(p devices.Page) ([]devices.LiftTask, string, error) {
			return s.st.ListLiftTasks(ctx, a, devices.LiftTaskFilter{State: devices.LiftTaskOpen}, p)
		})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		d.Partial = d.Partial || cut
		slices.SortFunc(tasks, func(x, y devices.LiftTask) int { return cmp.Compare(x.DueOn, y.DueOn) })
		for _, t := range tasks {
			tv, err := l.taskView(t)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			d.Due = append(d.Due, tv)
		}
	}
	s.render(w, r, status, "reports", page{Title: title, Errors: errs, Problem: problem, Data: d})
}

func kindLabel(k devices.ReportKind) string {
	if k == devices.ReportRemote {
		return "Remote inspection"
	}
	return "On-site maintenance"
}

// countersign: the lift's venue operator signs a report, once, with an
// optional note.
func (s *Server) countersign(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	rep, err := s.st.CountersignReport(r.Context(), actorOf(r), id, r.PostFormValue("note"))
	if fe, ok := fieldErrors(err); ok {
		errs := map[string]string{}
		for f, msg := range fe {
			errs[f+"-"+id] = msg
		}
		s.reportsPage(w, r, http.StatusUnprocessableEntity, id, errs, "")
		return
	}
	if status, msg, ok := refusal(err); ok {
		s.reportsPage(w, r, status, id, nil, msg)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l := s.lookups(r)
	lift, err := l.lift(rep.ElevatorID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := l.venue(rep.VenueID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	redirectDone(w, r, "/reports", fmt.Sprintf("%s report of lift %s (%s) countersigned.", kindLabel(rep.Kind), lift.RegistrationCode,
		rep.PerformedAt.In(l.zone(v)).Format("2006-01-02 15:04")))
}

// ---- the report form ------------------------------------------------------------

// reportTask is what a report form is about: an open task of the firm's,
// its lift and venue, and the checklist the report answers.
type reportTask struct {
	Task devices.LiftTask
	// KindLabel names the task's kind.
	KindLabel string
	Lift      devices.Elevator
	Venue     devices.Venue
	Loc       *time.Location
	Kind      devices.ReportKind
	Remote    bool
	Items     []devices.ChecklistItem
}

// reportTaskOf loads the task a report is filed against: ErrNotFound for
// a task the actor cannot see, ErrForbidden unless it is the contracted
// firm's, a conflict once the task is no longer open.
func (s *Server) reportTaskOf(r *http.Request, id string) (reportTask, error) {
	a, ctx := actorOf(r), r.Context()
	if id == "" {
		return reportTask{}, devices.Invalid("task", "pick the task the report is for: the Lifts and Inspection reports pages link each open task to its form")
	}
	t, err := s.st.GetLiftTask(ctx, a, id)
	if err != nil {
		return reportTask{}, err
	}
	if a.OrgKind != devices.KindMaintenanceFirm || a.OrgID != t.FirmOrgID {
		return reportTask{}, devices.Forbidden("only the contracted maintenance firm files the lift's reports")
	}
	if t.State != devices.LiftTaskOpen {
		return reportTask{}, devices.Conflict("invalid_transition", "this task is %s; reports complete open tasks", t.State)
	}
	l := s.lookups(r)
	rt := reportTask{Task: t, KindLabel: taskKindLabel(t.Kind), Kind: devices.ReportOnSite}
	if rt.Lift, err = l.lift(t.ElevatorID); err != nil {
		return reportTask{}, err
	}
	if rt.Venue, err = l.venue(t.VenueID); err != nil {
		return reportTask{}, err
	}
	rt.Loc = l.zone(rt.Venue)
	cat := t.Category
	if t.Kind == devices.LiftTaskRemote {
		rt.Kind, rt.Remote, cat = devices.ReportRemote, true, devices.CategoryHalfMonthly
	}
	if !cat.Valid() {
		cat = devices.CategoryHalfMonthly
	}
	rt.Items = devices.ChecklistFor(cat, false)
	return rt, nil
}

// liftInput is one labelled form control whose id differs from its name (the
// domain's field names, such as items[3].note, are not friendly ids).
type liftInput struct {
	ID, Name, Label, Type, Value, Hint, Err string
	InputMode, Min, Max, Autocomplete       string
}

// choice is one option of a select.
type choice struct {
	Value, Label string
	Selected     bool
}

// itemInput is one checklist item of the report form. OnSiteOnly items of
// a remote inspection cannot be checked over video: they are sent as
// not_checkable_remotely and carry over to the next on-site visit.
type itemInput struct {
	Code, Title string
	OnSiteOnly  bool
	Carried     bool
	ResultName  string
	Result      liftInput
	Choices     []choice
	Note        liftInput
}

// evidenceInput is one row of evidence.
type evidenceInput struct {
	Number int // 1-based, for its legend
	ID     string
	Fields []liftInput
}

// summaryLine links an error to the control it concerns.
type summaryLine struct {
	ID, Label, Msg string
}

type reportFormData struct {
	reportTask
	Key        string
	Form       map[string]string
	Check      []itemInput // checked in this report
	OnSiteOnly []itemInput // remote inspection: stay on site
	Evidence   []evidenceInput
	NextRow    int
	CanAdd     bool // another evidence row fits
	Summary    []summaryLine
	Zone       string
	// VenueLabel and VenueHint say whether the venue's person is required.
	VenueLabel, VenueHint string
}

// inputID turns a domain field name into the id of its input:
// items[3].note → items-3-note, evidence[0].sha256 → evidence-0-sha256.
func inputID(field string) string {
	return strings.NewReplacer("].", "-", "[", "-", "]", "", ".", "-").Replace(field)
}

// newReport: the form for a report on an open task of the firm's.
func (s *Server) newReport(w http.ResponseWriter, r *http.Request) {
	rt, err := s.reportTaskOf(r, r.URL.Query().Get("task"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	form := url.Values{"performed_at": {time.Now().In(rt.Loc).Format(localInput)}}
	s.reportForm(w, r, http.StatusOK, rt, form, newFormKey(), 1, nil, "")
}

// newFormKey makes the idempotency key a rendered report form carries, so
// that sending the same form twice files one report.
func newFormKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// reportForm renders the form with the values sent, rows evidence rows
// and the errors by input id; errors about no input on the form go to the
// top of the page.
func (s *Server) reportForm(w http.ResponseWriter, r *http.Request, status int, rt reportTask, vals url.Values, key string, rows int,
	errs map[string]string, flash string) {
	d := reportFormData{reportTask: rt, Key: key, Form: map[string]string{}, Zone: rt.Loc.String(),
		VenueLabel: "Venue person present (optional)", VenueHint: "Who of the venue was present, if anyone."}
	if rt.Remote {
		d.VenueLabel, d.VenueHint = "Venue person present", "The venue's staff member on site during the video call."
	}
	for _, n := range []string{"technician", "venue_person", "performed_at", "notes"} {
		d.Form[n] = vals.Get(n)
	}
	known := map[string]string{"technician": "Technician", "venue_person": "Venue person present", "performed_at": "Performed at",
		"notes": "Notes", "items": "Checklist", "evidence": "Evidence"}
	var order []string
	order = append(order, "technician", "venue_person", "performed_at", "items")
	carried := map[string]bool{}
	for _, c := range rt.Task.CarriedItems {
		carried[c] = true
	}
	for i, it := range rt.Items {
		name := fmt.Sprintf("items[%d]", i)
		id := inputID(name)
		in := itemInput{Code: it.Code, Title: it.Title, Carried: carried[it.Code], OnSiteOnly: rt.Remote && !it.Remote,
			ResultName: name + ".result"}
		if in.OnSiteOnly {
			d.OnSiteOnly = append(d.OnSiteOnly, in)
			continue
		}
		result := vals.Get(name + ".result")
		in.Result = liftInput{ID: id + "-result", Name: name + ".result", Label: it.Code + " " + it.Title, Err: errs[id+"-result"]}
		if in.Carried {
			in.Result.Hint = "Carried over: found not ok or not checkable at an earlier remote inspection."
		}
		in.Choices = []choice{{Value: "", Label: "Choose a result"}}
		results := []devices.ItemResult{devices.ItemOK, devices.ItemNotOK}
		if rt.Remote {
			results = append(results, devices.ItemNotCheckableRemotely)
		}
		for _, res := range results {
			in.Choices = append(in.Choices, choice{Value: string(res), Label: label(string(res)), Selected: result == string(res)})
		}
		in.Note = liftInput{ID: id + "-note", Name: name + ".note", Label: "Note on " + it.Code, Type: "text", Value: vals.Get(name + ".note"),
			Err: errs[id+"-note"]}
		known[in.Result.ID], known[in.Note.ID] = it.Code+" result", it.Code+" note"
		order = append(order, in.Result.ID, in.Note.ID)
		d.Check = append(d.Check, in)
	}
	order = append(order, "evidence")
	for j := range rows {
		id := fmt.Sprintf("evidence-%d", j)
		name := fmt.Sprintf("evidence[%d]", j)
		row := evidenceInput{Number: j + 1, ID: id}
		for _, f := range []liftInput{
			{ID: id + "-url", Name: name + ".url", Label: "Video or photo URL", Type: "url", InputMode: "url", Autocomplete: "off",
				Hint: "Where the recording is kept: an http(s) link."},
			{ID: id + "-sha256", Name: name + ".sha256", Label: "SHA-256", Type: "text", Autocomplete: "off",
				Hint: "64 hexadecimal digits, e.g. from sha256sum, so nobody can swap the file."},
			{ID: id + "-duration_s", Name: name + ".duration_s", Label: "Duration (seconds)", Type: "number", InputMode: "numeric", Min: "0",
				Max: "86400", Hint: "0 for a photo."},
			{ID: id + "-captured_at", Name: name + ".captured_at", Label: "Captured at", Type: "datetime-local",
				Hint: "Local time at the venue (" + d.Zone + "), within a day of the check."},
		} {
			f.Value, f.Err = vals.Get(f.Name), errs[f.ID]
			known[f.ID] = fmt.Sprintf("Evidence %d, %s", j+1, f.Label)
			order = append(order, f.ID)
			row.Fields = append(row.Fields, f)
		}
		d.Evidence = append(d.Evidence, row)
	}
	d.NextRow, d.CanAdd = rows, rows < devices.MaxReportEvidence
	order = append(order, "notes")
	for _, id := range order {
		if msg := errs[id]; msg != "" {
			d.Summary = append(d.Summary, summaryLine{ID: id, Label: known[id], Msg: msg})
		}
	}
	var other []string
	for id, msg := range errs {
		if _, ok := known[id]; !ok {
			other = append(other, id+": "+msg)
		}
	}
	slices.Sort(other)
	problem := ""
	if len(other) > 0 {
		problem = "The report was not filed: " + strings.Join(other, "; ") + "."
	}
	title := "On-site maintenance report"
	if rt.Remote {
		title = "Remote inspection report"
	}
	s.render(w, r, status, "report_new", page{Title: title, Errors: errs, Problem: problem, Flash: flash, Data: d})
}

// fileReport files the report of an open task (POST /api/v1/lift-reports)
// and tells what it set off; "add another" only renders one more evidence
// row.
func (s *Server) fileReport(w http.ResponseWriter, r *http.Request) {
	rt, err := s.reportTaskOf(r, strings.TrimSpace(r.PostFormValue("task_id")))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	vals := r.PostForm
	key := vals.Get("key")
	if len(key) != 32 {
		key = newFormKey()
	}
	rows, err := strconv.Atoi(vals.Get("evidence_rows"))
	if err != nil || rows < 1 {
		rows = 1
	}
	rows = min(rows, devices.MaxReportEvidence)
	if vals.Get("add_evidence") != "" {
		s.reportForm(w, r, http.StatusOK, rt, vals, key, min(rows+1, devices.MaxReportEvidence), nil,
			"Another evidence row added below. Nothing is filed until you press “File the report”.")
		return
	}
	rep, rowOf, errs := parseReport(rt, vals, rows)
	if len(errs) > 0 {
		s.reportForm(w, r, http.StatusUnprocessableEntity, rt, vals, key, rows, errs, "")
		return
	}
	ctx := devices.WithIdempotencyKey(r.Context(), devices.IdempotencyKey{Key: "web-report-" + key, Hash: "web POST /reports " + rt.Task.ID})
	err = s.st.FileReport(ctx, actorOf(r), &rep)
	var replay *devices.ReplayError
	if errors.As(err, &replay) {
		redirectDone(w, r, "/reports/"+replay.ID, "This report was filed already (the form was sent twice); nothing new was written.")
		return
	}
	if fe, ok := fieldErrors(err); ok {
		s.reportForm(w, r, http.StatusUnprocessableEntity, rt, vals, key, rows, reportErrorIDs(fe, rowOf), "")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	msg, err := s.reportEffects(r, rt, rep)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	redirectDone(w, r, "/reports", msg)
}

// parseReport reads the form into a report; rowOf maps the report's
// evidence index to the form row (blank rows are left out), and errs holds
// what could not be read, by input id.
func parseReport(rt reportTask, vals url.Values, rows int) (devices.MaintenanceReport, []int, map[string]string) {
	errs := map[string]string{}
	taskID := rt.Task.ID
	rep := devices.MaintenanceReport{Kind: rt.Kind, ElevatorID: rt.Task.ElevatorID, TaskID: &taskID, Category: rt.Task.Category,
		Technician: vals.Get("technician"), VenuePerson: vals.Get("venue_person"), Notes: vals.Get("notes")}
	if rt.Remote {
		rep.Category = devices.CategoryHalfMonthly
	}
	rep.PerformedAt = localTime(vals.Get("performed_at"), rt.Loc, "performed_at", errs)
	for i, it := range rt.Items {
		name := fmt.Sprintf("items[%d]", i)
		res := devices.ItemResult(strings.TrimSpace(vals.Get(name + ".result")))
		if rt.Remote && !it.Remote {
			res = devices.ItemNotCheckableRemotely
		}
		rep.Items = append(rep.Items, devices.ItemCheck{Code: it.Code, Result: res, Note: vals.Get(name + ".note")})
	}
	var rowOf []int
	for j := range rows {
		name, id := fmt.Sprintf("evidence[%d]", j), fmt.Sprintf("evidence-%d", j)
		u, sum := strings.TrimSpace(vals.Get(name+".url")), strings.TrimSpace(vals.Get(name+".sha256"))
		dur, at := strings.TrimSpace(vals.Get(name+".duration_s")), strings.TrimSpace(vals.Get(name+".captured_at"))
		if u == "" && sum == "" && dur == "" && at == "" {
			continue
		}
		ev := devices.Evidence{URL: u, SHA256: sum}
		if dur != "" {
			n, err := strconv.Atoi(dur)
			if err != nil {
				errs[id+"-duration_s"] = "Enter whole seconds, such as 540 (0 for a photo)."
			}
			ev.DurationSeconds = n
		}
		ev.CapturedAt = localTime(at, rt.Loc, id+"-captured_at", errs)
		rowOf = append(rowOf, j)
		rep.Evidence = append(rep.Evidence, ev)
	}
	return rep, rowOf, errs
}

// localTime reads a datetime-local value as a time in loc; empty is the
// zero time (the domain says it is required).
func localTime(v string, loc *time.Location, id string, errs map[string]string) time.Time {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}
	}
	for _, layout := range []string{localInput, "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t
		}
	}
	errs[id] = "Enter a date and time such as 2026-11-24T09:30."
	return time.Time{}
}

// reportErrorIDs maps the domain's field names to the form's input ids;
// an evidence index counts only the rows that were filled in, so it is
// mapped back to its form row, and an item's code (fixed by the form)
// shows at its result.
func reportErrorIDs(fe map[string]string, rowOf []int) map[string]string {
	out := map[string]string{}
	for f, msg := range fe {
		if rest, ok := strings.CutPrefix(f, "evidence["); ok {
			if n, tail, ok := strings.Cut(rest, "]"); ok {
				if k, err := strconv.Atoi(n); err == nil && k >= 0 && k < len(rowOf) {
					f = fmt.Sprintf("evidence[%d]%s", rowOf[k], tail)
				}
			}
		}
		if strings.HasPrefix(f, "items[") && strings.HasSuffix(f, "].code") {
			f = strings.TrimSuffix(f, ".code") + ".result"
		}
		id := inputID(f)
		if _, dup := out[id]; !dup {
			out[id] = msg
		}
	}
	return out
}

// reportEffects tells what filing the report did, as the domain reports
// it: the task completed, an urgent on-site task, a suspended or
// reinstated agreement, items carried over.
func (s *Server) reportEffects(r *http.Request, rt reportTask, rep devices.MaintenanceReport) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s report for lift %s filed", kindLabel(rep.Kind), rt.Lift.RegistrationCode)
	if rep.TaskID != nil {
		fmt.Fprintf(&b, "; the task due %s is completed", rt.Task.DueOn)
	}
	b.WriteString(".")
	if failed := rep.Failed(); len(failed) > 0 {
		fmt.Fprintf(&b, " Not ok: %s.", strings.Join(failed, ", "))
		if rep.UrgentTaskID != nil {
			t, err := s.st.GetLiftTask(r.Context(), actorOf(r), *rep.UrgentTaskID)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(&b, " An urgent on-site task is due by %s.", t.DueOn)
		}
	}
	switch rep.AgreementState {
	case devices.AgreementSuspended:
		b.WriteString(" The extended-cycle agreement is suspended until an on-site visit clears the lift.")
	case devices.AgreementAccepted:
		b.WriteString(" The suspended extended-cycle agreement is reinstated.")
	}
	if n := len(rep.CarriedOver); n > 0 {
		fmt.Fprintf(&b, " %d item(s) not checkable remotely carry over to the next on-site visit.", n)
	}
	b.WriteString(" The venue operator countersigns it next.")
	return b.String(), nil
}
