package store

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/calibd/calibd/devices"
)

// calendarDate is a date column: PostgreSQL's date, SQLite's text, both
// read and written as YYYY-MM-DD.
type calendarDate string

const dateLayout = "2006-01-02"

// Value implements driver.Valuer.
func (d calendarDate) Value() (driver.Value, error) { return string(d), nil }

// Scan implements sql.Scanner.
func (d *calendarDate) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		*d = calendarDate(v.Format(dateLayout))
	case string:
		*d = calendarDate(trimDate(v))
	case []byte:
		*d = calendarDate(trimDate(string(v)))
	default:
		return fmt.Errorf("calendar date: cannot scan %T", src)
	}
	return nil
}

func trimDate(s string) string {
	if len(s) > len(dateLayout) {
		return s[:len(dateLayout)]
	}
	return s
}

type taskRow struct {
	ID             string
	Kind           string
	ThermometerID  string
	VenueID        string
	OperatorOrgID  string
	InstituteID    *string
	VisitID        *string
	RequestID      *string
	OverdueSince   *time.Time
	DueAt          time.Time
	DueOn          calendarDate
	State          string
	Priority       int
	PriorityReason string
	CancelReason   string
	Version        int
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

func (taskRow) TableName() string { return "calibration_tasks" }

func (r taskRow) toTask() devices.Task {
	return devices.Task{ID: r.ID, Kind: devices.TaskKind(r.Kind), ThermometerID: r.ThermometerID, VenueID: r.VenueID,
		OperatorOrgID: r.OperatorOrgID, InstituteID: r.InstituteID, VisitID: r.VisitID, RequestID: r.RequestID, OverdueSince: utcPtr(r.OverdueSince), DueAt: r.DueAt.UTC(), DueOn: string(r.DueOn),
		State: devices.TaskState(r.State), Priority: r.Priority, PriorityReason: r.PriorityReason,
		CancelReason: r.CancelReason, Version: r.Version, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// activeTaskStates are the states of a task that still has work to do.
var activeTaskStates = []string{string(devices.TaskOpen), string(devices.TaskScheduled), string(devices.TaskInProgress)}

// taskScope: the regulator sees every task, a venue operator the tasks in
// its venues, an institute the tasks assigned to it; a maintenance firm
// none.
func taskScope(a devices.Actor) func(*gorm.DB) *gorm.DB {
	return func(q *gorm.DB) *gorm.DB {
		switch a.OrgKind {
		case devices.KindRegulator:
			return q
		case devices.KindVenueOperator:
			return q.Where("calibration_tasks.operator_org_id = ?", a.OrgID)
		case devices.KindMetrologyInstitute:
			return q.Where("calibration_tasks.institute_id = ?", a.OrgID)
		}
		return q.Where("1 = 0")
	}
}

// planBatch is how many due thermometers one planning transaction takes.
const planBatch = 2000

// dueCandidate is a thermometer the plan job looks at, with its venue.
type dueCandidate struct {
	ID            string
	VenueID       string
	OperatorOrgID string
	InstituteID   *string
	Status        string
	NextDueAt     time.Time
	VenueKind     string
	TimeZone      string
}

// PlanCalibrations implements devices.TaskStore. The database narrows the
// thermometers to those whose next_due_at falls before the horizon plus a
// day of slack for time zones (an index range, so the cost follows the
// number due, not the number registered); each is then judged in its
// venue's zone. Tasks are inserted with ON CONFLICT DO NOTHING on the
// (kind, thermometer, due date) key, so a concurrent or repeated run
// creates nothing twice.
func (s *Store) PlanCalibrations(ctx context.Context, now time.Time, horizonDays int) (devices.PlanReport, error) {
	var rep devices.PlanReport
	if horizonDays < 0 {
		return rep, devices.Invalid("horizon_days", "must not be negative")
	}
	// Due dates that came into an active deferral's window since it was
	// declared move first, so they get no task.
	drep, err := s.ApplyDeferrals(ctx)
	if err != nil {
		return rep, fmt.Errorf("apply deferrals: %w", err)
	}
	rep.Deferred = drep.Deferred
	cutoff := now.UTC().AddDate(0, 0, horizonDays+2)
	zones := map[string]*time.Location{}
	after := ""
	for {
		var cands []dueCandidate
		q := s.db.WithContext(ctx).Table("thermometers AS t").
			Select("t.id, t.venue_id, t.operator_org_id, t.institute_id, t.status, t.next_due_at, v.kind AS venue_kind, v.time_zone").
			Joins("JOIN venues v ON v.id = t.venue_id").
			Where("t.status <> ? AND t.next_due_at < ?", string(devices.StatusRetired), cutoff).
			Where("NOT EXISTS (SELECT 1 FROM calibration_tasks k WHERE k.thermometer_id = t.id AND k.state IN ?)", activeTaskStates)
		if after != "" {
			q = q.Where("t.id > ?", after)
		}
		if err := q.Order("t.id").Limit(planBatch).Find(&cands).Error; err != nil {
			return rep, err
		}
		if len(cands) == 0 {
			return rep, nil
		}
		after = cands[len(cands)-1].ID
		rows := make([]taskRow, 0, len(cands))
		stamp := s.now()
		for _, c := range cands {
			loc, ok := zones[c.TimeZone]
			if !ok {
				var err error
				if loc, err = time.LoadLocation(c.TimeZone); err != nil {
					loc = time.UTC // validated on write; a zone the host lacks is judged in UTC
				}
				zones[c.TimeZone] = loc
			}
			if devices.DueStateAt(c.NextDueAt, now, horizonDays, loc) == devices.DueOK {
				continue
			}
			rep.Due++
			prio, why := devices.TaskPriority(devices.ThermometerStatus(c.Status), devices.VenueKind(c.VenueKind))
			rows = append(rows, taskRow{ID: newID(), Kind: string(devices.TaskOnSite), ThermometerID: c.ID,
				VenueID: c.VenueID, OperatorOrgID: c.OperatorOrgID, InstituteID: c.InstituteID,
				DueAt: c.NextDueAt.UTC(), DueOn: calendarDate(c.NextDueAt.In(loc).Format(dateLayout)),
				State: string(devices.TaskOpen), Priority: prio, PriorityReason: why, Version: 1,
				CreatedAt: stamp, UpdatedAt: stamp})
		}
		if len(rows) > 0 {
			res := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(rows, s.insertBatch())
			if res.Error != nil {
				return rep, res.Error
			}
			rep.Created += int(res.RowsAffected)
			for _, r := range rows {
				if r.InstituteID == nil {
					rep.Unassigned++
				}
			}
		}
		if len(cands) < planBatch {
			return rep, nil
		}
	}
}

// GetTask implements devices.TaskStore.
func (s *Store) GetTask(ctx context.Context, a devices.Actor, id string) (devices.Task, error) {
	var row taskRow
	if !devices.IsUUID(id) {
		return devices.Task{}, fmt.Errorf("task %q: %w", id, devices.ErrNotFound)
	}
	err := s.db.WithContext(ctx).Scopes(taskScope(a)).Where("calibration_tasks.id = ?", id).Take(&row).Error
	if err != nil {
		return devices.Task{}, translate(err, "task")
	}
	return row.toTask(), nil
}

// ListTasks implements devices.TaskStore.
func (s *Store) ListTasks(ctx context.Context, a devices.Actor, f devices.TaskFilter, p devices.Page) ([]devices.Task, string, error) {
	q := s.db.WithContext(ctx).Model(&taskRow{}).Scopes(taskScope(a))
	if f.InstituteID != "" {
		q = q.Where("calibration_tasks.institute_id = ?", f.InstituteID)
	}
	if f.VenueID != "" {
		q = q.Where("calibration_tasks.venue_id = ?", f.VenueID)
	}
	if f.ThermometerID != "" {
		q = q.Where("calibration_tasks.thermometer_id = ?", f.ThermometerID)
	}
	if f.State != "" {
		q = q.Where("calibration_tasks.state = ?", string(f.State))
	}
	if f.Kind != "" {
		q = q.Where("calibration_tasks.kind = ?", string(f.Kind))
	}
	q, err := pageQuery(q, "calibration_tasks", &p, false)
	if err != nil {
		return nil, "", err
	}
	var rows []taskRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, "", translate(err, "tasks")
	}
	rows, next := cutPage(rows, p.Limit, func(r taskRow) string { return r.ID })
	out := make([]devices.Task, len(rows))
	for i, r := range rows {
		out[i] = r.toTask()
	}
	return out, next, nil
}

// CancelTask implements devices.TaskStore.
func (s *Store) CancelTask(ctx context.Context, a devices.Actor, id string, version int, reason string) (devices.Task, error) {
	var out devices.Task
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var row taskRow
		if !devices.IsUUID(id) {
			return fmt.Errorf("task %q: %w", id, devices.ErrNotFound)
		}
		if err := tx.Scopes(taskScope(a)).Where("calibration_tasks.id = ?", id).Take(&row).Error; err != nil {
			return translate(err, "task")
		}
		if a.OrgKind != devices.KindMetrologyInstitute || row.InstituteID == nil || *row.InstituteID != a.OrgID {
			return devices.Forbidden("only the institute the task is assigned to cancels it")
		}
		if version != devices.AnyVersion && version != row.Version {
			return devices.ErrPreconditionFailed
		}
		if !devices.TaskState(row.State).Active() {
			return devices.Conflict("invalid_transition", "a %s task cannot be cancelled", row.State)
		}
		reason = strings.TrimSpace(reason)
		if reason == "" {
			return devices.Invalid("reason", "say why the task is cancelled")
		}
		now := s.now()
		updates := map[string]any{"state": string(devices.TaskCancelled), "cancel_reason": reason,
			"version": row.Version + 1, "updated_at": now}
		changes := devices.Changes{"state": {From: row.State, To: string(devices.TaskCancelled)}, "cancel_reason": {To: reason}}
		// A visit not yet confirmed is re-planned without it; a confirmed
		// or started one keeps it on record.
		if row.VisitID != nil {
			var planned int64
			if err := tx.Model(&visitRow{}).Where("id = ? AND state = ?", *row.VisitID, string(devices.VisitPlanned)).
				Count(&planned).Error; err != nil {
				return err
			}
			if planned > 0 {
				updates["visit_id"] = nil
				changes["visit_id"] = devices.Change{From: *row.VisitID}
			}
		}
		if err := updateAt(tx, &taskRow{}, row.ID, row.Version, updates); err != nil {
			return err
		}
		if err := s.audit(tx, a, string(devices.VisitCancel), devices.ResourceTask, row.ID, changes); err != nil {
			return err
		}
		if err := tx.Where("id = ?", row.ID).Take(&row).Error; err != nil {
			return err
		}
		out = row.toTask()
		return nil
	})
	return out, err
}
