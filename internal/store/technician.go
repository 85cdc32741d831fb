package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/calibd/calibd/devices"
)

var _ devices.TechnicianStore = (*Store)(nil)

type technicianRow struct {
	ID          string
	InstituteID string
	Name        string
	Email       string
	Phone       string
	RetiredAt   *time.Time
	Version     int
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (technicianRow) TableName() string { return "technicians" }

func fromTechnician(t devices.Technician) technicianRow {
	return technicianRow{ID: t.ID, InstituteID: t.InstituteID, Name: t.Name, Email: t.Email, Phone: t.Phone,
		RetiredAt: utcPtr(t.RetiredAt), Version: t.Version, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

func (r technicianRow) toTechnician() devices.Technician {
	return devices.Technician{ID: r.ID, InstituteID: r.InstituteID, Name: r.Name, Email: r.Email, Phone: r.Phone,
		RetiredAt: utcPtr(r.RetiredAt), Version: r.Version, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

type visitTechnicianRow struct {
	VisitID      string
	TechnicianID string
}

func (visitTechnicianRow) TableName() string { return "visit_technicians" }

// technicianScope: an institute sees its own technicians, the regulator
// every one; venue operators and maintenance firms none (a visit shows its
// technicians' names to the venue's operator).
func technicianScope(a devices.Actor) func(*gorm.DB) *gorm.DB {
	return func(q *gorm.DB) *gorm.DB {
		switch a.OrgKind {
		case devices.KindRegulator:
			return q
		case devices.KindMetrologyInstitute:
			return q.Where("technicians.institute_id = ?", a.OrgID)
		}
		return q.Where("1 = 0")
	}
}

// openVisitStates are the states in which a visit's technicians may still
// change and still have work to do.
var openVisitStates = []string{string(devices.VisitPlanned), string(devices.VisitConfirmed), string(devices.VisitInProgress)}

// CreateTechnician implements devices.TechnicianStore: any token of a
// metrology institute registers a technician of its own.
func (s *Store) CreateTechnician(ctx context.Context, a devices.Actor, t *devices.Technician) error {
	if a.OrgKind != devices.KindMetrologyInstitute {
		return devices.Forbidden("only a metrology institute registers its technicians")
	}
	if err := t.Validate(); err != nil {
		return err
	}
	now := s.now()
	t.ID, t.InstituteID, t.Version, t.CreatedAt, t.UpdatedAt, t.RetiredAt = newID(), a.OrgID, 1, now, now, nil
	row := fromTechnician(*t)
	return s.once(ctx, a, devices.ResourceTechnician, func(tx *gorm.DB) (outcome, error) {
		if err := tx.Create(&row).Error; err != nil {
			return outcome{}, translate(err, "technician")
		}
		return outcome{id: t.ID}, s.audit(tx, a, devices.ActionCreate, devices.ResourceTechnician, t.ID, created(map[string]any{
			"institute_id": t.InstituteID, "name": t.Name, "email": t.Email, "phone": t.Phone}))
	})
}

func (s *Store) getTechnician(q *gorm.DB, a devices.Actor, id string) (technicianRow, error) {
	return takeVisible[technicianRow](q, technicianScope(a), "technicians", "technician", id)
}

// GetTechnician implements devices.TechnicianStore.
func (s *Store) GetTechnician(ctx context.Context, a devices.Actor, id string) (devices.Technician, error) {
	row, err := s.getTechnician(s.db.WithContext(ctx), a, id)
	if err != nil {
		return devices.Technician{}, err
	}
	return row.toTechnician(), nil
}

// ListTechnicians implements devices.TechnicianStore: in registration
// order, retired technicians only when asked.
func (s *Store) ListTechnicians(ctx context.Context, a devices.Actor, f devices.TechnicianFilter, p devices.Page) ([]devices.Technician, string, error) {
	q := s.db.WithContext(ctx).Model(&technicianRow{}).Scopes(technicianScope(a))
	if f.InstituteID != "" {
		q = q.Where("technicians.institute_id = ?", f.InstituteID)
	}
	if !f.IncludeRetired {
		q = q.Where("technicians.retired_at IS NULL")
	}
	q, err := pageQuery(q, "technicians", &p, false)
	if err != nil {
		return nil, "", err
	}
	var rows []technicianRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, "", translate(err, "technicians")
	}
	rows, next := cutPage(rows, p.Limit, func(r technicianRow) string { return r.ID })
	out := make([]devices.Technician, len(rows))
	for i, r := range rows {
		out[i] = r.toTechnician()
	}
	return out, next, nil
}

// ownTechnician reads a technician the actor may change: ErrNotFound when
// invisible, ErrForbidden when visible (the regulator) but not its
// institute's, ErrPreconditionFailed when version is stale.
func (s *Store) ownTechnician(tx *gorm.DB, a devices.Actor, id string, version int) (technicianRow, error) {
	row, err := s.getTechnician(tx, a, id)
	if err != nil {
		return row, err
	}
	if a.OrgID != row.InstituteID {
		return row, devices.Forbidden("only the technician's institute changes it")
	}
	if version != devices.AnyVersion && row.Version != version {
		return row, fmt.Errorf("technician %s at version %d: %w", id, row.Version, devices.ErrPreconditionFailed)
	}
	return row, nil
}

// UpdateTechnician implements devices.TechnicianStore.
func (s *Store) UpdateTechnician(ctx context.Context, a devices.Actor, id string, version int, p devices.TechnicianPatch) (devices.Technician, error) {
	var out devices.Technician
	err := s.tx(ctx, func(tx *gorm.DB) error {
		row, err := s.ownTechnician(tx, a, id, version)
		if err != nil {
			return err
		}
		if row.RetiredAt != nil {
			return devices.Conflict("retired", "technician %s is retired", id)
		}
		t := row.toTechnician()
		ch := t.Apply(p)
		if err := t.Validate(); err != nil {
			return err
		}
		out = t
		if len(ch) == 0 {
			return nil
		}
		t.Version++
		t.UpdatedAt = s.now()
		if err := saveVersioned(tx, fromTechnician(t), id, row.Version); err != nil {
			return err
		}
		out = t
		return s.audit(tx, a, devices.ActionUpdate, devices.ResourceTechnician, id, ch)
	})
	return out, err
}

// RetireTechnician implements devices.TechnicianStore. The row is written
// before the open visits are counted: an assignment running at the same
// time either waits for this (and then sees the technician retired) or is
// counted here.
func (s *Store) RetireTechnician(ctx context.Context, a devices.Actor, id string, version int) (devices.Technician, error) {
	var out devices.Technician
	err := s.tx(ctx, func(tx *gorm.DB) error {
		row, err := s.ownTechnician(tx, a, id, version)
		if err != nil {
			return err
		}
		t := row.toTechnician()
		out = t
		if t.Retired() {
			return nil
		}
		now := s.now()
		t.RetiredAt, t.Version, t.UpdatedAt = &now, t.Version+1, now
		if err := saveVersioned(tx, fromTechnician(t), id, row.Version); err != nil {
			return err
		}
		var open int64
		if err := tx.Model(&visitTechnicianRow{}).
			Joins("JOIN visits ON visits.id = visit_technicians.visit_id").
			Where("visit_technicians.technician_id = ? AND visits.state IN ?", id, openVisitStates).
			Count(&open).Error; err != nil {
			return err
		}
		if open > 0 {
			return devices.Conflict("technician_in_use",
				"technician %s is assigned to %d visits that are not completed or cancelled; assign others to them first", id, open)
		}
		out = t
		return s.audit(tx, a, devices.ActionRetire, devices.ResourceTechnician, id, devices.Changes{"retired_at": {To: now}})
	})
	return out, err
}

// visitTechnicians returns the technicians of each visit, by name.
func visitTechnicians(q *gorm.DB, visitIDs []string) (map[string][]devices.VisitTechnician, error) {
	out := map[string][]devices.VisitTechnician{}
	if len(visitIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		VisitID string
		ID      string
		Name    string
	}
	err := q.Table("visit_technicians AS vt").Select("vt.visit_id, t.id, t.name").
		Joins("JOIN technicians t ON t.id = vt.technician_id").
		Where("vt.visit_id IN ?", visitIDs).Order("t.name, t.id").Find(&rows).Error
	for _, r := range rows {
		out[r.VisitID] = append(out[r.VisitID], devices.VisitTechnician{ID: r.ID, Name: r.Name})
	}
	return out, err
}

// AssignTechnicians implements devices.TechnicianStore: only the visit's
// institute (any role) assigns; the venue's operator and the regulator see
// the visit and get ErrForbidden. Sending the set the visit already has
// changes nothing.
func (s *Store) AssignTechnicians(ctx context.Context, a devices.Actor, visitID string, version int, ids []string) (devices.Visit, error) {
	ids = slices.Clone(ids)
	var out devices.Visit
	err := s.tx(ctx, func(tx *gorm.DB) error {
		row, err := s.getVisit(tx, a, visitID)
		if err != nil {
			return err
		}
		if a.OrgID != row.InstituteID {
			return devices.Forbidden("only the visit's institute assigns its technicians")
		}
		if version != devices.AnyVersion && version != row.Version {
			return fmt.Errorf("visit %s at version %d: %w", row.ID, row.Version, devices.ErrPreconditionFailed)
		}
		if !slices.Contains(openVisitStates, row.State) {
			return devices.Conflict("invalid_transition", "a %s visit's technicians cannot change; only a planned, confirmed or in_progress one's can", row.State)
		}
		if err := devices.CheckTechnicianIDs(ids); err != nil {
			return err
		}
		var current []string
		if err := tx.Model(&visitTechnicianRow{}).Where("visit_id = ?", row.ID).Order("technician_id").
			Pluck("technician_id", &current).Error; err != nil {
			return err
		}
		if sameSet(current, ids) {
			out, err = s.visitOf(tx, row)
			return err
		}
		// The visit first: a concurrent assignment waits here, then finds
		// the version moved.
		now := s.now()
		if err := updateAt(tx, &visitRow{}, row.ID, row.Version, map[string]any{"version": row.Version + 1, "updated_at": now}); err != nil {
			return fmt.Errorf("visit %s: %w", row.ID, err)
		}
		if err := checkAssignable(tx, row.InstituteID, ids); err != nil {
			return err
		}
		if err := tx.Where("visit_id = ?", row.ID).Delete(&visitTechnicianRow{}).Error; err != nil {
			return err
		}
		if len(ids) > 0 {
			links := make([]visitTechnicianRow, len(ids))
			for i, id := range ids {
				links[i] = visitTechnicianRow{VisitID: row.ID, TechnicianID: id}
			}
			if err := tx.Create(&links).Error; err != nil {
				return translate(err, "visit technician")
			}
		}
		sorted := slices.Sorted(slices.Values(ids))
		if err := s.audit(tx, a, devices.ActionUpdate, ResourceVisit, row.ID, devices.Changes{
			"technician_ids": {From: append([]string{}, current...), To: sorted}}); err != nil {
			return err
		}
		row.Version, row.UpdatedAt = row.Version+1, now
		out, err = s.visitOf(tx, row)
		return err
	})
	return out, err
}

// checkAssignable reports every id that is not an active technician of
// instituteID as technician_ids[i]. The rows are share-locked, so a
// retirement running at the same time waits for the assignment (and then
// finds the technician in use) or is seen here.
func checkAssignable(tx *gorm.DB, instituteID string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	var rows []technicianRow
	if err := tx.Clauses(clause.Locking{Strength: lockShare}).
		Where("id IN ? AND institute_id = ?", ids, instituteID).Find(&rows).Error; err != nil {
		return err
	}
	byID := make(map[string]technicianRow, len(rows))
	for _, r := range rows {
		byID[r.ID] = r
	}
	var p devices.Problems
	for i, id := range ids {
		f := "technician_ids[" + strconv.Itoa(i) + "]"
		switch r, ok := byID[id]; {
		case !ok:
			p.Add(f, "is not a technician of the visit's institute")
		case r.RetiredAt != nil:
			p.Add(f, "is retired")
		}
	}
	return p.Err()
}
