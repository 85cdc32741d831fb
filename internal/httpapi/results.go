package httpapi

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/certificate"
)

type standardJSON struct {
	ID            string    `json:"id"`
	InstituteID   string    `json:"institute_id"`
	Name          string    `json:"name"`
	Serial        string    `json:"serial"`
	CertificateNo string    `json:"certificate_no"`
	CalibratedAt  time.Time `json:"calibrated_at"`
	DueAt         time.Time `json:"due_at"`
	Status        string    `json:"status"`
	Version       int       `json:"version"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

func toStandardJSON(s devices.ReferenceStandard) standardJSON {
	return standardJSON{ID: s.ID, InstituteID: s.InstituteID, Name: s.Name, Serial: s.Serial, CertificateNo: s.CertificateNo,
		CalibratedAt: s.CalibratedAt, DueAt: s.DueAt, Status: string(s.Status), Version: s.Version,
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
}

func (s *Server) createStandard(c *gin.Context) {
	o, err := s.readObject(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	std := devices.ReferenceStandard{Name: deref(o.str("name")), Serial: deref(o.str("serial")),
		CertificateNo: deref(o.str("certificate_no")), CalibratedAt: deref(deref(o.nullableTime("calibrated_at"))),
		DueAt: deref(deref(o.nullableTime("due_at")))}
	if err := o.done(); err != nil {
		s.fail(c, err)
		return
	}
	err = s.reg.CreateStandard(c.Request.Context(), actorOf(c), &std)
	if rep, ok := replayOf(c, err); ok {
		std, err = s.reg.GetStandard(c.Request.Context(), actorOf(c), rep.ID)
	}
	if err == nil {
		c.Header("Location", "/api/v1/standards/"+std.ID)
	}
	one(s, c, http.StatusCreated, std, err, toStandardJSON, std.Version)
}

func (s *Server) listStandards(c *gin.Context) { listPage(s, c, s.reg.ListStandards, toStandardJSON) }

func (s *Server) getStandard(c *gin.Context) {
	std, err := s.reg.GetStandard(c.Request.Context(), actorOf(c), c.Param("id"))
	one(s, c, http.StatusOK, std, err, toStandardJSON, std.Version)
}

type traceJSON struct {
	Standard     standardJSON `json:"standard"`
	Flagged      []resultJSON `json:"flagged"`
	RecheckTasks int          `json:"recheck_tasks"`
}

// flagStandard: the institute found one of its standards out of
// tolerance; every result since its last calibration is flagged and the
// devices get recheck tasks.
func (s *Server) flagStandard(c *gin.Context) {
	_, f, err := s.actionBody(c, "reason")
	if err != nil {
		s.fail(c, err)
		return
	}
	rep, err := s.reg.FlagStandardOutOfTolerance(c.Request.Context(), actorOf(c), c.Param("id"), f["reason"])
	if err != nil {
		s.fail(c, err)
		return
	}
	out := traceJSON{Standard: toStandardJSON(rep.Standard), Flagged: make([]resultJSON, len(rep.Flagged)), RecheckTasks: rep.RecheckTasks}
	for i, r := range rep.Flagged {
		out.Flagged[i] = toResultJSON(r)
	}
	c.JSON(http.StatusOK, out)
}

type pointJSON struct {
	ReferenceC float64   `json:"reference_c"`
	AsFoundC   []float64 `json:"as_found_c"`
	AsLeftC    []float64 `json:"as_left_c"`
	UC         float64   `json:"u_c"`
	K          float64   `json:"k"`
}

type outcomeJSON struct {
	ReferenceC float64 `json:"reference_c"`
	ErrorC     float64 `json:"error_c"`
	Verdict    string  `json:"verdict"`
}

type flagJSON struct {
	StandardID string    `json:"standard_id"`
	Reason     string    `json:"reason"`
	FlaggedAt  time.Time `json:"flagged_at"`
}

type resultJSON struct {
	ID                    string        `json:"id"`
	TaskID                *string       `json:"task_id"`
	ThermometerID         string        `json:"thermometer_id"`
	VenueID               string        `json:"venue_id"`
	OperatorOrgID         string        `json:"operator_org_id"`
	InstituteID           string        `json:"institute_id"`
	StandardID            string        `json:"standard_id"`
	StandardCertificateNo string        `json:"standard_certificate_no"`
	StandardDueAt         time.Time     `json:"standard_due_at"`
	Revision              int           `json:"revision"`
	ReplacesID            *string       `json:"replaces_id"`
	ReplacedByID          *string       `json:"replaced_by_id"`
	CertificateNo         string        `json:"certificate_no"`
	Mode                  string        `json:"mode"`
	Rule                  string        `json:"rule"`
	MPEC                  float64       `json:"mpe_c"`
	Points                []pointJSON   `json:"points"`
	Adjusted              bool          `json:"adjusted"`
	AmbientTempC          float64       `json:"ambient_temp_c"`
	AmbientRHPercent      float64       `json:"ambient_rh_percent"`
	AsFound               []outcomeJSON `json:"as_found"`
	AsLeft                []outcomeJSON `json:"as_left"`
	AsFoundVerdict        string        `json:"as_found_verdict"`
	Verdict               string        `json:"verdict"`
	PerformedAt           time.Time     `json:"performed_at"`
	IssuedAt              time.Time     `json:"issued_at"`
	MethodDoc             string        `json:"method_doc"`
	Applied               bool          `json:"applied"`
	DeviceStatus          string        `json:"device_status"`
	IntervalDays          int           `json:"interval_days"`
	IntervalReason        string        `json:"interval_reason"`
	NextDueAt             time.Time     `json:"next_due_at"`
	CorrectionReason      string        `json:"correction_reason"`
	Flags                 []flagJSON    `json:"flags"`
}

func outcomes(os []devices.PointOutcome) []outcomeJSON {
	out := make([]outcomeJSON, len(os))
	for i, o := range os {
		out[i] = outcomeJSON{ReferenceC: o.ReferenceC, ErrorC: o.ErrorC, Verdict: string(o.Verdict)}
	}
	return out
}

func toResultJSON(r devices.CalibrationResult) resultJSON {
	out := resultJSON{ID: r.ID, TaskID: r.TaskID, ThermometerID: r.ThermometerID, VenueID: r.VenueID, OperatorOrgID: r.OperatorOrgID,
		InstituteID: r.InstituteID, StandardID: r.StandardID, StandardCertificateNo: r.StandardCertificateNo,
		StandardDueAt: r.StandardDueAt, Revision: r.Revision, ReplacesID: r.ReplacesID, ReplacedByID: r.ReplacedByID,
		CertificateNo: r.CertificateNo, Mode: string(r.Data.Mode), Rule: string(r.Data.Rule), MPEC: r.Data.MPEC,
		Points: make([]pointJSON, len(r.Data.Points)), Adjusted: r.Data.Adjusted, AmbientTempC: r.Data.Ambient.TempC,
		AmbientRHPercent: r.Data.Ambient.RHPercent, AsFound: outcomes(r.AsFound), AsLeft: outcomes(r.AsLeft),
		AsFoundVerdict: string(r.AsFoundVerdict), Verdict: string(r.Verdict), PerformedAt: r.PerformedAt, IssuedAt: r.IssuedAt,
		MethodDoc: r.MethodDoc, Applied: r.Applied, DeviceStatus: string(r.After.Status), IntervalDays: r.After.IntervalDays,
		IntervalReason: r.After.IntervalReason, NextDueAt: r.After.NextDueAt, CorrectionReason: r.CorrectionReason,
		Flags: make([]flagJSON, len(r.Flags))}
	for i, p := range r.Data.Points {
		out.Points[i] = pointJSON{ReferenceC: p.ReferenceC, AsFoundC: p.AsFoundC, AsLeftC: p.AsLeftC, UC: p.UC, K: p.K}
		if out.Points[i].AsLeftC == nil {
			out.Points[i].AsLeftC = []float64{}
		}
	}
	for i, f := range r.Flags {
		out.Flags[i] = flagJSON{StandardID: f.StandardID, Reason: f.Reason, FlaggedAt: f.FlaggedAt}
	}
	return out
}

// decodeResult reads a result body: task_id (for a record), standard_id,
// performed_at, method_doc and the measurement data. It returns the
// nested objects for done.
func decodeResult(o *object, withTask bool) (devices.ResultInput, []*object) {
	in := devices.ResultInput{StandardID: deref(o.str("standard_id")), MethodDoc: deref(o.str("method_doc")),
		PerformedAt: deref(deref(o.nullableTime("performed_at")))}
	if withTask {
		in.TaskID = deref(o.str("task_id"))
	}
	in.Data = devices.CalibrationData{
		Mode:     devices.ReadingMode(deref(o.str("mode"))),
		Rule:     devices.DecisionRule(deref(o.str("rule"))),
		Adjusted: deref(o.boolean("adjusted")),
	}
	var children []*object
	if amb := o.sub("ambient"); amb != nil {
		in.Data.Ambient = devices.Ambient{TempC: deref(amb.float("temp_c")), RHPercent: deref(amb.float("rh_percent"))}
		children = append(children, amb)
	}
	for _, po := range o.objects("points") {
		p := devices.TestPoint{ReferenceC: deref(po.float("reference_c")), UC: deref(po.float("u_c")), K: deref(po.float("k"))}
		if v := po.floats("as_found_c"); v != nil {
			p.AsFoundC = *v
		}
		if v := po.floats("as_left_c"); v != nil {
			p.AsLeftC = *v
		}
		in.Data.Points = append(in.Data.Points, p)
		children = append(children, po)
	}
	return in, children
}

func (s *Server) recordResult(c *gin.Context) {
	o, err := s.readObject(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	in, children := decodeResult(o, true)
	if err := o.done(children...); err != nil {
		s.fail(c, err)
		return
	}
	r, err := s.reg.RecordResult(c.Request.Context(), actorOf(c), in)
	if rep, ok := replayOf(c, err); ok {
		r, err = s.reg.GetResult(c.Request.Context(), actorOf(c), rep.ID)
	}
	if err == nil {
		c.Header("Location", "/api/v1/results/"+r.ID)
	}
	one(s, c, http.StatusCreated, r, err, toResultJSON, 1)
}

// reviseResult issues a correction: a new revision that replaces the
// result, with the same body as a record (without task_id) and a
// correction_reason.
func (s *Server) reviseResult(c *gin.Context) {
	o, err := s.readObject(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	in, children := decodeResult(o, false)
	reason := deref(o.str("correction_reason"))
	if err := o.done(children...); err != nil {
		s.fail(c, err)
		return
	}
	r, err := s.reg.ReviseResult(c.Request.Context(), actorOf(c), c.Param("id"), in, reason)
	if rep, ok := replayOf(c, err); ok {
		r, err = s.reg.GetResult(c.Request.Context(), actorOf(c), rep.ID)
	}
	if err == nil {
		c.Header("Location", "/api/v1/results/"+r.ID)
	}
	one(s, c, http.StatusCreated, r, err, toResultJSON, 1)
}

func (s *Server) listResults(c *gin.Context) {
	q := newQuery(c, "thermometer_id", "standard_id", "flagged")
	f := devices.ResultFilter{ThermometerID: q.id("thermometer_id"), StandardID: q.id("standard_id"), Flagged: q.bool("flagged")}
	p := q.page()
	if err := q.done(); err != nil {
		s.fail(c, err)
		return
	}
	items, next, err := s.reg.ListResults(c.Request.Context(), actorOf(c), f, p)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, list(items, next, toResultJSON))
}

func (s *Server) getResult(c *gin.Context) {
	r, err := s.reg.GetResult(c.Request.Context(), actorOf(c), c.Param("id"))
	one(s, c, http.StatusOK, r, err, toResultJSON, 1)
}

// getCertificate serves a result's certificate as JSON, or as PDF for
// .../certificate.pdf (or Accept: application/pdf).
func (s *Server) getCertificate(c *gin.Context) {
	id := c.Param("id")
	p, err := s.reg.CertificateOf(c.Request.Context(), actorOf(c), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	cert := certificate.FromParties(p)
	if strings.HasSuffix(c.FullPath(), ".pdf") {
		pdf, err := certificate.PDF(cert)
		if err != nil {
			s.fail(c, err)
			return
		}
		c.Header("Content-Disposition", fmt.Sprintf(`inline; filename="%s.pdf"`, cert.Number))
		c.Data(http.StatusOK, "application/pdf", pdf)
		return
	}
	c.JSON(http.StatusOK, cert)
}
