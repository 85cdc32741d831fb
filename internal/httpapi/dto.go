package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/calibd/calibd/devices"
)

// JSON shapes of the API. Domain types carry no JSON tags; these converters
// are the only place the wire format is decided.

type listBody[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// listPage answers a list that takes no filter but the page: fetch reads
// one page the actor may see and conv shapes each item.
func listPage[T, D any](s *Server, c *gin.Context, fetch func(context.Context, devices.Actor, devices.Page) ([]D, string, error), conv func(D) T) {
	q := newQuery(c)
	p := q.page()
	if err := q.done(); err != nil {
		s.fail(c, err)
		return
	}
	items, next, err := fetch(c.Request.Context(), actorOf(c), p)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, list(items, next, conv))
}

func list[T, D any](items []D, next string, conv func(D) T) listBody[T] {
	out := listBody[T]{Items: make([]T, len(items))}
	for i, it := range items {
		out.Items[i] = conv(it)
	}
	if next != "" {
		out.NextCursor = &next
	}
	return out
}

type orgJSON struct {
	ID           string     `json:"id"`
	Name         string     `json:"name"`
	Kind         string     `json:"kind"`
	RegionCode   string     `json:"region_code"`
	ContactEmail string     `json:"contact_email"`
	Retired      bool       `json:"retired"`
	Version      int        `json:"version"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	RetiredAt    *time.Time `json:"retired_at"`
}

func toOrgJSON(o devices.Organization) orgJSON {
	return orgJSON{ID: o.ID, Name: o.Name, Kind: string(o.Kind), RegionCode: o.RegionCode, ContactEmail: o.ContactEmail,
		Retired: o.Retired, Version: o.Version, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt, RetiredAt: o.RetiredAt}
}

type tokenJSON struct {
	ID        string     `json:"id"`
	OrgID     string     `json:"org_id"`
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	ExpiresAt *time.Time `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at"`
	CreatedAt time.Time  `json:"created_at"`
	CreatedBy *string    `json:"created_by"`
	// Token is the secret, present only in the response that issues it.
	Token string `json:"token,omitempty"`
}

func toTokenJSON(t devices.Token) tokenJSON {
	out := tokenJSON{ID: t.ID, OrgID: t.OrgID, Name: t.Name, Role: string(t.Role), ExpiresAt: t.ExpiresAt,
		RevokedAt: t.RevokedAt, CreatedAt: t.CreatedAt}
	if t.CreatedBy != "" {
		out.CreatedBy = &t.CreatedBy
	}
	return out
}

type contactJSON struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
	Email string `json:"email"`
}

type venueJSON struct {
	ID            string      `json:"id"`
	Name          string      `json:"name"`
	Kind          string      `json:"kind"`
	Address       string      `json:"address"`
	RegionCode    string      `json:"region_code"`
	Lat           *float64    `json:"lat"`
	Lon           *float64    `json:"lon"`
	TimeZone      string      `json:"time_zone"`
	OperatorOrgID string      `json:"operator_org_id"`
	Contact       contactJSON `json:"contact"`
	Retired       bool        `json:"retired"`
	Version       int         `json:"version"`
	CreatedAt     time.Time   `json:"created_at"`
	UpdatedAt     time.Time   `json:"updated_at"`
	RetiredAt     *time.Time  `json:"retired_at"`
}

func toVenueJSON(v devices.Venue) venueJSON {
	return venueJSON{ID: v.ID, Name: v.Name, Kind: string(v.Kind), Address: v.Address, RegionCode: v.RegionCode,
		Lat: v.Lat, Lon: v.Lon, TimeZone: v.TimeZone, OperatorOrgID: v.OperatorOrgID,
		Contact: contactJSON{Name: v.Contact.Name, Phone: v.Contact.Phone, Email: v.Contact.Email},
		Retired: v.Retired, Version: v.Version, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt, RetiredAt: v.RetiredAt}
}

type thermometerJSON struct {
	ID                string             `json:"id"`
	VenueID           string             `json:"venue_id"`
	OperatorOrgID     string             `json:"operator_org_id"`
	Type              string             `json:"type"`
	Manufacturer      string             `json:"manufacturer"`
	Model             string             `json:"model"`
	Serial            string             `json:"serial"`
	LocationNote      string             `json:"location_note"`
	RangeMinC         float64            `json:"range_min_c"`
	RangeMaxC         float64            `json:"range_max_c"`
	ToleranceProfile  string             `json:"tolerance_profile"`
	MPEC              float64            `json:"mpe_c"`
	MPEOverrideC      *float64           `json:"mpe_override_c"`
	MPEOverrideReason string             `json:"mpe_override_reason"`
	Modes             []string           `json:"modes"`
	InstituteID       *string            `json:"institute_id"`
	Status            string             `json:"status"`
	IntervalDays      int                `json:"calibration_interval_days"`
	IntervalPolicy    intervalPolicyJSON `json:"interval_policy"`
	IntervalReason    string             `json:"interval_reason"`
	LastCalibratedAt  *time.Time         `json:"last_calibrated_at"`
	NextDueAt         time.Time          `json:"next_due_at"`
	DeferralID        *string            `json:"deferral_id"`
	NormalDueAt       *time.Time         `json:"normal_due_at"`
	DueState          *string            `json:"due_state"`
	Version           int                `json:"version"`
	CreatedAt         time.Time          `json:"created_at"`
	UpdatedAt         time.Time          `json:"updated_at"`
	RetiredAt         *time.Time         `json:"retired_at"`
}

func toThermometerJSON(t devices.Thermometer) thermometerJSON {
	modes := make([]string, len(t.Modes))
	for i, m := range t.Modes {
		modes[i] = string(m)
	}
	return thermometerJSON{ID: t.ID, VenueID: t.VenueID, OperatorOrgID: t.OperatorOrgID, Type: string(t.Type),
		Manufacturer: t.Manufacturer, Model: t.Model, Serial: t.Serial, LocationNote: t.LocationNote,
		RangeMinC: t.RangeMinC, RangeMaxC: t.RangeMaxC, ToleranceProfile: t.ToleranceProfile, MPEC: t.MPEC,
		MPEOverrideC: t.MPEOverrideC, MPEOverrideReason: t.MPEOverrideReason, Modes: modes,
		InstituteID: t.InstituteID, Status: string(t.Status), IntervalDays: t.IntervalDays,
		IntervalPolicy: toIntervalPolicyJSON(t.IntervalPolicy), IntervalReason: t.IntervalReason,
		LastCalibratedAt: t.LastCalibratedAt, NextDueAt: t.NextDueAt, DeferralID: t.DeferralID, NormalDueAt: t.NormalDueAt,
		DueState: dueState(t.DueState), Version: t.Version,
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, RetiredAt: t.RetiredAt}
}

type intervalPolicyJSON struct {
	Kind           string  `json:"kind"`
	MinDays        int     `json:"min_days"`
	MaxDays        int     `json:"max_days"`
	LengthenFactor float64 `json:"lengthen_factor"`
	ShortenFactor  float64 `json:"shorten_factor"`
}

func toIntervalPolicyJSON(p devices.IntervalPolicy) intervalPolicyJSON {
	return intervalPolicyJSON{Kind: string(p.Kind), MinDays: p.MinDays, MaxDays: p.MaxDays,
		LengthenFactor: p.LengthenFactor, ShortenFactor: p.ShortenFactor}
}

type elevatorJSON struct {
	ID                string     `json:"id"`
	RegistrationCode  string     `json:"registration_code"`
	VenueID           string     `json:"venue_id"`
	OperatorOrgID     string     `json:"operator_org_id"`
	MaintenanceFirmID *string    `json:"maintenance_firm_id"`
	Manufacturer      string     `json:"manufacturer"`
	Model             string     `json:"model"`
	CommissioningDate *string    `json:"commissioning_date"`
	Status            string     `json:"status"`
	Version           int        `json:"version"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
	RetiredAt         *time.Time `json:"retired_at"`
}

func toElevatorJSON(e devices.Elevator) elevatorJSON {
	out := elevatorJSON{ID: e.ID, RegistrationCode: e.RegistrationCode, VenueID: e.VenueID, OperatorOrgID: e.OperatorOrgID,
		MaintenanceFirmID: e.MaintenanceFirmID, Manufacturer: e.Manufacturer, Model: e.Model, Status: string(e.Status),
		Version: e.Version, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt, RetiredAt: e.RetiredAt}
	if e.CommissioningDate != nil {
		d := e.CommissioningDate.Format(devices.DateLayout)
		out.CommissioningDate = &d
	}
	return out
}

type profileJSON struct {
	Code                string   `json:"code"`
	Title               string   `json:"title"`
	Document            string   `json:"document"`
	Types               []string `json:"types"`
	RangeMinC           float64  `json:"range_min_c"`
	RangeMaxC           float64  `json:"range_max_c"`
	MPEC                float64  `json:"mpe_c"`
	DefaultIntervalDays int      `json:"default_interval_days"`
	Source              string   `json:"source"`
}

func toProfileJSON(p devices.ToleranceProfile) profileJSON {
	types := make([]string, len(p.Types))
	for i, t := range p.Types {
		types[i] = string(t)
	}
	return profileJSON{Code: p.Code, Title: p.Title, Document: p.Document, Types: types, RangeMinC: p.RangeMinC,
		RangeMaxC: p.RangeMaxC, MPEC: p.MPEC, DefaultIntervalDays: p.DefaultIntervalDays, Source: p.Source}
}

type auditJSON struct {
	ID         string          `json:"id"`
	At         time.Time       `json:"at"`
	OrgID      *string         `json:"org_id"`
	TokenID    *string         `json:"token_id"`
	Action     string          `json:"action"`
	Resource   string          `json:"resource"`
	ResourceID string          `json:"resource_id"`
	Changes    devices.Changes `json:"changes"`
}

func toAuditJSON(e devices.AuditEvent) auditJSON {
	out := auditJSON{ID: e.ID, At: e.At, Action: e.Action, Resource: e.Resource, ResourceID: e.ResourceID, Changes: e.Changes}
	if e.OrgID != "" {
		out.OrgID = &e.OrgID
	}
	if e.TokenID != "" {
		out.TokenID = &e.TokenID
	}
	if out.Changes == nil {
		out.Changes = devices.Changes{}
	}
	return out
}

// dueState is null for a retired thermometer and for one whose state was
// not computed (a create or update answers from the written row).
func dueState(s devices.DueState) *string {
	if s == "" {
		return nil
	}
	v := string(s)
	return &v
}
