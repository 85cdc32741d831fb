package store

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/calibd/calibd/devices"
)

func (c *refChecker) resolveElevator(e *devices.Elevator, now devices.Clock) error {
	var pr devices.Problems
	pr.Merge(e.Validate(now()))
	if e.MaintenanceFirmID != nil && devices.IsUUID(*e.MaintenanceFirmID) {
		reason, err := c.org(*e.MaintenanceFirmID, devices.KindMaintenanceFirm)
		if err != nil {
			return err
		}
		if reason != "" {
			pr.Add("maintenance_firm_id", reason)
		}
	}
	return pr.Err()
}

func elevatorFields(e devices.Elevator) map[string]any {
	var cd any
	if e.CommissioningDate != nil {
		cd = e.CommissioningDate.Format(devices.DateLayout)
	}
	return map[string]any{"registration_code": e.RegistrationCode, "venue_id": e.VenueID,
		"maintenance_firm_id": e.MaintenanceFirmID, "manufacturer": e.Manufacturer, "model": e.Model,
		"commissioning_date": cd, "status": e.Status}
}

func registrationConflict(err error) error {
	err = translate(err, "elevator")
	if ce, ok := err.(*devices.ConflictError); ok && ce.Code == "duplicate" {
		return devices.Conflict("duplicate_registration_code", "an elevator with this registration code is already registered")
	}
	return err
}

// CreateElevator implements devices.ElevatorStore.
func (s *Store) CreateElevator(ctx context.Context, a devices.Actor, e *devices.Elevator) error {
	return s.once(ctx, a, devices.ResourceElevator, func(tx *gorm.DB) (outcome, error) {
		venue, err := s.writableVenue(tx, a, e.VenueID)
		if err != nil {
			return outcome{}, err
		}
		now := s.now()
		e.ID, e.OperatorOrgID, e.Version, e.CreatedAt, e.UpdatedAt, e.RetiredAt = newID(), venue.OperatorOrgID, 1, now, now, nil
		if err := newRefChecker(tx).resolveElevator(e, s.now); err != nil {
			return outcome{}, err
		}
		row := fromElevator(*e)
		if err := tx.Create(&row).Error; err != nil {
			return outcome{}, registrationConflict(err)
		}
		return outcome{id: e.ID}, s.audit(tx, a, devices.ActionCreate, devices.ResourceElevator, e.ID, created(elevatorFields(*e)))
	})
}

func (s *Store) getElevator(q *gorm.DB, a devices.Actor, id string) (elevatorRow, error) {
	return takeVisible[elevatorRow](q, elevatorScope(a), "elevators", "elevator", id)
}

// GetElevator implements devices.ElevatorStore.
func (s *Store) GetElevator(ctx context.Context, a devices.Actor, id string) (devices.Elevator, error) {
	row, err := s.getElevator(s.db.WithContext(ctx), a, id)
	if err != nil {
		return devices.Elevator{}, err
	}
	return row.toElevator(), nil
}

// ListElevators implements devices.ElevatorStore.
func (s *Store) ListElevators(ctx context.Context, a devices.Actor, f devices.ElevatorFilter, p devices.Page) ([]devices.Elevator, string, error) {
	q := s.db.WithContext(ctx).Model(&elevatorRow{}).Scopes(elevatorScope(a))
	if f.VenueID != "" {
		q = q.Where("elevators.venue_id = ?", f.VenueID)
	}
	switch {
	case f.Status != "":
		q = q.Where("elevators.status = ?", string(f.Status))
	case !f.IncludeRetired:
		q = q.Where("elevators.status <> ?", string(devices.ElevatorRetired))
	}
	if f.MaintenanceFirmID != "" {
		q = q.Where("elevators.maintenance_firm_id = ?", f.MaintenanceFirmID)
	}
	if f.OperatorID != "" {
		q = q.Where("elevators.operator_org_id = ?", f.OperatorID)
	}
	q, err := pageQuery(q, "elevators", &p, false)
	if err != nil {
		return nil, "", err
	}
	var rows []elevatorRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, "", translate(err, "elevators")
	}
	rows, next := cutPage(rows, p.Limit, func(r elevatorRow) string { return r.ID })
	out := make([]devices.Elevator, len(rows))
	for i, r := range rows {
		out[i] = r.toElevator()
	}
	return out, next, nil
}

// UpdateElevator implements devices.ElevatorStore.
func (s *Store) UpdateElevator(ctx context.Context, a devices.Actor, id string, version int, p devices.ElevatorPatch) (devices.Elevator, error) {
	var out devices.Elevator
	err := s.tx(ctx, func(tx *gorm.DB) error {
		row, err := s.getElevator(tx, a, id)
		if err != nil {
			return err
		}
		if !a.CanWriteRegistry() {
			return devices.Forbidden("only the venue's operator changes its elevators")
		}
		if version != devices.AnyVersion && row.Version != version {
			return fmt.Errorf("elevator %s at version %d: %w", id, row.Version, devices.ErrPreconditionFailed)
		}
		e := row.toElevator()
		ch, err := e.Apply(p)
		if err != nil {
			return err
		}
		out = e
		if len(ch) == 0 {
			return nil
		}
		if _, moved := ch["venue_id"]; moved {
			if err := s.checkMoveTarget(tx, a, e.VenueID); err != nil {
				return err
			}
		}
		if err := newRefChecker(tx).resolveElevator(&e, s.now); err != nil {
			return err
		}
		e.Version++
		e.UpdatedAt = s.now()
		if err := saveVersioned(tx, fromElevator(e), id, row.Version); err != nil {
			return registrationConflict(err)
		}
		out = e
		return s.audit(tx, a, devices.ActionUpdate, devices.ResourceElevator, id, ch)
	})
	return out, err
}

// RetireElevator implements devices.ElevatorStore.
func (s *Store) RetireElevator(ctx context.Context, a devices.Actor, id string, version int) (devices.Elevator, error) {
	var out devices.Elevator
	err := s.tx(ctx, func(tx *gorm.DB) error {
		row, err := s.getElevator(tx, a, id)
		if err != nil {
			return err
		}
		if !a.CanWriteRegistry() {
			return devices.Forbidden("only the venue's operator retires its elevators")
		}
		e := row.toElevator()
		if e.Status == devices.ElevatorRetired {
			out = e
			return nil
		}
		if version != devices.AnyVersion && row.Version != version {
			return fmt.Errorf("elevator %s at version %d: %w", id, row.Version, devices.ErrPreconditionFailed)
		}
		now := s.now()
		old := e.Status
		e.Status, e.RetiredAt, e.Version, e.UpdatedAt = devices.ElevatorRetired, &now, e.Version+1, now
		if err := saveVersioned(tx, fromElevator(e), id, row.Version); err != nil {
			return err
		}
		out = e
		return s.audit(tx, a, devices.ActionRetire, devices.ResourceElevator, id, devices.Changes{"status": {From: old, To: e.Status}})
	})
	return out, err
}
