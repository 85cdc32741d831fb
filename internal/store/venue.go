package store

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/calibd/calibd/devices"
)

// CreateVenue implements devices.VenueStore.
func (s *Store) CreateVenue(ctx context.Context, a devices.Actor, v *devices.Venue) error {
	if !a.CanWriteRegistry() {
		return devices.Forbidden("only venue operators register venues")
	}
	if err := v.Validate(); err != nil {
		return err
	}
	now := s.now()
	v.ID, v.OperatorOrgID, v.Version, v.CreatedAt, v.UpdatedAt, v.Retired, v.RetiredAt = newID(), a.OrgID, 1, now, now, false, nil
	row := fromVenue(*v)
	return s.once(ctx, a, devices.ResourceVenue, func(tx *gorm.DB) (outcome, error) {
		if err := tx.Create(&row).Error; err != nil {
			return outcome{}, translate(err, "venue")
		}
		return outcome{id: v.ID}, s.audit(tx, a, devices.ActionCreate, devices.ResourceVenue, v.ID, created(venueFields(*v)))
	})
}

func venueFields(v devices.Venue) map[string]any {
	return map[string]any{"name": v.Name, "kind": v.Kind, "address": v.Address, "region_code": v.RegionCode,
		"lat": v.Lat, "lon": v.Lon, "time_zone": v.TimeZone, "operator_org_id": v.OperatorOrgID,
		"contact.name": v.Contact.Name, "contact.phone": v.Contact.Phone, "contact.email": v.Contact.Email}
}

func (s *Store) getVenue(q *gorm.DB, a devices.Actor, id string) (venueRow, error) {
	return takeVisible[venueRow](q, venueScope(a), "venues", "venue", id)
}

// GetVenue implements devices.VenueStore.
func (s *Store) GetVenue(ctx context.Context, a devices.Actor, id string) (devices.Venue, error) {
	row, err := s.getVenue(s.db.WithContext(ctx), a, id)
	if err != nil {
		return devices.Venue{}, err
	}
	return row.toVenue(), nil
}

// ListVenues implements devices.VenueStore.
func (s *Store) ListVenues(ctx context.Context, a devices.Actor, f devices.VenueFilter, p devices.Page) ([]devices.Venue, string, error) {
	q := s.db.WithContext(ctx).Model(&venueRow{}).Scopes(venueScope(a))
	if f.Kind != "" {
		q = q.Where("venues.kind = ?", string(f.Kind))
	}
	if f.RegionCode != "" {
		q = q.Where("venues.region_code = ?", f.RegionCode)
	}
	if f.OperatorOrgID != "" {
		q = q.Where("venues.operator_org_id = ?", f.OperatorOrgID)
	}
	if !f.IncludeRetired {
		q = q.Where("venues.retired = ?", false)
	}
	q, err := pageQuery(q, "venues", &p, false)
	if err != nil {
		return nil, "", err
	}
	var rows []venueRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, "", translate(err, "venues")
	}
	rows, next := cutPage(rows, p.Limit, func(r venueRow) string { return r.ID })
	out := make([]devices.Venue, len(rows))
	for i, r := range rows {
		out[i] = r.toVenue()
	}
	return out, next, nil
}

// writableVenue reads a venue the actor may change: ErrNotFound when it is
// invisible, ErrForbidden when it is visible but read-only, a conflict when
// it is retired.
func (s *Store) writableVenue(tx *gorm.DB, a devices.Actor, id string) (venueRow, error) {
	row, err := s.getVenue(tx, a, id)
	if err != nil {
		return row, err
	}
	if !a.CanWriteRegistry() {
		return row, devices.Forbidden("only the venue's operator changes it or its devices")
	}
	if row.Retired {
		return row, devices.Conflict("retired", "venue %s is retired", id)
	}
	return row, nil
}

// UpdateVenue implements devices.VenueStore.
func (s *Store) UpdateVenue(ctx context.Context, a devices.Actor, id string, version int, p devices.VenuePatch) (devices.Venue, error) {
	var out devices.Venue
	err := s.tx(ctx, func(tx *gorm.DB) error {
		row, err := s.writableVenue(tx, a, id)
		if err != nil {
			return err
		}
		if version != devices.AnyVersion && row.Version != version {
			return fmt.Errorf("venue %s at version %d: %w", id, row.Version, devices.ErrPreconditionFailed)
		}
		v := row.toVenue()
		ch := v.Apply(p)
		if err := v.Validate(); err != nil {
			return err
		}
		out = v
		if len(ch) == 0 {
			return nil
		}
		v.Version++
		v.UpdatedAt = s.now()
		if err := saveVersioned(tx, fromVenue(v), id, row.Version); err != nil {
			return err
		}
		out = v
		return s.audit(tx, a, devices.ActionUpdate, devices.ResourceVenue, id, ch)
	})
	if err == nil {
		s.venueZone.Delete(out.ID)
	}
	return out, err
}

// RetireVenue implements devices.VenueStore.
func (s *Store) RetireVenue(ctx context.Context, a devices.Actor, id string, version int) (devices.Venue, error) {
	var out devices.Venue
	err := s.tx(ctx, func(tx *gorm.DB) error {
		row, err := s.getVenue(tx, a, id)
		if err != nil {
			return err
		}
		if !a.CanWriteRegistry() {
			return devices.Forbidden("only the venue's operator retires it")
		}
		v := row.toVenue()
		if v.Retired {
			out = v
			return nil
		}
		if version != devices.AnyVersion && row.Version != version {
			return fmt.Errorf("venue %s at version %d: %w", id, row.Version, devices.ErrPreconditionFailed)
		}
		var nt, ne int64
		if err := tx.Model(&thermometerRow{}).Where("venue_id = ? AND status <> ?", id, devices.StatusRetired).Count(&nt).Error; err != nil {
			return err
		}
		if err := tx.Model(&elevatorRow{}).Where("venue_id = ? AND status <> ?", id, devices.ElevatorRetired).Count(&ne).Error; err != nil {
			return err
		}
		if nt+ne > 0 {
			return devices.Conflict("venue_in_use", "venue %s still has %d thermometers and %d elevators that are not retired; retire or move them first", id, nt, ne)
		}
		now := s.now()
		v.Retired, v.RetiredAt, v.Version, v.UpdatedAt = true, &now, v.Version+1, now
		if err := saveVersioned(tx, fromVenue(v), id, row.Version); err != nil {
			return err
		}
		out = v
		return s.audit(tx, a, devices.ActionRetire, devices.ResourceVenue, id, devices.Changes{"retired": {From: false, To: true}})
	})
	return out, err
}
