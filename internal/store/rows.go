package store

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/calibd/calibd/devices"
)

// Row structs are the gorm shape of each table; converters named
// toX/fromX cross between them and the domain types.

type orgRow struct {
	ID           string
	Name         string
	Kind         string
	RegionCode   string
	ContactEmail string
	Retired      bool
	Version      int
	CreatedAt    time.Time
	UpdatedAt    time.Time
	RetiredAt    *time.Time
}

func (orgRow) TableName() string { return "organizations" }

func fromOrg(o devices.Organization) orgRow {
	return orgRow{ID: o.ID, Name: o.Name, Kind: string(o.Kind), RegionCode: o.RegionCode,
		ContactEmail: o.ContactEmail, Retired: o.Retired, Version: o.Version,
		CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt, RetiredAt: o.RetiredAt}
}

func (r orgRow) toOrg() devices.Organization {
	return devices.Organization{ID: r.ID, Name: r.Name, Kind: devices.OrgKind(r.Kind), RegionCode: r.RegionCode,
		ContactEmail: r.ContactEmail, Retired: r.Retired, Version: r.Version,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), RetiredAt: utcPtr(r.RetiredAt)}
}

type tokenRow struct {
	ID         string
	OrgID      string
	Name       string
	Role       string
	SecretHash string
	ExpiresAt  *time.Time
	RevokedAt  *time.Time
	CreatedAt  time.Time
	CreatedBy  *string
}

func (tokenRow) TableName() string { return "api_tokens" }

func (r tokenRow) toToken() devices.Token {
	t := devices.Token{ID: r.ID, OrgID: r.OrgID, Name: r.Name, Role: devices.Role(r.Role),
		ExpiresAt: utcPtr(r.ExpiresAt), RevokedAt: utcPtr(r.RevokedAt), CreatedAt: r.CreatedAt.UTC()}
	if r.CreatedBy != nil {
		t.CreatedBy = *r.CreatedBy
	}
	return t
}

type profileRow struct {
	Code                string
	Title               string
	Document            string
	Types               string
	RangeMinC           float64
	RangeMaxC           float64
	MPEC                float64 `gorm:"column:mpe_c"`
	DefaultIntervalDays int
	Source              string
}

func (profileRow) TableName() string { return "tolerance_profiles" }

func (r profileRow) toProfile() devices.ToleranceProfile {
	p := devices.ToleranceProfile{Code: r.Code, Title: r.Title, Document: r.Document,
		RangeMinC: r.RangeMinC, RangeMaxC: r.RangeMaxC, MPEC: r.MPEC,
		DefaultIntervalDays: r.DefaultIntervalDays, Source: r.Source}
	for _, t := range strings.Split(r.Types, ",") {
		p.Types = append(p.Types, devices.ThermometerType(t))
	}
	return p
}

type venueRow struct {
	ID            string
	Name          string
	Kind          string
	Address       string
	RegionCode    string
	Lat           *float64
	Lon           *float64
	TimeZone      string
	OperatorOrgID string
	ContactName   string
	ContactPhone  string
	ContactEmail  string
	Retired       bool
	Version       int
	CreatedAt     time.Time
	UpdatedAt     time.Time
	RetiredAt     *time.Time
}

func (venueRow) TableName() string { return "venues" }

func fromVenue(v devices.Venue) venueRow {
	return venueRow{ID: v.ID, Name: v.Name, Kind: string(v.Kind), Address: v.Address, RegionCode: v.RegionCode,
		Lat: v.Lat, Lon: v.Lon, TimeZone: v.TimeZone, OperatorOrgID: v.OperatorOrgID,
		ContactName: v.Contact.Name, ContactPhone: v.Contact.Phone, ContactEmail: v.Contact.Email,
		Retired: v.Retired, Version: v.Version, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt, RetiredAt: v.RetiredAt}
}

func (r venueRow) toVenue() devices.Venue {
	return devices.Venue{ID: r.ID, Name: r.Name, Kind: devices.VenueKind(r.Kind), Address: r.Address,
		RegionCode: r.RegionCode, Lat: r.Lat, Lon: r.Lon, TimeZone: r.TimeZone, OperatorOrgID: r.OperatorOrgID,
		Contact: devices.Contact{Name: r.ContactName, Phone: r.ContactPhone, Email: r.ContactEmail},
		Retired: r.Retired, Version: r.Version, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
		RetiredAt: utcPtr(r.RetiredAt)}
}

type thermometerRow struct {
	ID                string
	VenueID           string
	OperatorOrgID     string
	Type              string
	Manufacturer      string
	Model             string
	Serial            string
	LocationNote      string
	RangeMinC         float64
	RangeMaxC         float64
	ToleranceProfile  string
	MPEC              float64  `gorm:"column:mpe_c"`
	MPEOverrideC      *float64 `gorm:"column:mpe_override_c"`
	MPEOverrideReason string   `gorm:"column:mpe_override_reason"`
	Modes             string
	InstituteID       *string
	Status            string
	IntervalDays      int
	IntervalPolicy    string // JSON, "" for the default (encodeIntervalPolicy)
	IntervalReason    string
	LastCalibratedAt  *time.Time
	NextDueAt         time.Time
	DeferralID        *string
	NormalDueAt       *time.Time
	Version           int
	CreatedAt         time.Time
	UpdatedAt         time.Time
	RetiredAt         *time.Time
	// VenueTimeZone is read with the venue (withVenueZone), never written.
	VenueTimeZone string `gorm:"->;column:venue_time_zone"`
	// FactsVersion counts updates of the row (a trigger sets it; gorm only
	// reads it): a drift state cached with the row is checked against it.
	FactsVersion int64 `gorm:"->"`
}

func (thermometerRow) TableName() string { return "thermometers" }

func fromThermometer(t devices.Thermometer) thermometerRow {
	modes := make([]string, len(t.Modes))
	for i, m := range t.Modes {
		modes[i] = string(m)
	}
	return thermometerRow{ID: t.ID, VenueID: t.VenueID, OperatorOrgID: t.OperatorOrgID, Type: string(t.Type),
		Manufacturer: t.Manufacturer, Model: t.Model, Serial: t.Serial, LocationNote: t.LocationNote,
		RangeMinC: t.RangeMinC, RangeMaxC: t.RangeMaxC, ToleranceProfile: t.ToleranceProfile,
		MPEC: t.MPEC, MPEOverrideC: t.MPEOverrideC, MPEOverrideReason: t.MPEOverrideReason,
		Modes: strings.Join(modes, ","), InstituteID: t.InstituteID, Status: string(t.Status),
		IntervalDays: t.IntervalDays, IntervalPolicy: encodeIntervalPolicy(t.IntervalPolicy), IntervalReason: t.IntervalReason,
		LastCalibratedAt: utcPtr(t.LastCalibratedAt), NextDueAt: t.NextDueAt.UTC(), DeferralID: t.DeferralID,
		NormalDueAt: utcPtr(t.NormalDueAt), Version: t.Version, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, RetiredAt: t.RetiredAt}
}

// toThermometer fails only on a stored interval policy it cannot read.
func (r thermometerRow) toThermometer() (devices.Thermometer, error) {
	policy, err := decodeIntervalPolicy(r.IntervalPolicy)
	if err != nil {
		return devices.Thermometer{}, fmt.Errorf("thermometer %s: %w", r.ID, err)
	}
	t := devices.Thermometer{ID: r.ID, VenueID: r.VenueID, OperatorOrgID: r.OperatorOrgID,
		Type: devices.ThermometerType(r.Type), Manufacturer: r.Manufacturer, Model: r.Model, Serial: r.Serial,
		LocationNote: r.LocationNote, RangeMinC: r.RangeMinC, RangeMaxC: r.RangeMaxC,
		ToleranceProfile: r.ToleranceProfile, MPEC: r.MPEC, MPEOverrideC: r.MPEOverrideC,
		MPEOverrideReason: r.MPEOverrideReason, InstituteID: r.InstituteID,
		Status: devices.ThermometerStatus(r.Status), IntervalDays: r.IntervalDays,
		IntervalPolicy: policy, IntervalReason: r.IntervalReason,
		LastCalibratedAt: utcPtr(r.LastCalibratedAt), NextDueAt: r.NextDueAt.UTC(), DeferralID: r.DeferralID,
		NormalDueAt: utcPtr(r.NormalDueAt), Version: r.Version,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), RetiredAt: utcPtr(r.RetiredAt)}
	if r.Modes != "" {
		for _, m := range strings.Split(r.Modes, ",") {
			t.Modes = append(t.Modes, devices.ReadingMode(m))
		}
	}
	return t, nil
}

// intervalPolicyData is the JSON of thermometers.interval_policy.
type intervalPolicyData struct {
	Kind           string  `json:"kind"`
	MinDays        int     `json:"min_days"`
	MaxDays        int     `json:"max_days"`
	LengthenFactor float64 `json:"lengthen_factor"`
	ShortenFactor  float64 `json:"shorten_factor"`
}

// encodeIntervalPolicy is the interval_policy column of p: "" for
// devices.DefaultIntervalPolicy, so that a device registered without a
// policy keeps following the default through later edits (an edit writes
// the whole row).
func encodeIntervalPolicy(p devices.IntervalPolicy) string {
	if p == devices.DefaultIntervalPolicy() {
		return ""
	}
	b, _ := json.Marshal(intervalPolicyData{Kind: string(p.Kind), MinDays: p.MinDays, MaxDays: p.MaxDays,
		LengthenFactor: p.LengthenFactor, ShortenFactor: p.ShortenFactor})
	return string(b)
}

// decodeIntervalPolicy reads the interval_policy column: "" is
// devices.DefaultIntervalPolicy.
func decodeIntervalPolicy(s string) (devices.IntervalPolicy, error) {
	if strings.TrimSpace(s) == "" {
		return devices.DefaultIntervalPolicy(), nil
	}
	var d intervalPolicyData
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		return devices.IntervalPolicy{}, fmt.Errorf("interval policy: %w", err)
	}
	p := devices.IntervalPolicy{Kind: devices.IntervalKind(d.Kind), MinDays: d.MinDays, MaxDays: d.MaxDays,
		LengthenFactor: d.LengthenFactor, ShortenFactor: d.ShortenFactor}
	if err := p.Validate(); err != nil {
		// %v: a bad stored value is the server's fault, not a field error
		// of the request that read it.
		return devices.IntervalPolicy{}, fmt.Errorf("stored interval policy: %v", err)
	}
	return p, nil
}

type elevatorRow struct {
	ID                string
	RegistrationCode  string
	VenueID           string
	OperatorOrgID     string
	MaintenanceFirmID *string
	Manufacturer      string
	Model             string
	CommissioningDate *time.Time
	Status            string
	Version           int
	CreatedAt         time.Time
	UpdatedAt         time.Time
	RetiredAt         *time.Time
}

func (elevatorRow) TableName() string { return "elevators" }

func fromElevator(e devices.Elevator) elevatorRow {
	return elevatorRow{ID: e.ID, RegistrationCode: e.RegistrationCode, VenueID: e.VenueID,
		OperatorOrgID: e.OperatorOrgID, MaintenanceFirmID: e.MaintenanceFirmID, Manufacturer: e.Manufacturer,
		Model: e.Model, CommissioningDate: e.CommissioningDate, Status: string(e.Status), Version: e.Version,
		CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt, RetiredAt: e.RetiredAt}
}

func (r elevatorRow) toElevator() devices.Elevator {
	e := devices.Elevator{ID: r.ID, RegistrationCode: r.RegistrationCode, VenueID: r.VenueID,
		OperatorOrgID: r.OperatorOrgID, MaintenanceFirmID: r.MaintenanceFirmID, Manufacturer: r.Manufacturer,
		Model: r.Model, Status: devices.ElevatorStatus(r.Status), Version: r.Version,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), RetiredAt: utcPtr(r.RetiredAt)}
	if r.CommissioningDate != nil {
		d := r.CommissioningDate.UTC()
		d = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
		e.CommissioningDate = &d
	}
	return e
}

type auditRow struct {
	ID         string
	At         time.Time
	OrgID      *string
	TokenID    *string
	Action     string
	Resource   string
	ResourceID string
	Changes    string
}

func (auditRow) TableName() string { return "audit_events" }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
