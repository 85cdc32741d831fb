package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/calibd/calibd/devices"
)

// The result-entry form: an institute records a task's calibration. The
// form is parsed into a devices.ResultInput; the verdict is the domain's
// (CalibrationData.Validate, Evaluate, AsFoundAt, CoverReason), shown live
// through POST /results/preview while readings are typed and issued by
// Registry.RecordResult. Input names are the domain's field names
// (points[0].as_found_c[1], ambient.temp_c, ...), so every error the
// domain reports lands next to its input.

// resultValues is the form as typed, every field as text, so that a form
// sent back shows exactly what was sent.
type resultValues struct {
	Task, Standard, Mode, Rule string
	AmbientT, AmbientRH        string
	PerformedAt, Key           string
	Adjusted                   bool
	Points                     []pointValues
}

type pointValues struct {
	Reference, U string
	AsFound      [devices.ReadingsPerPoint]string
	AsLeft       [devices.ReadingsPerPoint]string
}

func pointField(i int, name string) string { return fmt.Sprintf("points[%d].%s", i, name) }

func readingField(i int, list string, j int) string {
	return fmt.Sprintf("points[%d].%s[%d]", i, list, j)
}

// readResultValues reads the form: point_count rows of points (1 to
// MaxTestPoints, 3 when absent).
func readResultValues(r *http.Request) resultValues {
	v := resultValues{Task: r.PostFormValue("task"), Standard: r.PostFormValue("standard_id"), Mode: r.PostFormValue("mode"),
		Rule: r.PostFormValue("rule"), AmbientT: r.PostFormValue("ambient.temp_c"), AmbientRH: r.PostFormValue("ambient.rh_percent"),
		PerformedAt: r.PostFormValue("performed_at"), Key: r.PostFormValue("key"), Adjusted: r.PostFormValue("adjusted") != ""}
	n, err := strconv.Atoi(r.PostFormValue("point_count"))
	if err != nil {
		n = devices.MinTestPoints
	}
	n = min(max(n, 1), devices.MaxTestPoints)
	v.Points = make([]pointValues, n)
	for i := range v.Points {
		p := &v.Points[i]
		p.Reference, p.U = r.PostFormValue(pointField(i, "reference_c")), r.PostFormValue(pointField(i, "u_c"))
		for j := range devices.ReadingsPerPoint {
			p.AsFound[j] = r.PostFormValue(readingField(i, "as_found_c", j))
			p.AsLeft[j] = r.PostFormValue(readingField(i, "as_left_c", j))
		}
	}
	for _, f := range []*string{&v.Task, &v.Standard, &v.Mode, &v.Rule, &v.AmbientT, &v.AmbientRH, &v.PerformedAt, &v.Key} {
		*f = strings.TrimSpace(*f)
	}
	return v
}

// errRequired is the reason the form gives an empty field; the preview
// counts these rather than listing them.
const errRequired = "is required"

// number parses a decimal (a comma works as the decimal mark); an empty
// or unreadable field is NaN with its reason in errs.
func number(errs map[string]string, field, text string) float64 {
	text = strings.TrimSpace(strings.Replace(text, ",", ".", 1))
	if text == "" {
		errs[field] = errRequired
		return math.NaN()
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		errs[field] = "must be a number such as 37.05"
		return math.NaN()
	}
	return f
}

// input parses the values as the Registry takes them. errs holds what the
// form itself finds (empty or unreadable fields); the domain's checks come
// after.
func (v resultValues) input(loc *time.Location) (devices.ResultInput, map[string]string) {
	errs := map[string]string{}
	in := devices.ResultInput{TaskID: v.Task, StandardID: v.Standard}
	in.Data = devices.CalibrationData{Mode: devices.ReadingMode(v.Mode), Rule: devices.DecisionRule(v.Rule), Adjusted: v.Adjusted,
		Ambient: devices.Ambient{TempC: number(errs, "ambient.temp_c", v.AmbientT), RHPercent: number(errs, "ambient.rh_percent", v.AmbientRH)}}
	for i, p := range v.Points {
		pt := devices.TestPoint{ReferenceC: number(errs, pointField(i, "reference_c"), p.Reference),
			UC: number(errs, pointField(i, "u_c"), p.U)}
		for j := range devices.ReadingsPerPoint {
			pt.AsFoundC = append(pt.AsFoundC, number(errs, readingField(i, "as_found_c", j), p.AsFound[j]))
			if v.Adjusted {
				pt.AsLeftC = append(pt.AsLeftC, number(errs, readingField(i, "as_left_c", j), p.AsLeft[j]))
			}
		}
		in.Data.Points = append(in.Data.Points, pt)
	}
	if v.Standard == "" {
		errs["standard_id"] = "choose the reference standard you calibrated against"
	}
	switch v.PerformedAt {
	case "":
		errs["performed_at"] = errRequired
	default:
		var err error
		for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04"} {
			if in.PerformedAt, err = time.ParseInLocation(layout, v.PerformedAt, loc); err == nil {
				break
			}
		}
		if err != nil {
			errs["performed_at"] = "must be a date and time such as 2026-11-24T10:30"
		}
	}
	return in, errs
}

// merge adds the domain's field errors to the form's, keeping the form's
// reason where both name a field (an empty field is "required", not "not
// a finite number").
func merge(errs map[string]string, err error) (map[string]string, bool) {
	more, ok := fieldErrors(err)
	for f, reason := range more {
		if _, seen := errs[f]; !seen {
			errs[f] = reason
		}
	}
	return errs, ok
}

// ---- The live verdict ------------------------------------------------------

// fieldProblem is an error with the input it concerns, for summaries.
type fieldProblem struct {
	ID, Label, Reason string
}

type pointVerdict struct {
	N           int
	ReferenceC  float64
	Found, Left *devices.PointOutcome
}

// verdictView is the fragment #verdict shows.
type verdictView struct {
	Note     string // instead of a verdict: why there is none
	MPEC     float64
	Rule     string
	Adjusted bool
	Points   []pointVerdict
	// Overall is the certificate's verdict (on the as-left readings when
	// adjusted), AsFound the as-found one; empty while the measurement
	// is incomplete or invalid.
	Overall  devices.Verdict
	AsFound  devices.Verdict
	Empty    int
	Problems []fieldProblem
	// Ready: nothing stops recording.
	Ready bool
}

var ruleLabels = map[devices.DecisionRule]string{
	devices.RuleSimple:    "simple acceptance: pass when |error| ≤ MPE",
	devices.RuleGuardBand: "guard band w = U: pass when |error| ≤ MPE − U, else fail",
	devices.RuleJJF1094:   "JJF 1094-2002: simple acceptance when U ≤ MPE/3, otherwise pass when |error| ≤ MPE − U, fail when |error| ≥ MPE + U, indeterminate between",
}

// measurement reports whether a field is part of the measurement, whose
// errors withhold the verdict (ambient conditions, the standard and the
// time do not change it, though they stop recording).
func measurement(field string) bool {
	return strings.HasPrefix(field, "points") || field == "mode" || field == "rule" || field == "mpe_c" || strings.HasPrefix(field, "range_")
}

// judge validates the input against the thermometer (its MPE and range,
// as RecordResult does) and the chosen standard, and evaluates it with the
// domain's decision rule: per point for every point whose numbers are all
// there, overall once the measurement is valid.
func judge(in devices.ResultInput, formErrs map[string]string, th devices.Thermometer, std *devices.ReferenceStandard) (verdictView, map[string]string) {
	data := in.Data
	data.Points = slices.Clone(in.Data.Points)
	data.MPEC, data.RangeMinC, data.RangeMaxC = th.MPEC, th.RangeMinC, th.RangeMaxC
	errs, _ := merge(formErrs, data.Validate())
	if std != nil && !in.PerformedAt.IsZero() {
		if why := std.CoverReason(in.PerformedAt); why != "" && errs["standard_id"] == "" {
			errs["standard_id"] = why
		}
	}
	out := verdictView{MPEC: data.MPEC, Rule: ruleLabels[data.Rule], Adjusted: data.Adjusted}
	complete := func(vs ...float64) bool {
		return !slices.ContainsFunc(vs, func(f float64) bool { return math.IsNaN(f) })
	}
	// Each complete point alone, through the same Evaluate.
	for i, p := range data.Points {
		pv := pointVerdict{N: i + 1, ReferenceC: p.ReferenceC}
		if complete(append([]float64{p.ReferenceC, p.UC}, p.AsFoundC...)...) {
			one := data
			one.Points = []devices.TestPoint{p}
			one.Adjusted = data.Adjusted && len(p.AsLeftC) == devices.ReadingsPerPoint && complete(p.AsLeftC...)
			found, left, _ := one.Evaluate()
			pv.Found = &found[0]
			if one.Adjusted {
				pv.Left = &left[0]
			}
		}
		out.Points = append(out.Points, pv)
	}
	blocked := false
	for f := range errs {
		blocked = blocked || measurement(f)
	}
	if !blocked {
		_, _, out.Overall = data.Evaluate()
		at := in.PerformedAt
		if at.IsZero() {
			at = time.Now()
		}
		out.AsFound = data.AsFoundAt(at).Verdict
	}
	for _, f := range sortedFields(errs) {
		if errs[f] == errRequired {
			out.Empty++
			continue
		}
		p := fieldProblem{Label: fieldLabel(f), Reason: errs[f]}
		if hasInput(f) {
			p.ID = fieldID(f)
		}
		if p.Label == "" {
			p.Label = f
		}
		out.Problems = append(out.Problems, p)
	}
	out.Ready = len(errs) == 0
	return out, errs
}

var pointFieldPattern = regexp.MustCompile(`^points\[(\d+)\]\.(\w+)(?:\[(\d+)\])?$`)

// fieldID is the id of the input named field: points[0].as_found_c[1]
// is points-0-as_found_c-1.
func fieldID(field string) string {
	return strings.NewReplacer("].", "-", "[", "-", "]", "", ".", "-").Replace(field)
}

// hasInput reports whether the form has an input named field (a
// reading, a point's reference or U, or a top-level field), which an
// error can link to.
func hasInput(field string) bool {
	if m := pointFieldPattern.FindStringSubmatch(field); m != nil {
		return m[3] != "" || m[2] == "reference_c" || m[2] == "u_c"
	}
	return slices.Contains([]string{"standard_id", "mode", "rule", "ambient.temp_c", "ambient.rh_percent", "performed_at"}, field)
}

// fieldLabel names a field for people.
func fieldLabel(field string) string {
	if m := pointFieldPattern.FindStringSubmatch(field); m != nil {
		n, _ := strconv.Atoi(m[1])
		at := fmt.Sprintf("Point %d", n+1)
		j, _ := strconv.Atoi(m[3])
		switch m[2] {
		case "reference_c":
			return at + " reference"
		case "u_c":
			return at + " U"
		case "k":
			return at + " k"
		case "as_found_c":
			if m[3] == "" {
				return at + " as-found readings"
			}
			return fmt.Sprintf("%s as-found reading %d", at, j+1)
		case "as_left_c":
			if m[3] == "" {
				return at + " as-left readings"
			}
			return fmt.Sprintf("%s as-left reading %d", at, j+1)
		}
		return at
	}
	return map[string]string{"standard_id": "Reference standard", "mode": "Mode", "rule": "Decision rule",
		"ambient.temp_c": "Ambient temperature", "ambient.rh_percent": "Relative humidity", "performed_at": "Performed at",
		"points": "Test points", "task_id": "Task", "method_doc": "Method", "mpe_c": "MPE"}[field]
}

// sortedFields orders fields as the form shows them.
func sortedFields(errs map[string]string) []string {
	rank := func(f string) string {
		if m := pointFieldPattern.FindStringSubmatch(f); m != nil {
			n, _ := strconv.Atoi(m[1])
			return fmt.Sprintf("5-%03d-%s-%s", n, m[2], m[3])
		}
		order := map[string]string{"task_id": "0", "standard_id": "1", "mode": "2", "rule": "3", "ambient.temp_c": "4a",
			"ambient.rh_percent": "4b", "performed_at": "4c", "points": "5"}
		if o, ok := order[f]; ok {
			return o
		}
		return "9-" + f
	}
	keys := make([]string, 0, len(errs))
	for f := range errs {
		keys = append(keys, f)
	}
	slices.SortFunc(keys, func(a, b string) int { return strings.Compare(rank(a), rank(b)) })
	return keys
}

// ---- Loading a task --------------------------------------------------------

// taskContext is what the form of one task needs.
type taskContext struct {
	Task        devices.Task
	Thermometer devices.Thermometer
	Venue       devices.Venue
	Loc         *time.Location
}

// open reports whether the task takes a result, as RecordResult judges.
func (tc taskContext) open() bool {
	return tc.Task.State == devices.TaskScheduled || tc.Task.State == devices.TaskInProgress
}

// loadTask reads a task the actor records results for: ErrNotFound when
// it cannot see it, ErrForbidden when it is not the task's institute.
func (s *Server) loadTask(ctx context.Context, a devices.Actor, id string) (taskContext, error) {
	if id == "" {
		return taskContext{}, fmt.Errorf("no task: %w", devices.ErrNotFound)
	}
	t, err := s.st.GetTask(ctx, a, id)
	if err != nil {
		return taskContext{}, err
	}
	if a.OrgKind != devices.KindMetrologyInstitute || t.InstituteID == nil || *t.InstituteID != a.OrgID {
		return taskContext{}, devices.Forbidden("only the institute assigned to the task records its result")
	}
	th, err := s.st.GetThermometer(ctx, a, t.ThermometerID)
	if err != nil {
		return taskContext{}, err
	}
	v, err := s.st.GetVenue(ctx, a, t.VenueID)
	if err != nil {
		return taskContext{}, err
	}
	loc, err := time.LoadLocation(v.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	return taskContext{Task: t, Thermometer: th, Venue: v, Loc: loc}, nil
}

// ---- The form --------------------------------------------------------------

// input is one labelled field with its error.
type input struct {
	Name, ID, Label, Value, Err, Hint string
	Type                              string // "" is text
}

func newInput(errs map[string]string, name, label, value, hint string) input {
	return input{Name: name, ID: fieldID(name), Label: label, Value: value, Err: errs[name], Hint: hint}
}

type pointInput struct {
	N         int
	Reference input
	U         input
	AsFound   []input
	AsLeft    []input
	Err       string // the point's readings as a whole
}

type resultFormData struct {
	taskContext
	VisitID    string
	Standards  []devices.ReferenceStandard
	Modes      []devices.ReadingMode
	Rules      []devices.DecisionRule
	RuleLabels map[devices.DecisionRule]string
	V          resultValues
	Ambient    []input
	Performed  input
	Errs       map[string]string
	Points     []pointInput
	PointCount int
	CanAdd     bool
	CanRemove  bool
	Verdict    verdictView
	Summary    []fieldProblem
	Closed     bool // the task takes no result
	// The reference standard form, for an institute without one (or
	// adding another).
	Std       []input
	StdOpen   bool
	StdCanAdd bool
}

// typicalPoints are the blackbody points of JJG 1164 practice (DOMAIN.md
// §1.3), offered as references where the thermometer's range has them.
var typicalPoints = []float64{35.0, 37.0, 41.5}

// newResultValues is an empty form for a task: three points, the
// calibration mode where the device has it, simple acceptance, now.
func newResultValues(tc taskContext, standards []devices.ReferenceStandard) resultValues {
	v := resultValues{Task: tc.Task.ID, Rule: string(devices.RuleSimple), Key: newKey(),
		PerformedAt: time.Now().In(tc.Loc).Format("2006-01-02T15:04:05")}
	modes := modesOf(tc.Thermometer)
	v.Mode = string(modes[0])
	if slices.Contains(modes, devices.ModeCalibration) {
		v.Mode = string(devices.ModeCalibration)
	}
	if len(standards) == 1 {
		v.Standard = standards[0].ID
	}
	v.Points = make([]pointValues, devices.MinTestPoints)
	for i, ref := range typicalPoints {
		if ref >= tc.Thermometer.RangeMinC && ref <= tc.Thermometer.RangeMaxC {
			v.Points[i].Reference = strconv.FormatFloat(ref, 'f', 1, 64)
		}
	}
	return v
}

func modesOf(th devices.Thermometer) []devices.ReadingMode {
	if len(th.Modes) == 0 {
		return []devices.ReadingMode{devices.ModeCalibration, devices.ModeBody}
	}
	return th.Modes
}

func newKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// usableStandards are the institute's standards in service, soonest due
// first.
func (s *Server) usableStandards(ctx context.Context, a devices.Actor) ([]devices.ReferenceStandard, error) {
	var out []devices.ReferenceStandard
	cursor := ""
	for range 10 {
		list, next, err := s.st.ListStandards(ctx, a, devices.Page{Limit: devices.MaxLimit, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		for _, st := range list {
			if st.Status == devices.StandardInService {
				out = append(out, st)
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	slices.SortStableFunc(out, func(x, y devices.ReferenceStandard) int { return x.DueAt.Compare(y.DueAt) })
	return out, nil
}

// formState is what a result page is rendered from besides the task.
type formState struct {
	values  *resultValues
	errs    map[string]string
	verdict *verdictView
	std     map[string]string
	stdErrs map[string]string
	problem string
}

func (s *Server) resultForm(w http.ResponseWriter, r *http.Request) {
	tc, err := s.loadTask(r.Context(), actorOf(r), r.URL.Query().Get("task"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.resultPage(w, r, http.StatusOK, tc, formState{})
}

func (s *Server) resultPage(w http.ResponseWriter, r *http.Request, status int, tc taskContext, fs formState) {
	a, ctx := actorOf(r), r.Context()
	standards, err := s.usableStandards(ctx, a)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := resultFormData{taskContext: tc, Standards: standards, Modes: modesOf(tc.Thermometer), Rules: devices.DecisionRules,
		RuleLabels: ruleLabels, Errs: fs.errs, StdOpen: fs.std != nil || len(standards) == 0, StdCanAdd: a.IsAdmin()}
	if tc.Task.VisitID != nil {
		d.VisitID = *tc.Task.VisitID
	}
	if d.Errs == nil {
		d.Errs = map[string]string{}
	}
	if fs.values != nil {
		d.V = *fs.values
	} else {
		d.V = newResultValues(tc, standards)
	}
	if !tc.open() {
		d.Closed = true
		if fs.problem == "" {
			fs.problem = "This task is " + label(string(tc.Task.State)) + "; it takes no result. "
			if tc.Task.State == devices.TaskOpen {
				fs.problem += "It is not on a confirmed visit yet."
			} else {
				fs.problem += "Its certificate is on the thermometer's page."
			}
			if status == http.StatusOK {
				status = http.StatusConflict
			}
		}
	}
	if fs.verdict != nil {
		d.Verdict = *fs.verdict
	} else {
		d.Verdict = verdictView{Note: "Type the readings: the error at each point and the verdict appear here as you go.",
			MPEC: tc.Thermometer.MPEC, Rule: ruleLabels[devices.DecisionRule(d.V.Rule)]}
	}
	used := map[string]bool{}
	in := func(name, label, value, hint string) input {
		used[name] = true
		return newInput(d.Errs, name, label, value, hint)
	}
	for _, n := range []string{"standard_id", "mode", "rule", "adjusted"} {
		used[n] = true
	}
	d.Ambient = []input{
		in("ambient.temp_c", "Ambient temperature (°C)", d.V.AmbientT, fmt.Sprintf("Room temperature during the calibration, %g to %g °C; e.g. 23.",
			devices.AmbientMinC, devices.AmbientMaxC)),
		in("ambient.rh_percent", "Relative humidity (%RH)", d.V.AmbientRH, "e.g. 50"),
	}
	d.Performed = in("performed_at", "Performed at ("+tc.Loc.String()+" time)", d.V.PerformedAt,
		"When the readings were taken, in the venue's time zone.")
	d.PointCount = len(d.V.Points)
	d.CanAdd, d.CanRemove = d.PointCount < devices.MaxTestPoints, d.PointCount > devices.MinTestPoints
	for i, p := range d.V.Points {
		pi := pointInput{N: i + 1,
			Reference: in(pointField(i, "reference_c"), "Reference (°C)", p.Reference, ""),
			U:         in(pointField(i, "u_c"), "U, k = 2 (°C)", p.U, ""),
		}
		for j := range devices.ReadingsPerPoint {
			pi.AsFound = append(pi.AsFound, in(readingField(i, "as_found_c", j), fmt.Sprintf("As found %d (°C)", j+1), p.AsFound[j], ""))
			pi.AsLeft = append(pi.AsLeft, in(readingField(i, "as_left_c", j), fmt.Sprintf("As left %d (°C)", j+1), p.AsLeft[j], ""))
		}
		for _, list := range []string{"as_found_c", "as_left_c", "k"} {
			if e := d.Errs[pointField(i, list)]; e != "" {
				used[pointField(i, list)] = true
				pi.Err = strings.TrimSpace(pi.Err + " " + fieldLabel(pointField(i, list)) + " " + e + ".")
			}
		}
		d.Points = append(d.Points, pi)
	}
	for _, f := range sortedFields(d.Errs) {
		p := fieldProblem{Label: fieldLabel(f), Reason: d.Errs[f]}
		if used[f] {
			p.ID = fieldID(f)
		}
		if p.Label == "" {
			p.Label = f
		}
		d.Summary = append(d.Summary, p)
	}
	if fs.std == nil {
		fs.std = map[string]string{}
	}
	if fs.stdErrs == nil {
		fs.stdErrs = map[string]string{}
	}
	today := time.Now().UTC()
	stdIn := func(name, label, def, hint string) input {
		v, ok := fs.std[name]
		if !ok {
			v = def
		}
		return newInput(fs.stdErrs, "standard."+name, label, v, hint)
	}
	d.Std = []input{
		stdIn("name", "Name", "", "e.g. Cavity blackbody source"),
		stdIn("serial", "Serial number", "", ""),
		stdIn("certificate_no", "Its calibration certificate number", "", "The certificate that traces it to NIM."),
		stdIn("calibrated_at", "Calibrated on", "", "The date of that certificate's calibration."),
		stdIn("due_at", "Due again on", today.AddDate(1, 0, 0).Format(devices.DateLayout), ""),
	}
	d.Std[3].Type, d.Std[4].Type = "date", "date"
	s.render(w, r, status, "result", page{Title: "Calibration of " + tc.Thermometer.Serial, Problem: fs.problem, Data: d})
}

// previewResult answers the #verdict fragment for the form as typed:
// errors per point and the verdict under the chosen rule, or what is still
// missing. Bad input is part of the answer, never a failure.
func (s *Server) previewResult(w http.ResponseWriter, r *http.Request) {
	a, ctx := actorOf(r), r.Context()
	v := readResultValues(r)
	tc, err := s.loadTask(ctx, a, v.Task)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !tc.open() {
		s.fragment(w, "result", "verdict", verdictView{Note: "This task is " + label(string(tc.Task.State)) + "; it takes no result."})
		return
	}
	in, errs := v.input(tc.Loc)
	view, _ := judge(in, errs, tc.Thermometer, s.standardOf(ctx, a, in.StandardID))
	s.fragment(w, "result", "verdict", view)
}

// standardOf reads the chosen standard for the coverage check, nil when
// there is none to check (RecordResult names a foreign one).
func (s *Server) standardOf(ctx context.Context, a devices.Actor, id string) *devices.ReferenceStandard {
	if id == "" {
		return nil
	}
	st, err := s.st.GetStandard(ctx, a, id)
	if err != nil {
		return nil
	}
	return &st
}

// recordResult issues the certificate through the Registry and sends the
// browser to the thermometer's page, which lists it. Errors come back
// next to their fields. The form's key makes a second submission of the
// same form answer with the first certificate instead of a conflict.
func (s *Server) recordResult(w http.ResponseWriter, r *http.Request) {
	a, ctx := actorOf(r), r.Context()
	v := readResultValues(r)
	tc, err := s.loadTask(ctx, a, v.Task)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	switch r.PostFormValue("op") {
	case "add_point":
		if len(v.Points) < devices.MaxTestPoints {
			v.Points = append(v.Points, pointValues{})
		}
		s.resultPage(w, r, http.StatusOK, tc, formState{values: &v})
		return
	case "remove_point":
		if len(v.Points) > devices.MinTestPoints {
			v.Points = v.Points[:len(v.Points)-1]
		}
		s.resultPage(w, r, http.StatusOK, tc, formState{values: &v})
		return
	}
	in, errs := v.input(tc.Loc)
	if devices.ValidIdempotencyKey(v.Key) != "" || len(v.Key) > 64 {
		v.Key = newKey()
	}
	res, err := s.st.RecordResult(devices.WithIdempotencyKey(ctx, devices.IdempotencyKey{Key: "web-result-" + v.Key,
		Hash: formHash(r.PostForm)}), a, in)
	var rep *devices.ReplayError
	if errors.As(err, &rep) {
		res, err = s.st.GetResult(ctx, a, rep.ID)
	}
	if errors.Is(err, devices.ErrIdempotencyKeyReused) {
		err = devices.Conflict("form_reused", "this form already issued a certificate and was changed since; "+
			"the thermometer's page lists the certificate, and a correction is made as a revision")
	}
	if err != nil {
		errs, isValidation := merge(errs, err)
		if isValidation {
			view, errs := judge(in, errs, tc.Thermometer, s.standardOf(ctx, a, in.StandardID))
			s.resultPage(w, r, http.StatusUnprocessableEntity, tc, formState{values: &v, errs: errs, verdict: &view,
				problem: "The certificate was not issued: correct the fields marked below."})
			return
		}
		if status, msg, ok := problem(err); ok {
			view, errs := judge(in, errs, tc.Thermometer, s.standardOf(ctx, a, in.StandardID))
			s.resultPage(w, r, status, tc, formState{values: &v, errs: errs, verdict: &view, problem: msg})
			return
		}
		s.fail(w, r, err)
		return
	}
	redirectDone(w, r, "/devices/"+res.ThermometerID, fmt.Sprintf("Certificate %s issued for %s: %s. Download it from the calibration history below.",
		res.CertificateNo, tc.Thermometer.Serial, label(string(res.Verdict))))
}

// formHash fingerprints a submission for its idempotency key: the same
// form sent twice has the same hash; one edited after an error does not
// matter (nothing was recorded under the key).
func formHash(form url.Values) string {
	f := url.Values{}
	for k, vs := range form {
		if k != "csrf" && k != "op" {
			f[k] = vs
		}
	}
	sum := sha256.Sum256([]byte("POST /results\n" + f.Encode()))
	return hex.EncodeToString(sum[:])
}

// createStandard registers a reference standard of the institute from the
// result form, and goes back to it.
func (s *Server) createStandard(w http.ResponseWriter, r *http.Request) {
	a, ctx := actorOf(r), r.Context()
	taskID := strings.TrimSpace(r.PostFormValue("task"))
	tc, err := s.loadTask(ctx, a, taskID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := map[string]string{}
	for _, n := range []string{"name", "serial", "certificate_no", "calibrated_at", "due_at"} {
		f[n] = strings.TrimSpace(r.PostFormValue("standard." + n))
	}
	errs := map[string]string{}
	date := func(name string) time.Time {
		if f[name] == "" {
			return time.Time{}
		}
		t, err := time.Parse(devices.DateLayout, f[name])
		if err != nil {
			errs["standard."+name] = "must be a date such as 2026-01-15"
		}
		return t
	}
	std := devices.ReferenceStandard{Name: f["name"], Serial: f["serial"], CertificateNo: f["certificate_no"],
		CalibratedAt: date("calibrated_at"), DueAt: date("due_at")}
	err = s.st.CreateStandard(ctx, a, &std)
	if err == nil {
		redirectDone(w, r, "/results/new?task="+url.QueryEscape(tc.Task.ID), "Reference standard "+std.Serial+" registered; choose it below.")
		return
	}
	if more, ok := fieldErrors(err); ok {
		for k, reason := range more {
			if _, seen := errs["standard."+k]; !seen {
				errs["standard."+k] = reason
			}
		}
		s.resultPage(w, r, http.StatusUnprocessableEntity, tc, formState{std: f, stdErrs: errs})
		return
	}
	var ce *devices.ConflictError
	if errors.As(err, &ce) && ce.Code == "duplicate_serial" {
		s.resultPage(w, r, http.StatusConflict, tc, formState{std: f, stdErrs: map[string]string{"standard.serial": ce.Message}})
		return
	}
	if status, msg, ok := problem(err); ok {
		s.resultPage(w, r, status, tc, formState{std: f, problem: msg})
		return
	}
	s.fail(w, r, err)
}
