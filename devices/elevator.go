package devices

import (
	"slices"
	"strings"
	"time"
)

// ElevatorStatus is whether a lift carries passengers.
type ElevatorStatus string

// Elevator statuses.
const (
	ElevatorInService    ElevatorStatus = "in_service"
	ElevatorOutOfService ElevatorStatus = "out_of_service"
	ElevatorUnderRepair  ElevatorStatus = "under_repair"
	ElevatorRetired      ElevatorStatus = "retired"
)

// ElevatorStatuses lists every status.
var ElevatorStatuses = []ElevatorStatus{ElevatorInService, ElevatorOutOfService, ElevatorUnderRepair, ElevatorRetired}

// Valid reports whether s is a known status.
func (s ElevatorStatus) Valid() bool { return slices.Contains(ElevatorStatuses, s) }

// DateLayout is how calendar dates (no time of day) are written.
const DateLayout = "2006-01-02"

// Elevator is one registered lift in a venue.
type Elevator struct {
	ID                string
	RegistrationCode  string
	VenueID           string
	OperatorOrgID     string
	MaintenanceFirmID *string
	Manufacturer      string
	Model             string
	CommissioningDate *time.Time // a date: midnight UTC
	Status            ElevatorStatus
	Version           int
	CreatedAt         time.Time
	UpdatedAt         time.Time
	RetiredAt         *time.Time
}

// Validate checks every caller-supplied field; now bounds the
// commissioning date.
func (e *Elevator) Validate(now time.Time) error {
	var p Problems
	e.RegistrationCode = strings.ToUpper(strings.TrimSpace(e.RegistrationCode))
	e.Manufacturer = strings.TrimSpace(e.Manufacturer)
	e.Model = strings.TrimSpace(e.Model)
	checkText(&p, "registration_code", e.RegistrationCode, true, 40)
	for _, r := range e.RegistrationCode {
		if !((r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') || r == '-' || r == '/') {
			p.Add("registration_code", "may contain only letters, digits, '-' and '/'")
			break
		}
	}
	checkText(&p, "manufacturer", e.Manufacturer, true, 100)
	checkText(&p, "model", e.Model, false, 100)
	if e.MaintenanceFirmID != nil {
		checkID(&p, "maintenance_firm_id", *e.MaintenanceFirmID)
	}
	if e.CommissioningDate != nil {
		d := e.CommissioningDate.UTC().Truncate(24 * time.Hour)
		e.CommissioningDate = &d
		if d.After(now) {
			p.Add("commissioning_date", "must not be in the future")
		} else if d.Year() < 1900 {
			p.Add("commissioning_date", "must be after 1900")
		}
	}
	if e.Status == "" {
		e.Status = ElevatorInService
	}
	switch {
	case !e.Status.Valid():
		p.Addf("status", "must be one of %s", joinKinds(ElevatorStatuses))
	case e.Status == ElevatorRetired && e.RetiredAt == nil:
		p.Add("status", "retire an elevator with its retire action, not by setting the status")
	}
	return p.Err()
}

// ElevatorPatch holds the fields an update may change; nil means keep.
type ElevatorPatch struct {
	RegistrationCode  *string
	VenueID           *string
	MaintenanceFirmID **string
	Manufacturer      *string
	Model             *string
	CommissioningDate **time.Time
	Status            *ElevatorStatus
}

// Apply changes e in place and reports what changed; call Validate after it.
func (e *Elevator) Apply(p ElevatorPatch) (Changes, error) {
	if e.Status == ElevatorRetired {
		return nil, Conflict("retired", "elevator %s is retired and cannot be changed", e.ID)
	}
	if p.Status != nil && *p.Status == ElevatorRetired {
		return nil, Invalid("status", "retire an elevator with its retire action, not by setting the status")
	}
	c := Changes{}
	setField(c, "registration_code", &e.RegistrationCode, normalized(p.RegistrationCode, strings.ToUpper))
	setField(c, "venue_id", &e.VenueID, p.VenueID)
	setOptional(c, "maintenance_firm_id", &e.MaintenanceFirmID, p.MaintenanceFirmID)
	setField(c, "manufacturer", &e.Manufacturer, normalized(p.Manufacturer, nil))
	setField(c, "model", &e.Model, normalized(p.Model, nil))
	if p.CommissioningDate != nil {
		old, nw := e.CommissioningDate, *p.CommissioningDate
		if (old == nil) != (nw == nil) || (old != nil && !old.Equal(*nw)) {
			c["commissioning_date"] = Change{From: dateOrNil(old), To: dateOrNil(nw)}
			e.CommissioningDate = nw
		}
	}
	setField(c, "status", &e.Status, p.Status)
	return c, nil
}

func dateOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.Format(DateLayout)
}

// ElevatorFilter narrows an elevator list. Empty fields do not filter.
type ElevatorFilter struct {
	VenueID           string
	Status            ElevatorStatus
	MaintenanceFirmID string
	OperatorID        string
	IncludeRetired    bool
}
