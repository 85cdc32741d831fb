package store

import (
	"encoding/base64"
	"encoding/json"
	"fmt"

	"gorm.io/gorm"

	"github.com/calibd/calibd/devices"
)

// The visibility rules of DOMAIN.md §5 as WHERE clauses. Every read of a
// tenant-owned table goes through one of these scopes, so a query cannot
// forget them; writes first read the object through its scope.

// publicOrgKinds are listed in everyone's directory: a venue operator needs
// to find the institute and firm it assigns devices to.
var publicOrgKinds = []string{string(devices.KindRegulator), string(devices.KindMetrologyInstitute), string(devices.KindMaintenanceFirm)}

func orgScope(a devices.Actor) func(*gorm.DB) *gorm.DB {
	return func(q *gorm.DB) *gorm.DB {
		if a.IsRegulator() {
			return q
		}
		return q.Where("organizations.id = ? OR organizations.kind IN ?", a.OrgID, publicOrgKinds)
	}
}

func venueScope(a devices.Actor) func(*gorm.DB) *gorm.DB {
	return func(q *gorm.DB) *gorm.DB {
		switch a.OrgKind {
		case devices.KindRegulator:
			return q
		case devices.KindVenueOperator:
			return q.Where("venues.operator_org_id = ?", a.OrgID)
		case devices.KindMetrologyInstitute:
			return q.Where("EXISTS (SELECT 1 FROM thermometers st WHERE st.venue_id = venues.id AND st.institute_id = ?)", a.OrgID)
		case devices.KindMaintenanceFirm:
			return q.Where("EXISTS (SELECT 1 FROM elevators se WHERE se.venue_id = venues.id AND se.maintenance_firm_id = ?)", a.OrgID)
		}
		return q.Where("1 = 0")
	}
}

func thermometerScope(a devices.Actor) func(*gorm.DB) *gorm.DB {
	return func(q *gorm.DB) *gorm.DB {
		switch a.OrgKind {
		case devices.KindRegulator:
			return q
		case devices.KindVenueOperator:
			return q.Where("thermometers.operator_org_id = ?", a.OrgID)
		case devices.KindMetrologyInstitute:
			return q.Where("thermometers.institute_id = ?", a.OrgID)
		}
		return q.Where("1 = 0")
	}
}

func elevatorScope(a devices.Actor) func(*gorm.DB) *gorm.DB {
	return func(q *gorm.DB) *gorm.DB {
		switch a.OrgKind {
		case devices.KindRegulator:
			return q
		case devices.KindVenueOperator:
			return q.Where("elevators.operator_org_id = ?", a.OrgID)
		case devices.KindMaintenanceFirm:
			return q.Where("elevators.maintenance_firm_id = ?", a.OrgID)
		}
		return q.Where("1 = 0")
	}
}

func auditScope(a devices.Actor) func(*gorm.DB) *gorm.DB {
	return func(q *gorm.DB) *gorm.DB {
		if a.IsRegulator() {
			return q
		}
		return q.Where("audit_events.org_id = ?", a.OrgID)
	}
}

// Keyset pagination: a cursor is the opaque form of the last id of the
// previous page; the next page is "id > cursor ORDER BY id".

func encodeCursor(id string) string { return base64.RawURLEncoding.EncodeToString([]byte(id)) }

func decodeCursor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !devices.IsUUID(string(b)) {
		return "", devices.Invalid("cursor", "is not a cursor this API returned")
	}
	return string(b), nil
}

// pageQuery applies the cursor and limit (one extra row tells whether
// another page follows) in ascending or descending id order.
func pageQuery(q *gorm.DB, table string, p *devices.Page, desc bool) (*gorm.DB, error) {
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	after, err := decodeCursor(p.Cursor)
	if err != nil {
		return nil, err
	}
	op, order := ">", table+".id ASC"
	if desc {
		op, order = "<", table+".id DESC"
	}
	if after != "" {
		q = q.Where(fmt.Sprintf("%s.id %s ?", table, op), after)
	}
	return q.Order(order).Limit(p.Limit + 1), nil
}

// cutPage trims the extra row and returns the next cursor.
func cutPage[T any](rows []T, limit int, id func(T) string) ([]T, string) {
	if len(rows) <= limit {
		return rows, ""
	}
	rows = rows[:limit]
	return rows, encodeCursor(id(rows[limit-1]))
}

// audit appends an event inside the caller's transaction.
func (s *Store) audit(tx *gorm.DB, a devices.Actor, action, resource, id string, ch devices.Changes) error {
	return tx.Create(s.auditRow(a, action, resource, id, ch)).Error
}

func (s *Store) auditRow(a devices.Actor, action, resource, id string, ch devices.Changes) *auditRow {
	if ch == nil {
		ch = devices.Changes{}
	}
	b, err := json.Marshal(ch)
	if err != nil {
		b = []byte(`{"error":"unencodable changes"}`)
	}
	return &auditRow{ID: newID(), At: s.now(), OrgID: strPtr(a.OrgID), TokenID: strPtr(a.TokenID),
		Action: action, Resource: resource, ResourceID: id, Changes: string(b)}
}

// created records every field of a new object as a change from nothing.
func created(fields map[string]any) devices.Changes {
	c := make(devices.Changes, len(fields))
	for k, v := range fields {
		c[k] = devices.Change{To: v}
	}
	return c
}

// takeVisible reads row id of table through the actor's scope; a row the
// actor may not see, or an id that is not a UUID, is ErrNotFound, named
// what (existence is never revealed).
func takeVisible[R any](q *gorm.DB, scope func(*gorm.DB) *gorm.DB, table, what, id string) (R, error) {
	var row R
	if !devices.IsUUID(id) {
		return row, fmt.Errorf("%s %q: %w", what, id, devices.ErrNotFound)
	}
	err := q.Scopes(scope).Where(table+".id = ?", id).Take(&row).Error
	return row, translate(err, what)
}
