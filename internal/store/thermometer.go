package store

import (
	"context"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/calibd/calibd/devices"
)

// refChecker resolves the references a device row makes (tolerance
// profiles, assigned organizations) once per transaction, so a 10,000-row
// import does not ask the database 10,000 times.
type refChecker struct {
	tx       *gorm.DB
	profiles map[string]devices.ToleranceProfile
	orgs     map[string]string // id -> reason ("" = fine)
}

func newRefChecker(tx *gorm.DB) *refChecker {
	return &refChecker{tx: tx, orgs: map[string]string{}}
}

func (c *refChecker) profile(code string) (devices.ToleranceProfile, bool, error) {
	if c.profiles == nil {
		var rows []profileRow
		if err := c.tx.Find(&rows).Error; err != nil {
			return devices.ToleranceProfile{}, false, err
		}
		c.profiles = make(map[string]devices.ToleranceProfile, len(rows))
		for _, r := range rows {
			c.profiles[r.Code] = r.toProfile()
		}
	}
	p, ok := c.profiles[code]
	return p, ok, nil
}

func (c *refChecker) org(id string, kind devices.OrgKind) (string, error) {
	key := string(kind) + "/" + id
	if r, ok := c.orgs[key]; ok {
		return r, nil
	}
	r, err := orgOfKind(c.tx, id, kind)
	if err != nil {
		return "", err
	}
	c.orgs[key] = r
	return r, nil
}

// resolveThermometer fills the profile and checks every field and
// reference of t; field errors come back as a *ValidationError.
func (c *refChecker) resolveThermometer(t *devices.Thermometer, now devices.Clock) error {
	var pr devices.Problems
	if t.ToleranceProfile == "" {
		t.ToleranceProfile = devices.DefaultProfile[t.Type]
	}
	prof, ok, err := c.profile(t.ToleranceProfile)
	if err != nil {
		return err
	}
	if !ok && (t.ToleranceProfile != "" || t.Type.Valid()) {
		pr.Add("tolerance_profile", "is not a known tolerance profile (GET /api/v1/tolerance-profiles lists them)")
	}
	pr.Merge(t.Resolve(prof, now()))
	if t.InstituteID != nil && devices.IsUUID(*t.InstituteID) {
		reason, err := c.org(*t.InstituteID, devices.KindMetrologyInstitute)
		if err != nil {
			return err
		}
		if reason != "" {
			pr.Add("institute_id", reason)
		}
	}
	return pr.Err()
}

func thermometerFields(t devices.Thermometer) map[string]any {
	return map[string]any{"venue_id": t.VenueID, "type": t.Type, "manufacturer": t.Manufacturer, "model": t.Model,
		"serial": t.Serial, "location_note": t.LocationNote, "range_min_c": t.RangeMinC, "range_max_c": t.RangeMaxC,
		"tolerance_profile": t.ToleranceProfile, "mpe_c": t.MPEC, "mpe_override_c": t.MPEOverrideC,
		"mpe_override_reason": t.MPEOverrideReason, "modes": t.Modes, "institute_id": t.InstituteID,
		"status": t.Status, "calibration_interval_days": t.IntervalDays, "last_calibrated_at": t.LastCalibratedAt,
		"next_due_at": t.NextDueAt, "interval_policy.kind": t.IntervalPolicy.Kind,
		"interval_policy.min_days": t.IntervalPolicy.MinDays, "interval_policy.max_days": t.IntervalPolicy.MaxDays,
		"interval_policy.lengthen_factor": t.IntervalPolicy.LengthenFactor, "interval_policy.shorten_factor": t.IntervalPolicy.ShortenFactor}
}

// CreateThermometer implements devices.ThermometerStore.
func (s *Store) CreateThermometer(ctx context.Context, a devices.Actor, t *devices.Thermometer) error {
	return s.once(ctx, a, devices.ResourceThermometer, func(tx *gorm.DB) (outcome, error) {
		venue, err := s.writableVenue(tx, a, t.VenueID)
		if err != nil {
			return outcome{}, err
		}
		now := s.now()
		t.ID, t.OperatorOrgID, t.Version, t.CreatedAt, t.UpdatedAt, t.RetiredAt = newID(), venue.OperatorOrgID, 1, now, now, nil
		if err := newRefChecker(tx).resolveThermometer(t, s.now); err != nil {
			return outcome{}, err
		}
		row := fromThermometer(*t)
		if err := tx.Create(&row).Error; err != nil {
			return outcome{}, serialConflict(err)
		}
		if err := s.audit(tx, a, devices.ActionCreate, devices.ResourceThermometer, t.ID, created(thermometerFields(*t))); err != nil {
			return outcome{}, err
		}
		return outcome{id: t.ID}, s.deferIfDue(tx, t)
	})
}

// withVenueZone reads each thermometer with its venue's time zone, in
// which its due state is judged (a join on the venue's primary key).
func withVenueZone(q *gorm.DB) *gorm.DB {
	return q.Joins("JOIN venues AS tz_v ON tz_v.id = thermometers.venue_id").
		Select("thermometers.*, tz_v.time_zone AS venue_time_zone")
}

func serialConflict(err error) error {
	err = translate(err, "thermometer")
	if ce, ok := err.(*devices.ConflictError); ok && ce.Code == "duplicate" {
		return devices.Conflict("duplicate_serial", "a thermometer with this manufacturer, model and serial is already registered")
	}
	return err
}

func (s *Store) getThermometer(q *gorm.DB, a devices.Actor, id string) (thermometerRow, error) {
	return takeVisible[thermometerRow](q, thermometerScope(a), "thermometers", "thermometer", id)
}

// GetThermometer implements devices.ThermometerStore.
func (s *Store) GetThermometer(ctx context.Context, a devices.Actor, id string) (devices.Thermometer, error) {
	q := s.db.WithContext(ctx)
	row, err := s.getThermometer(q, a, id)
	if err != nil {
		return devices.Thermometer{}, err
	}
	t, err := row.toThermometer()
	if err != nil {
		return devices.Thermometer{}, err
	}
	zones, err := s.venueZones(q, row.VenueID)
	if err != nil {
		return devices.Thermometer{}, err
	}
	return s.withDueState(t, zones[row.VenueID]), nil
}

// ListThermometers implements devices.ThermometerStore.
func (s *Store) ListThermometers(ctx context.Context, a devices.Actor, f devices.ThermometerFilter, p devices.Page) ([]devices.Thermometer, string, error) {
	q := s.db.WithContext(ctx).Model(&thermometerRow{}).Scopes(thermometerScope(a))
	if f.VenueID != "" {
		q = q.Where("thermometers.venue_id = ?", f.VenueID)
	}
	if f.Type != "" {
		q = q.Where("thermometers.type = ?", string(f.Type))
	}
	switch {
	case f.Status != "":
		q = q.Where("thermometers.status = ?", string(f.Status))
	case !f.IncludeRetired:
		q = q.Where("thermometers.status <> ?", string(devices.StatusRetired))
	}
	if f.InstituteID != "" {
		q = q.Where("thermometers.institute_id = ?", f.InstituteID)
	}
	if f.OperatorID != "" {
		q = q.Where("thermometers.operator_org_id = ?", f.OperatorID)
	}
	if f.DueBefore != nil {
		q = q.Where("thermometers.next_due_at < ?", f.DueBefore.UTC())
	}
	q, err := pageQuery(q, "thermometers", &p, false)
	if err != nil {
		return nil, "", err
	}
	var rows []thermometerRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, "", translate(err, "thermometers")
	}
	rows, next := cutPage(rows, p.Limit, func(r thermometerRow) string { return r.ID })
	venues := make([]string, len(rows))
	for i, r := range rows {
		venues[i] = r.VenueID
	}
	zones, err := s.venueZones(s.db.WithContext(ctx), venues...)
	if err != nil {
		return nil, "", err
	}
	out := make([]devices.Thermometer, len(rows))
	for i, r := range rows {
		t, err := r.toThermometer()
		if err != nil {
			return nil, "", err
		}
		out[i] = s.withDueState(t, zones[r.VenueID])
	}
	return out, next, nil
}

// UpdateThermometer implements devices.ThermometerStore.
func (s *Store) UpdateThermometer(ctx context.Context, a devices.Actor, id string, version int, p devices.ThermometerPatch) (devices.Thermometer, error) {
	var out devices.Thermometer
	err := s.tx(ctx, func(tx *gorm.DB) error {
		// Locked: the ingest and the jobs change a thermometer too (its
		// status, its due date), and a change without a version must not
		// fail for one made between this read and the write.
		row, err := s.getThermometer(tx.Clauses(clause.Locking{Strength: lockNoKeyUpdate}), a, id)
		if err != nil {
			return err
		}
		if !a.CanWriteRegistry() {
			return devices.Forbidden("only the venue's operator changes its thermometers")
		}
		if version != devices.AnyVersion && row.Version != version {
			return fmt.Errorf("thermometer %s at version %d: %w", id, row.Version, devices.ErrPreconditionFailed)
		}
		t, err := row.toThermometer()
		if err != nil {
			return err
		}
		ch, err := t.Apply(p)
		if err != nil {
			return err
		}
		out = t
		if len(ch) == 0 {
			return nil
		}
		if _, moved := ch["venue_id"]; moved {
			if err := s.checkMoveTarget(tx, a, t.VenueID); err != nil {
				return err
			}
		}
		if err := newRefChecker(tx).resolveThermometer(&t, s.now); err != nil {
			return err
		}
		// The due date follows the last calibration and the interval; an
		// edit of anything else (or a move) keeps it, since a recorded
		// result may have set it to the venue's midnight.
		_, recal := ch["last_calibrated_at"]
		_, reint := ch["calibration_interval_days"]
		if !recal && !reint {
			t.NextDueAt = row.NextDueAt.UTC()
		} else {
			// A new due date: no deferral holds it until one is applied.
			t.DeferralID, t.NormalDueAt = nil, nil
		}
		t.Version++
		t.UpdatedAt = s.now()
		if err := saveVersioned(tx, fromThermometer(t), id, row.Version); err != nil {
			return serialConflict(err)
		}
		out = t
		if err := s.audit(tx, a, devices.ActionUpdate, devices.ResourceThermometer, id, ch); err != nil {
			return err
		}
		if recal || reint {
			return s.deferIfDue(tx, &out)
		}
		return nil
	})
	return out, err
}

// deferIfDue applies the active deferrals to a thermometer just written
// and, when one takes it, reflects the moved due date in t.
func (s *Store) deferIfDue(tx *gorm.DB, t *devices.Thermometer) error {
	var rep devices.DeferralReport
	if err := s.applyActive(tx, []string{t.ID}, &rep); err != nil || rep.Deferred == 0 {
		return err
	}
	var row thermometerRow
	if err := tx.Where("id = ?", t.ID).Take(&row).Error; err != nil {
		return err
	}
	t.NextDueAt, t.DeferralID, t.NormalDueAt, t.Version, t.UpdatedAt = row.NextDueAt.UTC(), row.DeferralID, utcPtr(row.NormalDueAt),
		row.Version, row.UpdatedAt.UTC()
	return nil
}

// checkMoveTarget checks the venue a device moves to: one of the actor's
// own live venues. Anything else reads as "no such venue".
func (s *Store) checkMoveTarget(tx *gorm.DB, a devices.Actor, venueID string) error {
	v, err := s.getVenue(tx, a, venueID)
	switch {
	case err == nil && v.Retired:
		return devices.Invalid("venue_id", "venue is retired")
	case err == nil:
		return nil
	case isNotFound(err):
		return devices.Invalid("venue_id", "no such venue")
	}
	return err
}

// RetireThermometer implements devices.ThermometerStore.
func (s *Store) RetireThermometer(ctx context.Context, a devices.Actor, id string, version int) (devices.Thermometer, error) {
	var out devices.Thermometer
	err := s.tx(ctx, func(tx *gorm.DB) error {
		row, err := s.getThermometer(tx.Clauses(clause.Locking{Strength: lockNoKeyUpdate}), a, id)
		if err != nil {
			return err
		}
		if !a.CanWriteRegistry() {
			return devices.Forbidden("only the venue's operator retires its thermometers")
		}
		t, err := row.toThermometer()
		if err != nil {
			return err
		}
		if t.Status == devices.StatusRetired {
			out = t
			return nil
		}
		if version != devices.AnyVersion && row.Version != version {
			return fmt.Errorf("thermometer %s at version %d: %w", id, row.Version, devices.ErrPreconditionFailed)
		}
		now := s.now()
		old := t.Status
		t.Status, t.RetiredAt, t.Version, t.UpdatedAt = devices.StatusRetired, &now, t.Version+1, now
		if err := saveVersioned(tx, fromThermometer(t), id, row.Version); err != nil {
			return err
		}
		out = t
		return s.audit(tx, a, devices.ActionRetire, devices.ResourceThermometer, id, devices.Changes{"status": {From: old, To: t.Status}})
	})
	return out, err
}
