package store

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/calibd/calibd/devices"
)

// CreateOrganization implements devices.OrganizationStore.
func (s *Store) CreateOrganization(ctx context.Context, a devices.Actor, o *devices.Organization) error {
	if !a.CanManageOrganizations() {
		return devices.Forbidden("only a regulator admin creates organizations")
	}
	if err := o.Validate(); err != nil {
		return err
	}
	now := s.now()
	o.ID, o.Version, o.CreatedAt, o.UpdatedAt, o.Retired, o.RetiredAt = newID(), 1, now, now, false, nil
	row := fromOrg(*o)
	return s.once(ctx, a, devices.ResourceOrganization, func(tx *gorm.DB) (outcome, error) {
		if err := tx.Create(&row).Error; err != nil {
			return outcome{}, translate(err, "organization")
		}
		return outcome{id: o.ID}, s.audit(tx, a, devices.ActionCreate, devices.ResourceOrganization, o.ID, created(map[string]any{
			"name": o.Name, "kind": o.Kind, "region_code": o.RegionCode, "contact_email": o.ContactEmail,
		}))
	})
}

func (s *Store) getOrg(q *gorm.DB, a devices.Actor, id string) (orgRow, error) {
	return takeVisible[orgRow](q, orgScope(a), "organizations", "organization", id)
}

// GetOrganization implements devices.OrganizationStore.
func (s *Store) GetOrganization(ctx context.Context, a devices.Actor, id string) (devices.Organization, error) {
	row, err := s.getOrg(s.db.WithContext(ctx), a, id)
	if err != nil {
		return devices.Organization{}, err
	}
	return row.toOrg(), nil
}

// ListOrganizations implements devices.OrganizationStore.
func (s *Store) ListOrganizations(ctx context.Context, a devices.Actor, f devices.OrganizationFilter, p devices.Page) ([]devices.Organization, string, error) {
	q := s.db.WithContext(ctx).Scopes(orgScope(a))
	if f.Kind != "" {
		q = q.Where("organizations.kind = ?", string(f.Kind))
	}
	q, err := pageQuery(q, "organizations", &p, false)
	if err != nil {
		return nil, "", err
	}
	var rows []orgRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, "", translate(err, "organizations")
	}
	rows, next := cutPage(rows, p.Limit, func(r orgRow) string { return r.ID })
	out := make([]devices.Organization, len(rows))
	for i, r := range rows {
		out[i] = r.toOrg()
	}
	return out, next, nil
}

// UpdateOrganization implements devices.OrganizationStore.
func (s *Store) UpdateOrganization(ctx context.Context, a devices.Actor, id string, version int, p devices.OrganizationPatch) (devices.Organization, error) {
	var out devices.Organization
	err := s.tx(ctx, func(tx *gorm.DB) error {
		row, err := s.getOrg(tx, a, id)
		if err != nil {
			return err
		}
		if !a.CanEditOrganization(id) {
			return devices.Forbidden("only a regulator admin or the organization's own admin changes it")
		}
		if row.Retired {
			return devices.Conflict("retired", "organization %s is retired", id)
		}
		if version != devices.AnyVersion && row.Version != version {
			return fmt.Errorf("organization %s at version %d: %w", id, row.Version, devices.ErrPreconditionFailed)
		}
		o := row.toOrg()
		ch := o.Apply(p)
		if err := o.Validate(); err != nil {
			return err
		}
		if len(ch) == 0 {
			out = o
			return nil
		}
		o.Version++
		o.UpdatedAt = s.now()
		if err := saveVersioned(tx, fromOrg(o), id, row.Version); err != nil {
			return err
		}
		out = o
		return s.audit(tx, a, devices.ActionUpdate, devices.ResourceOrganization, id, ch)
	})
	return out, err
}

// RetireOrganization implements devices.OrganizationStore.
func (s *Store) RetireOrganization(ctx context.Context, a devices.Actor, id string, version int) (devices.Organization, error) {
	var out devices.Organization
	err := s.tx(ctx, func(tx *gorm.DB) error {
		row, err := s.getOrg(tx, a, id)
		if err != nil {
			return err
		}
		if !a.CanManageOrganizations() {
			return devices.Forbidden("only a regulator admin retires organizations")
		}
		o := row.toOrg()
		if o.Retired {
			out = o
			return nil
		}
		if version != devices.AnyVersion && row.Version != version {
			return fmt.Errorf("organization %s at version %d: %w", id, row.Version, devices.ErrPreconditionFailed)
		}
		if a.OrgID == id {
			return devices.Conflict("self_retire", "an organization cannot retire itself")
		}
		now := s.now()
		o.Retired, o.RetiredAt, o.Version, o.UpdatedAt = true, &now, o.Version+1, now
		if err := saveVersioned(tx, fromOrg(o), id, row.Version); err != nil {
			return err
		}
		out = o
		return s.audit(tx, a, devices.ActionRetire, devices.ResourceOrganization, id, devices.Changes{"retired": {From: false, To: true}})
	})
	return out, err
}

// saveVersioned writes every column of row where its id and version still
// match, so a concurrent writer that got there first makes this one fail
// instead of being overwritten. SkipHooks keeps gorm from replacing
// updated_at with its own wall-clock time: the row carries the store
// clock's.
func saveVersioned[T any](tx *gorm.DB, row T, id string, version int) error {
	res := tx.Session(&gorm.Session{SkipHooks: true}).Model(&row).Select("*").Where("id = ? AND version = ?", id, version).Updates(&row)
	if res.Error != nil {
		return translate(res.Error, "object")
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("object %s changed concurrently: %w", id, devices.ErrPreconditionFailed)
	}
	return nil
}

// orgOfKind checks that id names a live organization of kind, for fields
// that assign work to one. A non-empty reason is a field error, not
// ErrNotFound: the directory of institutes and firms is public.
func orgOfKind(tx *gorm.DB, id string, kind devices.OrgKind) (reason string, err error) {
	if !devices.IsUUID(id) {
		return "must be a UUID", nil
	}
	var row orgRow
	err = tx.Where("id = ?", id).Take(&row).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return "no such organization", nil
	case err != nil:
		return "", err
	case row.Kind != string(kind):
		return fmt.Sprintf("is a %s, not a %s", row.Kind, kind), nil
	case row.Retired:
		return "organization is retired", nil
	}
	return "", nil
}
