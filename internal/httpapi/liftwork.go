package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/calibd/calibd/devices"
)

type liftTaskJSON struct {
	ID             string     `json:"id"`
	Kind           string     `json:"kind"`
	ContractID     string     `json:"contract_id"`
	ElevatorID     string     `json:"elevator_id"`
	VenueID        string     `json:"venue_id"`
	OperatorOrgID  string     `json:"operator_org_id"`
	FirmID         string     `json:"firm_id"`
	AgreementID    *string    `json:"agreement_id"`
	Category       string     `json:"category"`
	DueOn          string     `json:"due_on"`
	State          string     `json:"state"`
	Why            string     `json:"why"`
	CarriedItems   []string   `json:"carried_items"`
	SourceReportID *string    `json:"source_report_id"`
	OverdueSince   *time.Time `json:"overdue_since"`
	Version        int        `json:"version"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

func toLiftTaskJSON(t devices.LiftTask) liftTaskJSON {
	return liftTaskJSON{ID: t.ID, Kind: string(t.Kind), ContractID: t.ContractID, ElevatorID: t.ElevatorID, VenueID: t.VenueID,
		OperatorOrgID: t.OperatorOrgID, FirmID: t.FirmOrgID, AgreementID: t.AgreementID, Category: string(t.Category),
		DueOn: t.DueOn, State: string(t.State), Why: t.Why, CarriedItems: nonNil(t.CarriedItems), SourceReportID: t.SourceReportID,
		OverdueSince: t.OverdueSince, Version: t.Version, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

type itemCheckJSON struct {
	Code   string `json:"code"`
	Result string `json:"result"`
	Note   string `json:"note"`
}

type evidenceJSON struct {
	URL        string    `json:"url"`
	SHA256     string    `json:"sha256"`
	DurationS  int       `json:"duration_s"`
	CapturedAt time.Time `json:"captured_at"`
}

type liftReportJSON struct {
	ID              string          `json:"id"`
	Kind            string          `json:"kind"`
	TaskID          *string         `json:"task_id"`
	ContractID      string          `json:"contract_id"`
	ElevatorID      string          `json:"elevator_id"`
	VenueID         string          `json:"venue_id"`
	OperatorOrgID   string          `json:"operator_org_id"`
	FirmID          string          `json:"firm_id"`
	AgreementID     *string         `json:"agreement_id"`
	AgreementState  *string         `json:"agreement_state"`
	Category        string          `json:"category"`
	PerformedAt     time.Time       `json:"performed_at"`
	Technician      string          `json:"technician"`
	VenuePerson     string          `json:"venue_person"`
	Notes           string          `json:"notes"`
	Items           []itemCheckJSON `json:"items"`
	Evidence        []evidenceJSON  `json:"evidence"`
	UrgentTaskID    *string         `json:"urgent_task_id"`
	CarriedOver     []string        `json:"carried_over"`
	SubmittedAt     time.Time       `json:"submitted_at"`
	CountersignedAt *time.Time      `json:"countersigned_at"`
	CountersignedBy *string         `json:"countersigned_by"`
	CountersignNote string          `json:"countersign_note"`
}

func toLiftReportJSON(r devices.MaintenanceReport) liftReportJSON {
	out := liftReportJSON{ID: r.ID, Kind: string(r.Kind), TaskID: r.TaskID, ContractID: r.ContractID, ElevatorID: r.ElevatorID,
		VenueID: r.VenueID, OperatorOrgID: r.OperatorOrgID, FirmID: r.FirmOrgID, AgreementID: r.AgreementID,
		AgreementState: optional(string(r.AgreementState)), Category: string(r.Category), PerformedAt: r.PerformedAt,
		Technician: r.Technician, VenuePerson: r.VenuePerson, Notes: r.Notes, Items: []itemCheckJSON{}, Evidence: []evidenceJSON{},
		UrgentTaskID: r.UrgentTaskID, CarriedOver: nonNil(r.CarriedOver), SubmittedAt: r.SubmittedAt,
		CountersignedAt: r.CountersignedAt, CountersignedBy: optional(r.CountersignedBy), CountersignNote: r.CountersignNote}
	for _, it := range r.Items {
		out.Items = append(out.Items, itemCheckJSON{Code: it.Code, Result: string(it.Result), Note: it.Note})
	}
	for _, e := range r.Evidence {
		out.Evidence = append(out.Evidence, evidenceJSON{URL: e.URL, SHA256: e.SHA256, DurationS: e.DurationSeconds, CapturedAt: e.CapturedAt})
	}
	return out
}

// fromReportBody reads a report's body: kind, elevator_id, task_id?,
// category (on site), performed_at, technician, venue_person, notes,
// items [{code, result, note}], evidence [{url, sha256, duration_s,
// captured_at}].
func fromReportBody(o *object) (devices.MaintenanceReport, []*object) {
	r := devices.MaintenanceReport{Kind: devices.ReportKind(deref(o.str("kind"))), ElevatorID: deref(o.str("elevator_id")),
		TaskID: deref(o.nullableStr("task_id")), Category: devices.MaintenanceCategory(deref(o.str("category"))),
		PerformedAt: deref(deref(o.nullableTime("performed_at"))), Technician: deref(o.str("technician")),
		VenuePerson: deref(o.str("venue_person")), Notes: deref(o.str("notes"))}
	var children []*object
	for _, io := range o.objects("items") {
		r.Items = append(r.Items, devices.ItemCheck{Code: deref(io.str("code")), Result: devices.ItemResult(deref(io.str("result"))),
			Note: deref(io.str("note"))})
		children = append(children, io)
	}
	for _, eo := range o.objects("evidence") {
		r.Evidence = append(r.Evidence, devices.Evidence{URL: deref(eo.str("url")), SHA256: deref(eo.str("sha256")),
			DurationSeconds: deref(eo.int("duration_s")), CapturedAt: deref(deref(eo.nullableTime("captured_at")))})
		children = append(children, eo)
	}
	return r, children
}

func (s *Server) fileReport(c *gin.Context) {
	o, err := s.readObject(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	r, children := fromReportBody(o)
	if err := o.done(children...); err != nil {
		s.fail(c, err)
		return
	}
	err = s.reg.FileReport(c.Request.Context(), actorOf(c), &r)
	if rep, ok := replayOf(c, err); ok {
		r, err = s.reg.GetReport(c.Request.Context(), actorOf(c), rep.ID)
	}
	if err == nil {
		c.Header("Location", "/api/v1/lift-reports/"+r.ID)
	}
	one(s, c, http.StatusCreated, r, err, toLiftReportJSON, 1)
}

func (s *Server) listReports(c *gin.Context) {
	q := newQuery(c, "elevator_id", "kind")
	f := devices.ReportFilter{ElevatorID: q.id("elevator_id"), Kind: devices.ReportKind(q.enum("kind",
		func(v string) bool { return v == string(devices.ReportRemote) || v == string(devices.ReportOnSite) }, "remote, onsite"))}
	p := q.page()
	if err := q.done(); err != nil {
		s.fail(c, err)
		return
	}
	items, next, err := s.reg.ListReports(c.Request.Context(), actorOf(c), f, p)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, list(items, next, toLiftReportJSON))
}

func (s *Server) getReport(c *gin.Context) {
	r, err := s.reg.GetReport(c.Request.Context(), actorOf(c), c.Param("id"))
	one(s, c, http.StatusOK, r, err, toLiftReportJSON, reportVersion(r))
}

// reportVersion: a report changes once, when it is countersigned.
func reportVersion(r devices.MaintenanceReport) int {
	if r.CountersignedAt != nil {
		return 2
	}
	return 1
}

// countersignReport: {"note"?}.
func (s *Server) countersignReport(c *gin.Context) {
	_, f, err := s.actionBody(c, "note")
	if err != nil {
		s.fail(c, err)
		return
	}
	r, err := s.reg.CountersignReport(c.Request.Context(), actorOf(c), c.Param("id"), f["note"])
	one(s, c, http.StatusOK, r, err, toLiftReportJSON, reportVersion(r))
}

func (s *Server) listLiftTasks(c *gin.Context) {
	q := newQuery(c, "elevator_id", "kind", "state")
	f := devices.LiftTaskFilter{ElevatorID: q.id("elevator_id"),
		Kind: devices.LiftTaskKind(q.enum("kind", func(v string) bool { return devices.LiftTaskKind(v).Valid() },
			joinStrings(devices.LiftTaskKinds))),
		State: devices.LiftTaskState(q.enum("state", func(v string) bool { return devices.LiftTaskState(v).Valid() },
			joinStrings(devices.LiftTaskStates)))}
	p := q.page()
	if err := q.done(); err != nil {
		s.fail(c, err)
		return
	}
	items, next, err := s.reg.ListLiftTasks(c.Request.Context(), actorOf(c), f, p)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, list(items, next, toLiftTaskJSON))
}

func (s *Server) getLiftTask(c *gin.Context) {
	t, err := s.reg.GetLiftTask(c.Request.Context(), actorOf(c), c.Param("id"))
	one(s, c, http.StatusOK, t, err, toLiftTaskJSON, t.Version)
}
