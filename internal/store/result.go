package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/calibd/calibd/devices"
)

var _ devices.ResultStore = (*Store)(nil)

// Row locks on PostgreSQL (SQLite has one writer and ignores them). The
// order every writer takes them in is task, reference standard, then
// thermometer, so RecordResult and FlagStandardOutOfTolerance cannot
// deadlock. NO KEY UPDATE leaves foreign-key checks of other writers
// (inserting a task for the thermometer) unblocked.
const (
	lockShare       = clause.LockingStrengthShare
	lockUpdate      = clause.LockingStrengthUpdate
	lockNoKeyUpdate = "NO KEY UPDATE"
)

// resultRow is one immutable calibration result; prior_* and the device
// columns are the devices.CalibrationState before and after it.
type resultRow struct {
	ID                    string
	TaskID                *string
	ThermometerID         string
	VenueID               string
	OperatorOrgID         string
	InstituteID           string
	StandardID            string
	StandardCertificateNo string
	StandardDueAt         time.Time
	Revision              int
	ReplacesID            *string
	CertificateNo         string
	Mode                  string
	Rule                  string
	MPEC                  float64 `gorm:"column:mpe_c"`
	Data                  string
	AsFoundVerdict        string
	Verdict               string
	PerformedAt           time.Time
	IssuedAt              time.Time
	IssuedByOrg           string
	IssuedByToken         *string
	MethodDoc             string
	PriorStatus           string
	PriorIntervalDays     int
	PriorIntervalReason   string
	PriorLastCalibratedAt *time.Time
	PriorNextDueAt        time.Time
	Applied               bool
	DeviceStatus          string
	IntervalDays          int
	IntervalReason        string
	LastCalibratedAt      *time.Time
	NextDueAt             time.Time
	CorrectionReason      string
}

func (resultRow) TableName() string { return "calibration_results" }

type resultFlagRow struct {
	ResultID   string `gorm:"primaryKey"`
	StandardID string `gorm:"primaryKey"`
	Reason     string
	FlaggedAt  time.Time
}

func (resultFlagRow) TableName() string { return "result_flags" }

// The data column: the measurement and its outcomes, as JSON.
type resultData struct {
	Points    []pointData   `json:"points"`
	Adjusted  bool          `json:"adjusted"`
	Ambient   ambientData   `json:"ambient"`
	RangeMinC float64       `json:"range_min_c"`
	RangeMaxC float64       `json:"range_max_c"`
	AsFound   []outcomeData `json:"as_found"`
	AsLeft    []outcomeData `json:"as_left,omitempty"`
}

type pointData struct {
	ReferenceC float64   `json:"reference_c"`
	AsFoundC   []float64 `json:"as_found_c"`
	AsLeftC    []float64 `json:"as_left_c,omitempty"`
	UC         float64   `json:"u_c"`
	K          float64   `json:"k"`
}

type ambientData struct {
	TempC     float64 `json:"temp_c"`
	RHPercent float64 `json:"rh_percent"`
}

type outcomeData struct {
	ReferenceC float64 `json:"reference_c"`
	ErrorC     float64 `json:"error_c"`
	Verdict    string  `json:"verdict"`
}

func encodeResultData(d devices.CalibrationData, asFound, asLeft []devices.PointOutcome) (string, error) {
	out := resultData{Adjusted: d.Adjusted, Ambient: ambientData{TempC: d.Ambient.TempC, RHPercent: d.Ambient.RHPercent},
		RangeMinC: d.RangeMinC, RangeMaxC: d.RangeMaxC, Points: make([]pointData, len(d.Points))}
	for i, p := range d.Points {
		out.Points[i] = pointData{ReferenceC: p.ReferenceC, AsFoundC: p.AsFoundC, AsLeftC: p.AsLeftC, UC: p.UC, K: p.K}
	}
	outcomes := func(os []devices.PointOutcome) []outcomeData {
		if os == nil {
			return nil
		}
		r := make([]outcomeData, len(os))
		for i, o := range os {
			r[i] = outcomeData{ReferenceC: o.ReferenceC, ErrorC: o.ErrorC, Verdict: string(o.Verdict)}
		}
		return r
	}
	out.AsFound, out.AsLeft = outcomes(asFound), outcomes(asLeft)
	b, err := json.Marshal(out)
	return string(b), err
}

// decode returns the row's measurement and outcomes.
func (r resultRow) decode() (devices.CalibrationData, []devices.PointOutcome, []devices.PointOutcome, error) {
	var rd resultData
	if err := json.Unmarshal([]byte(r.Data), &rd); err != nil {
		return devices.CalibrationData{}, nil, nil, fmt.Errorf("result %s: data: %w", r.ID, err)
	}
	d := devices.CalibrationData{Mode: devices.ReadingMode(r.Mode), Adjusted: rd.Adjusted,
		Ambient: devices.Ambient{TempC: rd.Ambient.TempC, RHPercent: rd.Ambient.RHPercent},
		Rule:    devices.DecisionRule(r.Rule), MPEC: r.MPEC, RangeMinC: rd.RangeMinC, RangeMaxC: rd.RangeMaxC,
		Points: make([]devices.TestPoint, len(rd.Points))}
	for i, p := range rd.Points {
		d.Points[i] = devices.TestPoint{ReferenceC: p.ReferenceC, AsFoundC: p.AsFoundC, AsLeftC: p.AsLeftC, UC: p.UC, K: p.K}
	}
	outcomes := func(os []outcomeData) []devices.PointOutcome {
		if os == nil {
			return nil
		}
		r := make([]devices.PointOutcome, len(os))
		for i, o := range os {
			r[i] = devices.PointOutcome{ReferenceC: o.ReferenceC, ErrorC: o.ErrorC, Verdict: devices.Verdict(o.Verdict)}
		}
		return r
	}
	return d, outcomes(rd.AsFound), outcomes(rd.AsLeft), nil
}

func (r resultRow) before() devices.CalibrationState {
	return devices.CalibrationState{Status: devices.ThermometerStatus(r.PriorStatus), IntervalDays: r.PriorIntervalDays,
		IntervalReason: r.PriorIntervalReason, LastCalibratedAt: utcPtr(r.PriorLastCalibratedAt), NextDueAt: r.PriorNextDueAt.UTC()}
}

func (r resultRow) toResult(flags []devices.ResultFlag, replacedBy *string) (devices.CalibrationResult, error) {
	d, asFound, asLeft, err := r.decode()
	if err != nil {
		return devices.CalibrationResult{}, err
	}
	if flags == nil {
		flags = []devices.ResultFlag{}
	}
	out := devices.CalibrationResult{ID: r.ID, TaskID: r.TaskID, ThermometerID: r.ThermometerID, VenueID: r.VenueID,
		OperatorOrgID: r.OperatorOrgID, InstituteID: r.InstituteID, StandardID: r.StandardID,
		StandardCertificateNo: r.StandardCertificateNo, StandardDueAt: r.StandardDueAt.UTC(),
		Revision: r.Revision, ReplacesID: r.ReplacesID, ReplacedByID: replacedBy, CertificateNo: r.CertificateNo,
		Data: d, AsFound: asFound, AsLeft: asLeft, AsFoundVerdict: devices.Verdict(r.AsFoundVerdict),
		Verdict: devices.Verdict(r.Verdict), PerformedAt: r.PerformedAt.UTC(), IssuedAt: r.IssuedAt.UTC(),
		IssuedByOrgID: r.IssuedByOrg, MethodDoc: r.MethodDoc, Before: r.before(),
		After: devices.CalibrationState{Status: devices.ThermometerStatus(r.DeviceStatus), IntervalDays: r.IntervalDays,
			IntervalReason: r.IntervalReason, LastCalibratedAt: utcPtr(r.LastCalibratedAt), NextDueAt: r.NextDueAt.UTC()},
		Applied: r.Applied, CorrectionReason: r.CorrectionReason, Flags: flags}
	if r.IssuedByToken != nil {
		out.IssuedByToken = *r.IssuedByToken
	}
	return out, nil
}

// resultScope: the regulator sees every result, a venue operator those of
// its venues' thermometers, an institute its own; a maintenance firm none.
func resultScope(a devices.Actor) func(*gorm.DB) *gorm.DB {
	return func(q *gorm.DB) *gorm.DB {
		switch a.OrgKind {
		case devices.KindRegulator:
			return q
		case devices.KindVenueOperator:
			return q.Where("calibration_results.operator_org_id = ?", a.OrgID)
		case devices.KindMetrologyInstitute:
			return q.Where("calibration_results.institute_id = ?", a.OrgID)
		}
		return q.Where("1 = 0")
	}
}

// notSuperseded keeps results no correction replaced.
const notSuperseded = "NOT EXISTS (SELECT 1 FROM calibration_results c WHERE c.replaces_id = calibration_results.id)"

func (s *Store) getResult(q *gorm.DB, a devices.Actor, id string) (resultRow, error) {
	return takeVisible[resultRow](q, resultScope(a), "calibration_results", "calibration result", id)
}

// decorate converts rows, with their flags and the corrections replacing
// them.
func (s *Store) decorate(q *gorm.DB, rows []resultRow) ([]devices.CalibrationResult, error) {
	flags := map[string][]devices.ResultFlag{}
	replacedBy := map[string]*string{}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	for chunk := range slices.Chunk(ids, 1000) {
		var fs []resultFlagRow
		if err := q.Where("result_id IN ?", chunk).Order("flagged_at, standard_id").Find(&fs).Error; err != nil {
			return nil, err
		}
		for _, f := range fs {
			flags[f.ResultID] = append(flags[f.ResultID], devices.ResultFlag{StandardID: f.StandardID, Reason: f.Reason, FlaggedAt: f.FlaggedAt.UTC()})
		}
		var reps []struct {
			ID         string
			ReplacesID string
		}
		if err := q.Table("calibration_results").Select("id, replaces_id").Where("replaces_id IN ?", chunk).Find(&reps).Error; err != nil {
			return nil, err
		}
		for _, r := range reps {
			replacedBy[r.ReplacesID] = &r.ID
		}
	}
	out := make([]devices.CalibrationResult, len(rows))
	for i, r := range rows {
		res, err := r.toResult(flags[r.ID], replacedBy[r.ID])
		if err != nil {
			return nil, err
		}
		out[i] = res
	}
	return out, nil
}

// GetResult implements devices.ResultStore.
func (s *Store) GetResult(ctx context.Context, a devices.Actor, id string) (devices.CalibrationResult, error) {
	q := s.db.WithContext(ctx)
	row, err := s.getResult(q, a, id)
	if err != nil {
		return devices.CalibrationResult{}, err
	}
	out, err := s.decorate(q, []resultRow{row})
	if err != nil {
		return devices.CalibrationResult{}, err
	}
	return out[0], nil
}

// ListResults implements devices.ResultStore: newest first (ids are
// time-ordered).
func (s *Store) ListResults(ctx context.Context, a devices.Actor, f devices.ResultFilter, p devices.Page) ([]devices.CalibrationResult, string, error) {
	var pr devices.Problems
	if f.ThermometerID != "" && !devices.IsUUID(f.ThermometerID) {
		pr.Add("thermometer_id", "is not an id")
	}
	if f.StandardID != "" && !devices.IsUUID(f.StandardID) {
		pr.Add("standard_id", "is not an id")
	}
	if err := pr.Err(); err != nil {
		return nil, "", err
	}
	db := s.db.WithContext(ctx)
	q := db.Model(&resultRow{}).Scopes(resultScope(a))
	if f.ThermometerID != "" {
		q = q.Where("calibration_results.thermometer_id = ?", f.ThermometerID)
	}
	if f.StandardID != "" {
		q = q.Where("calibration_results.standard_id = ?", f.StandardID)
	}
	if f.Flagged {
		q = q.Where("EXISTS (SELECT 1 FROM result_flags f WHERE f.result_id = calibration_results.id)")
	}
	q, err := pageQuery(q, "calibration_results", &p, true)
	if err != nil {
		return nil, "", err
	}
	var rows []resultRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, "", translate(err, "calibration results")
	}
	rows, next := cutPage(rows, p.Limit, func(r resultRow) string { return r.ID })
	out, err := s.decorate(db, rows)
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// checkReason trims a required free-text reason.
func checkReason(reason, field, hint string) (string, error) {
	reason = strings.TrimSpace(reason)
	var pr devices.Problems
	switch {
	case reason == "":
		pr.Add(field, "is required: "+hint)
	case len([]rune(reason)) > 1000:
		pr.Add(field, "must be at most 1000 characters")
	}
	return reason, pr.Err()
}

// RecordResult implements devices.ResultStore. The task is locked first,
// so a second result for it (or a concurrent visit cancel) waits and then
// finds it completed.
func (s *Store) RecordResult(ctx context.Context, a devices.Actor, in devices.ResultInput) (devices.CalibrationResult, error) {
	var out devices.CalibrationResult
	err := s.once(ctx, a, devices.ResourceCalibrationResult, func(tx *gorm.DB) (outcome, error) {
		if strings.TrimSpace(in.TaskID) == "" {
			return outcome{}, devices.Invalid("task_id", "is required")
		}
		var task taskRow
		if !devices.IsUUID(in.TaskID) {
			return outcome{}, fmt.Errorf("task %q: %w", in.TaskID, devices.ErrNotFound)
		}
		err := tx.Clauses(clause.Locking{Strength: lockUpdate}).Scopes(taskScope(a)).
			Where("calibration_tasks.id = ?", in.TaskID).Take(&task).Error
		if err != nil {
			return outcome{}, translate(err, "task")
		}
		if a.OrgKind != devices.KindMetrologyInstitute || task.InstituteID == nil || *task.InstituteID != a.OrgID {
			return outcome{}, devices.Forbidden("only the institute assigned to the task records its result")
		}
		if st := devices.TaskState(task.State); st != devices.TaskScheduled && st != devices.TaskInProgress {
			return outcome{}, devices.Conflict("invalid_transition", "a %s task takes no result; only a scheduled or in_progress one does", task.State)
		}
		row, err := s.issue(tx, a, issueArgs{in: in, task: &task, thermometerID: task.ThermometerID})
		if err != nil {
			return outcome{}, err
		}
		now := s.now()
		if err := updateAt(tx, &taskRow{}, task.ID, task.Version, map[string]any{
			"state": string(devices.TaskCompleted), "version": task.Version + 1, "updated_at": now}); err != nil {
			return outcome{}, fmt.Errorf("task %s: %w", task.ID, err)
		}
		if err := s.audit(tx, a, devices.ActionCreate, devices.ResourceCalibrationResult, row.ID, created(map[string]any{
			"certificate_no": row.CertificateNo, "task_id": task.ID, "thermometer_id": row.ThermometerID,
			"standard_id": row.StandardID, "verdict": row.Verdict, "as_found_verdict": row.AsFoundVerdict,
			"performed_at": row.PerformedAt, "task_state": devices.TaskCompleted,
		})); err != nil {
			return outcome{}, err
		}
		out, err = row.toResult(nil, nil)
		return outcome{id: row.ID}, err
	})
	return out, err
}

// ReviseResult implements devices.ResultStore.
func (s *Store) ReviseResult(ctx context.Context, a devices.Actor, resultID string, in devices.ResultInput, reason string) (devices.CalibrationResult, error) {
	var out devices.CalibrationResult
	err := s.once(ctx, a, devices.ResourceCalibrationResult, func(tx *gorm.DB) (outcome, error) {
		old, err := s.getResult(tx, a, resultID)
		if err != nil {
			return outcome{}, err
		}
		if a.OrgKind != devices.KindMetrologyInstitute || old.InstituteID != a.OrgID {
			return outcome{}, devices.Forbidden("only the institute that issued a result corrects it")
		}
		if err := alreadyRevised(tx, old); err != nil {
			return outcome{}, err
		}
		var pre devices.Problems
		reason, err = checkReason(reason, "reason", "say what the correction changes and why")
		pre.Merge(err)
		var task *taskRow
		if in.TaskID != "" && (old.TaskID == nil || *old.TaskID != in.TaskID) {
			pre.Add("task_id", "must be empty or the corrected result's task")
		}
		if old.TaskID != nil {
			task = &taskRow{}
			if err := tx.Where("id = ?", *old.TaskID).Take(task).Error; err != nil {
				return outcome{}, translate(err, "task")
			}
		}
		if in.StandardID == "" {
			in.StandardID = old.StandardID
		}
		row, err := s.issue(tx, a, issueArgs{in: in, task: task, thermometerID: old.ThermometerID, replaced: &old,
			reason: reason, problems: pre})
		if err != nil {
			if ce, ok := err.(*devices.ConflictError); ok && ce.Code == "duplicate" {
				// A concurrent correction of the same result won.
				return outcome{}, devices.Conflict("already_revised", "result %s was corrected concurrently", old.ID)
			}
			return outcome{}, err
		}
		if err := s.audit(tx, a, devices.ActionRevise, devices.ResourceCalibrationResult, row.ID, devices.Changes{
			"replaces_id":       {To: old.ID},
			"certificate_no":    {From: old.CertificateNo, To: row.CertificateNo},
			"verdict":           {From: old.Verdict, To: row.Verdict},
			"correction_reason": {To: reason},
		}); err != nil {
			return outcome{}, err
		}
		out, err = row.toResult(nil, nil)
		return outcome{id: row.ID}, err
	})
	return out, err
}

func alreadyRevised(tx *gorm.DB, old resultRow) error {
	var by []resultRow
	if err := tx.Where("replaces_id = ?", old.ID).Limit(1).Find(&by).Error; err != nil {
		return err
	}
	if len(by) > 0 {
		return devices.Conflict("already_revised", "result %s was already corrected by certificate %s; correct that one instead",
			old.CertificateNo, by[0].CertificateNo)
	}
	return nil
}

// issueArgs is what issue needs to write one result.
type issueArgs struct {
	in            devices.ResultInput
	task          *taskRow // bounds performed_at from below; nil for a result without a task
	thermometerID string
	replaced      *resultRow // for a correction
	reason        string     // the correction's reason
	problems      devices.Problems
}

// issue validates the input against the thermometer, the standard and the
// task, takes the certificate number and writes the result and its effect
// on the thermometer (and a re-check task when indeterminate), all in the
// caller's transaction.
func (s *Store) issue(tx *gorm.DB, a devices.Actor, x issueArgs) (resultRow, error) {
	in, pr := x.in, x.problems
	now := s.now()

	// The standard, share-locked so that declaring it out of tolerance
	// waits for this result (and then flags it), or this waits and sees
	// the new status.
	var std *standardRow
	switch {
	case strings.TrimSpace(in.StandardID) == "":
		pr.Add("standard_id", "is required")
	case !devices.IsUUID(in.StandardID):
		pr.Add("standard_id", "is not a reference standard of your institute")
	default:
		var rows []standardRow
		if err := tx.Clauses(clause.Locking{Strength: lockShare}).
			Where("id = ? AND institute_id = ?", in.StandardID, a.OrgID).Limit(1).Find(&rows).Error; err != nil {
			return resultRow{}, err
		}
		if len(rows) == 0 {
			pr.Add("standard_id", "is not a reference standard of your institute")
		} else {
			std = &rows[0]
		}
	}

	var th thermometerRow
	if err := tx.Clauses(clause.Locking{Strength: lockNoKeyUpdate}).Where("id = ?", x.thermometerID).Take(&th).Error; err != nil {
		return resultRow{}, translate(err, "thermometer")
	}
	assigned := th.InstituteID != nil && *th.InstituteID == a.OrgID
	live := th.Status != string(devices.StatusRetired)
	if x.replaced == nil {
		if !live {
			return resultRow{}, devices.Conflict("retired", "thermometer %s is retired", th.ID)
		}
		if !assigned {
			return resultRow{}, devices.Forbidden("the thermometer is no longer assigned to your institute")
		}
	}
	var dev struct {
		IntervalPolicy string
		IntervalReason string
		TimeZone       string
		Document       string
	}
	if err := tx.Raw(`SELECT t.interval_policy, t.interval_reason, v.time_zone, p.document
		FROM thermometers t JOIN venues v ON v.id = t.venue_id JOIN tolerance_profiles p ON p.code = t.tolerance_profile
		WHERE t.id = ?`, th.ID).Scan(&dev).Error; err != nil {
		return resultRow{}, err
	}

	// The measurement, judged against the thermometer's own MPE and range.
	data := in.Data
	data.Points = slices.Clone(in.Data.Points)
	data.MPEC, data.RangeMinC, data.RangeMaxC = th.MPEC, th.RangeMinC, th.RangeMaxC
	var ve *devices.ValidationError
	if err := data.Validate(); errors.As(err, &ve) {
		for _, f := range ve.Fields {
			pr.Add(f.Field, f.Reason)
		}
	} else if err != nil {
		return resultRow{}, err
	}
	if data.Mode.Valid() && th.Modes != "" && !slices.Contains(strings.Split(th.Modes, ","), string(data.Mode)) {
		pr.Addf("mode", "the thermometer reads only in %s mode", strings.ReplaceAll(th.Modes, ",", ", "))
	}

	at := in.PerformedAt.UTC()
	switch {
	case in.PerformedAt.IsZero():
		pr.Add("performed_at", "is required")
	case at.After(now.Add(devices.MaxClockSkew)):
		pr.Add("performed_at", "must not be in the future")
	// Clients send whole seconds (RFC 3339): a result taken in the
	// second the task was created is not before it.
	case x.task != nil && at.Before(x.task.CreatedAt.Truncate(time.Second)):
		pr.Addf("performed_at", "must not be before the task was created (%s)", x.task.CreatedAt.UTC().Format(time.RFC3339))
	}
	if std != nil {
		sameAsReplaced := x.replaced != nil && x.replaced.StandardID == std.ID
		switch {
		case std.Status != string(devices.StandardInService) && !sameAsReplaced:
			pr.Addf("standard_id", "reference standard %s is %s", std.Serial, std.Status)
		case !in.PerformedAt.IsZero():
			if why := std.toStandard().CoverReason(at); why != "" {
				pr.Add("standard_id", why)
			}
		}
	}
	method := strings.TrimSpace(in.MethodDoc)
	if method == "" {
		method = dev.Document
	}
	if len([]rune(method)) > 200 {
		pr.Add("method_doc", "must be at most 200 characters")
	}
	if err := pr.Err(); err != nil {
		return resultRow{}, err
	}

	policy, err := decodeIntervalPolicy(dev.IntervalPolicy)
	if err != nil {
		return resultRow{}, fmt.Errorf("thermometer %s: %w", th.ID, err)
	}
	loc := zoneCache{}.get(dev.TimeZone)
	asFound, asLeft, verdict := data.Evaluate()
	afVerdict := data.AsFoundAt(at).Verdict
	encoded, err := encodeResultData(data, asFound, asLeft)
	if err != nil {
		return resultRow{}, fmt.Errorf("encode result data: %w", err)
	}

	row := resultRow{ID: newID(), ThermometerID: th.ID, VenueID: th.VenueID, OperatorOrgID: th.OperatorOrgID,
		InstituteID: a.OrgID, StandardID: std.ID, StandardCertificateNo: std.CertificateNo, StandardDueAt: std.DueAt.UTC(),
		Revision: 1, Mode: string(data.Mode), Rule: string(data.Rule), MPEC: data.MPEC, Data: encoded,
		AsFoundVerdict: string(afVerdict), Verdict: string(verdict), PerformedAt: at, IssuedAt: now,
		IssuedByOrg: a.OrgID, IssuedByToken: strPtr(a.TokenID), MethodDoc: method, CorrectionReason: x.reason}
	if x.task != nil {
		row.TaskID = &x.task.ID
	}
	current := devices.CalibrationState{Status: devices.ThermometerStatus(th.Status), IntervalDays: th.IntervalDays,
		IntervalReason: dev.IntervalReason, LastCalibratedAt: utcPtr(th.LastCalibratedAt), NextDueAt: th.NextDueAt.UTC()}
	before, exclude := current, ""
	row.Applied = true
	if r := x.replaced; r != nil {
		row.Revision, row.ReplacesID = r.Revision+1, &r.ID
		row.CertificateNo = devices.RevisionCertificateNumber(r.CertificateNo, row.Revision)
		// A correction restarts from the device as the replaced result
		// found it, and changes the device only when the replaced result
		// is still what governs it.
		before, exclude = r.before(), r.ID
		var later int64
		if err := tx.Model(&resultRow{}).Where("thermometer_id = ? AND id <> ? AND performed_at > ?", th.ID, r.ID, r.PerformedAt).
			Where(notSuperseded).Count(&later).Error; err != nil {
			return resultRow{}, err
		}
		row.Applied = later == 0 && live && assigned
	} else {
		if row.CertificateNo, err = s.nextCertificate(tx, a.OrgID, now); err != nil {
			return resultRow{}, err
		}
	}
	history, err := asFoundHistory(tx, th.ID, exclude, at)
	if err != nil {
		return resultRow{}, err
	}
	history = append(history, data.AsFoundAt(at))
	after := before.After(verdict, at, policy, history, loc)
	if !row.Applied {
		after = current
	}
	row.PriorStatus, row.PriorIntervalDays, row.PriorIntervalReason = string(before.Status), before.IntervalDays, before.IntervalReason
	row.PriorLastCalibratedAt, row.PriorNextDueAt = before.LastCalibratedAt, before.NextDueAt
	row.DeviceStatus, row.IntervalDays, row.IntervalReason = string(after.Status), after.IntervalDays, after.IntervalReason
	row.LastCalibratedAt, row.NextDueAt = after.LastCalibratedAt, after.NextDueAt

	if err := tx.Create(&row).Error; err != nil {
		return resultRow{}, translate(err, "calibration result")
	}
	if !row.Applied {
		return row, nil
	}
	if err := s.applyCalibration(tx, a, th, current, after, row, now); err != nil {
		return resultRow{}, err
	}
	// A device that failed or could not be judged stays out of use until
	// it passes: it gets a recheck task (after repair or adjustment), since
	// its due date, and so the plan job's key, has not moved.
	switch verdict {
	case devices.VerdictIndeterminate:
		why := fmt.Sprintf("indeterminate result %s: re-test", row.CertificateNo)
		if err := s.recheckAfterIndeterminate(tx, th, row.TaskID, why, now, loc); err != nil {
			return resultRow{}, err
		}
	case devices.VerdictFail:
		why := fmt.Sprintf("failed calibration %s: re-calibrate after repair or adjustment", row.CertificateNo)
		if err := s.recheckAfterIndeterminate(tx, th, row.TaskID, why, now, loc); err != nil {
			return resultRow{}, err
		}
	}
	return row, nil
}

// nextCertificate takes the institute's next certificate number of the
// year (in the institute's calendar zone). The upsert locks the counter
// row until the transaction ends, so concurrent results queue here and a
// rolled-back result gives its number back: the sequence has no gaps.
func (s *Store) nextCertificate(tx *gorm.DB, instituteID string, at time.Time) (string, error) {
	cal, _, err := calendarOf(tx, instituteID)
	if err != nil {
		return "", err
	}
	year := at.In(zoneCache{}.get(cal.TimeZone)).Year()
	var seq int
	err = tx.Raw(`INSERT INTO certificate_counters (institute_id, year, next) VALUES (?, ?, 2)
		ON CONFLICT (institute_id, year) DO UPDATE SET next = certificate_counters.next + 1
		RETURNING next - 1`, instituteID, year).Scan(&seq).Error
	if err != nil {
		return "", fmt.Errorf("take certificate number: %w", err)
	}
	if seq < 1 {
		return "", fmt.Errorf("take certificate number: counter returned %d", seq)
	}
	return devices.CertificateNumber(instituteID, year, seq), nil
}

// asFoundHistory is the as-found summary of every current (not
// superseded) result of the thermometer performed up to upTo, except
// exclude.
func asFoundHistory(tx *gorm.DB, thermometerID, exclude string, upTo time.Time) ([]devices.AsFound, error) {
	q := tx.Where("thermometer_id = ? AND performed_at <= ?", thermometerID, upTo).Where(notSuperseded)
	if exclude != "" {
		q = q.Where("id <> ?", exclude)
	}
	var rows []resultRow
	if err := q.Order("performed_at, id").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]devices.AsFound, 0, len(rows)+1)
	for _, r := range rows {
		d, _, _, err := r.decode()
		if err != nil {
			return nil, err
		}
		out = append(out, d.AsFoundAt(r.PerformedAt.UTC()))
	}
	return out, nil
}

// applyCalibration writes the result's effect on the thermometer and
// audits it.
func (s *Store) applyCalibration(tx *gorm.DB, a devices.Actor, th thermometerRow, from, to devices.CalibrationState, r resultRow, now time.Time) error {
	updates := map[string]any{
		"status": string(to.Status), "interval_days": to.IntervalDays, "interval_reason": to.IntervalReason,
		"last_calibrated_at": to.LastCalibratedAt, "next_due_at": to.NextDueAt,
		"version": th.Version + 1, "updated_at": now}
	moved := !from.NextDueAt.Equal(to.NextDueAt)
	if moved {
		// The new due date is the device's own; an active deferral may
		// take it again below.
		updates["deferral_id"], updates["normal_due_at"] = nil, nil
	}
	if err := updateAt(tx, &thermometerRow{}, th.ID, th.Version, updates); err != nil {
		return fmt.Errorf("thermometer %s: %w", th.ID, err)
	}
	if moved {
		if err := s.applyActive(tx, []string{th.ID}, &devices.DeferralReport{}); err != nil {
			return err
		}
	}
	if r.Verdict == string(devices.VerdictPass) {
		data, _, _, err := r.decode()
		if err != nil {
			return err
		}
		if err := s.resetDrift(tx, th.ID, r.PerformedAt, "passing calibration "+r.CertificateNo, &data, now); err != nil {
			return err
		}
	}
	ch := devices.Changes{"calibration_result": {To: r.CertificateNo}}
	if from.Status != to.Status {
		ch["status"] = devices.Change{From: from.Status, To: to.Status}
	}
	if from.IntervalDays != to.IntervalDays {
		ch["calibration_interval_days"] = devices.Change{From: from.IntervalDays, To: to.IntervalDays}
	}
	if from.IntervalReason != to.IntervalReason {
		ch["interval_reason"] = devices.Change{From: from.IntervalReason, To: to.IntervalReason}
	}
	if !equalTimePtr(from.LastCalibratedAt, to.LastCalibratedAt) {
		ch["last_calibrated_at"] = devices.Change{From: from.LastCalibratedAt, To: to.LastCalibratedAt}
	}
	if !from.NextDueAt.Equal(to.NextDueAt) {
		ch["next_due_at"] = devices.Change{From: from.NextDueAt, To: to.NextDueAt}
	}
	return s.audit(tx, a, devices.ActionUpdate, devices.ResourceThermometer, th.ID, ch)
}

func equalTimePtr(x, y *time.Time) bool {
	if x == nil || y == nil {
		return x == nil && y == nil
	}
	return x.Equal(*y)
}

// recheckAfterIndeterminate opens a re-test task for a quarantined or
// failed thermometer unless it has an active task other than the result's own
// (which the caller completes). It is due today in the venue's
// zone, or on the first later day whose (kind, thermometer, date) key is
// free: a re-check completed today holds today's.
func (s *Store) recheckAfterIndeterminate(tx *gorm.DB, th thermometerRow, own *string, why string, now time.Time, loc *time.Location) error {
	q := tx.Model(&taskRow{}).Where("thermometer_id = ? AND state IN ?", th.ID, activeTaskStates)
	if own != nil {
		q = q.Where("id <> ?", *own)
	}
	var active int64
	if err := q.Count(&active).Error; err != nil {
		return err
	}
	if active > 0 {
		return nil
	}
	for plus := range 7 {
		row := recheckTask(th.ID, th.VenueID, th.OperatorOrgID, th.InstituteID, why, now, loc, plus)
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
		if res.Error != nil || res.RowsAffected == 1 {
			return res.Error
		}
	}
	return fmt.Errorf("no free day for a re-check task of thermometer %s", th.ID)
}
