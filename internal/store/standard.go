package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/calibd/calibd/devices"
)

type standardRow struct {
	ID            string
	InstituteID   string
	Name          string
	Serial        string
	CertificateNo string
	CalibratedAt  time.Time
	DueAt         time.Time
	Status        string
	Version       int
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

func (standardRow) TableName() string { return "reference_standards" }

func fromStandard(s devices.ReferenceStandard) standardRow {
	return standardRow{ID: s.ID, InstituteID: s.InstituteID, Name: s.Name, Serial: s.Serial,
		CertificateNo: s.CertificateNo, CalibratedAt: s.CalibratedAt.UTC(), DueAt: s.DueAt.UTC(),
		Status: string(s.Status), Version: s.Version, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
}

func (r standardRow) toStandard() devices.ReferenceStandard {
	return devices.ReferenceStandard{ID: r.ID, InstituteID: r.InstituteID, Name: r.Name, Serial: r.Serial,
		CertificateNo: r.CertificateNo, CalibratedAt: r.CalibratedAt.UTC(), DueAt: r.DueAt.UTC(),
		Status: devices.StandardStatus(r.Status), Version: r.Version,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// standardScope: an institute sees its own standards, the regulator every
// one; venue operators and maintenance firms none (a result carries its
// standard's certificate and due date).
func standardScope(a devices.Actor) func(*gorm.DB) *gorm.DB {
	return func(q *gorm.DB) *gorm.DB {
		switch a.OrgKind {
		case devices.KindRegulator:
			return q
		case devices.KindMetrologyInstitute:
			return q.Where("reference_standards.institute_id = ?", a.OrgID)
		}
		return q.Where("1 = 0")
	}
}

// CreateStandard implements devices.ResultStore.
func (s *Store) CreateStandard(ctx context.Context, a devices.Actor, std *devices.ReferenceStandard) error {
	if a.OrgKind != devices.KindMetrologyInstitute || !a.IsAdmin() {
		return devices.Forbidden("only an institute admin registers reference standards")
	}
	if std.Status != "" && std.Status != devices.StandardInService {
		return devices.Invalid("status", "a new reference standard is in_service")
	}
	if err := std.Validate(s.now()); err != nil {
		return err
	}
	now := s.now()
	std.ID, std.InstituteID, std.Version, std.CreatedAt, std.UpdatedAt = newID(), a.OrgID, 1, now, now
	row := fromStandard(*std)
	return s.once(ctx, a, devices.ResourceReferenceStandard, func(tx *gorm.DB) (outcome, error) {
		if err := tx.Create(&row).Error; err != nil {
			err = translate(err, "reference standard")
			if ce, ok := err.(*devices.ConflictError); ok && ce.Code == "duplicate" {
				return outcome{}, devices.Conflict("duplicate_serial", "the institute already registered a reference standard with serial %s", std.Serial)
			}
			return outcome{}, err
		}
		return outcome{id: std.ID}, s.audit(tx, a, devices.ActionCreate, devices.ResourceReferenceStandard, std.ID, created(map[string]any{
			"name": std.Name, "serial": std.Serial, "certificate_no": std.CertificateNo,
			"calibrated_at": std.CalibratedAt, "due_at": std.DueAt, "status": std.Status,
		}))
	})
}

// getStandard reads a standard the actor sees; lock, when not empty, is
// the row lock to take on PostgreSQL (SQLite serializes writers anyway).
func (s *Store) getStandard(q *gorm.DB, a devices.Actor, id, lock string) (standardRow, error) {
	var row standardRow
	if !devices.IsUUID(id) {
		return row, fmt.Errorf("reference standard %q: %w", id, devices.ErrNotFound)
	}
	if lock != "" {
		q = q.Clauses(clause.Locking{Strength: lock})
	}
	err := q.Scopes(standardScope(a)).Where("reference_standards.id = ?", id).Take(&row).Error
	return row, translate(err, "reference standard")
}

// GetStandard implements devices.ResultStore.
func (s *Store) GetStandard(ctx context.Context, a devices.Actor, id string) (devices.ReferenceStandard, error) {
	row, err := s.getStandard(s.db.WithContext(ctx), a, id, "")
	if err != nil {
		return devices.ReferenceStandard{}, err
	}
	return row.toStandard(), nil
}

// ListStandards implements devices.ResultStore: in registration order.
func (s *Store) ListStandards(ctx context.Context, a devices.Actor, p devices.Page) ([]devices.ReferenceStandard, string, error) {
	q, err := pageQuery(s.db.WithContext(ctx).Model(&standardRow{}).Scopes(standardScope(a)), "reference_standards", &p, false)
	if err != nil {
		return nil, "", err
	}
	var rows []standardRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, "", translate(err, "reference standards")
	}
	rows, next := cutPage(rows, p.Limit, func(r standardRow) string { return r.ID })
	out := make([]devices.ReferenceStandard, len(rows))
	for i, r := range rows {
		out[i] = r.toStandard()
	}
	return out, next, nil
}

// FlagStandardOutOfTolerance implements devices.ResultStore. The standard
// is updated first: a concurrent RecordResult holds a share lock on it
// until it commits, so every result it traced is committed (and found
// here) or refused.
func (s *Store) FlagStandardOutOfTolerance(ctx context.Context, a devices.Actor, standardID, reason string) (devices.TraceReport, error) {
	var rep devices.TraceReport
	err := s.tx(ctx, func(tx *gorm.DB) error {
		rep = devices.TraceReport{}
		std, err := s.getStandard(tx, a, standardID, lockNoKeyUpdate)
		if err != nil {
			return err
		}
		if a.OrgID != std.InstituteID || !a.IsAdmin() {
			return devices.Forbidden("only an admin of the standard's institute declares it out of tolerance")
		}
		reason, err = checkReason(reason, "reason", "say what was found, e.g. the standard's own calibration result")
		if err != nil {
			return err
		}
		now := s.now()
		if std.Status == string(devices.StandardInService) {
			if err := updateAt(tx, &standardRow{}, std.ID, std.Version, map[string]any{
				"status": string(devices.StandardOutOfTolerance), "version": std.Version + 1, "updated_at": now}); err != nil {
				return fmt.Errorf("reference standard %s: %w", std.ID, err)
			}
			if err := s.audit(tx, a, devices.ActionFlagOutOfTolerance, devices.ResourceReferenceStandard, std.ID, devices.Changes{
				"status": {From: std.Status, To: string(devices.StandardOutOfTolerance)}, "reason": {To: reason}}); err != nil {
				return err
			}
			std.Status, std.Version, std.UpdatedAt = string(devices.StandardOutOfTolerance), std.Version+1, now
		}
		rep.Standard = std.toStandard()

		var rows []resultRow
		if err := tx.Where("standard_id = ? AND performed_at >= ?", std.ID, std.CalibratedAt).
			Order("id").Find(&rows).Error; err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		flags := make([]resultFlagRow, len(rows))
		for i, r := range rows {
			flags[i] = resultFlagRow{ResultID: r.ID, StandardID: std.ID, Reason: reason, FlaggedAt: now}
		}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(flags, s.insertBatch()).Error; err != nil {
			return err
		}
		n, err := s.openRechecks(tx, std, now)
		if err != nil {
			return err
		}
		rep.RecheckTasks = n
		rep.Flagged, err = s.decorate(tx, rows)
		return err
	})
	return rep, err
}

// openRechecks creates a re-check task, due today in its venue's zone, for
// every live thermometer whose latest current result used std since its
// calibration and that has no active task. A thermometer re-calibrated
// since with another standard needs none. The (kind, thermometer, due
// date) key makes a concurrent or repeated run create each task once.
func (s *Store) openRechecks(tx *gorm.DB, std standardRow, now time.Time) (int, error) {
	var cands []struct {
		ID            string
		VenueID       string
		OperatorOrgID string
		InstituteID   *string
		TimeZone      string
	}
	err := tx.Table("thermometers AS t").
		Select("t.id, t.venue_id, t.operator_org_id, t.institute_id, v.time_zone").
		Joins("JOIN venues v ON v.id = t.venue_id").
		Where("t.status <> ?", string(devices.StatusRetired)).
		Where(`EXISTS (SELECT 1 FROM calibration_results r WHERE r.thermometer_id = t.id AND r.standard_id = ? AND r.performed_at >= ?
			AND NOT EXISTS (SELECT 1 FROM calibration_results c WHERE c.replaces_id = r.id)
			AND NOT EXISTS (SELECT 1 FROM calibration_results l WHERE l.thermometer_id = t.id AND l.performed_at > r.performed_at
				AND NOT EXISTS (SELECT 1 FROM calibration_results c2 WHERE c2.replaces_id = l.id)))`, std.ID, std.CalibratedAt).
		Where("NOT EXISTS (SELECT 1 FROM calibration_tasks k WHERE k.thermometer_id = t.id AND k.state IN ?)", activeTaskStates).
		Order("t.id").Find(&cands).Error
	if err != nil || len(cands) == 0 {
		return 0, err
	}
	zones := zoneCache{}
	why := fmt.Sprintf("reference standard %s (%s) found out of tolerance: re-check", std.Serial, std.Name)
	rows := make([]taskRow, len(cands))
	for i, c := range cands {
		rows[i] = recheckTask(c.ID, c.VenueID, c.OperatorOrgID, c.InstituteID, why, now, zones.get(c.TimeZone), 0)
	}
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(rows, s.insertBatch())
	return int(res.RowsAffected), res.Error
}

// recheckTask is an open re-check task due now, on the venue's date
// plusDays days from today.
func recheckTask(thermometerID, venueID, operatorID string, instituteID *string, why string, now time.Time, loc *time.Location, plusDays int) taskRow {
	y, m, d := now.In(loc).Date()
	return taskRow{ID: newID(), Kind: string(devices.TaskRecheck), ThermometerID: thermometerID, VenueID: venueID,
		OperatorOrgID: operatorID, InstituteID: instituteID, DueAt: now.AddDate(0, 0, plusDays),
		DueOn: calendarDate(time.Date(y, m, d+plusDays, 0, 0, 0, 0, time.UTC).Format(dateLayout)),
		State: string(devices.TaskOpen), Priority: devices.PriorityOutOfTolerance, PriorityReason: why,
		Version: 1, CreatedAt: now, UpdatedAt: now}
}
