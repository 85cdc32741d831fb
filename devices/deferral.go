package devices

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DeferralState is where an emergency deferral is: active from its
// declaration until the regulator lifts it.
type DeferralState string

// Deferral states.
const (
	DeferralActive DeferralState = "active"
	DeferralLifted DeferralState = "lifted"
)

// ResourceDeferral names deferrals in the audit log; ActionLift is their
// lifting.
const (
	ResourceDeferral = "deferral"
	ActionLift       = "lift"
)

// Deferral bounds.
const (
	// DefaultDeferralExtendDays is the rule of the 2020 notices: due dates
	// falling in the window move to the window's end plus 90 days.
	DefaultDeferralExtendDays = 90
	MaxDeferralExtendDays     = 366
	MaxDeferralScope          = 500
)

// Deferral is an emergency deferral the regulator declares (DOMAIN.md §1.5:
// during the 2020 emergency mandatory verification could be deferred to
// after the emergency): every in-service thermometer in scope whose due
// date, as a calendar date in its venue's time zone, falls within
// [WindowFrom, WindowTo] is due instead ExtendDays after WindowTo, at the
// same time of day. Lifting it restores the normal dates.
//
// The scope narrows by type, region and venue; an empty list does not
// narrow, and a device must match every non-empty list. A region code
// matches its subdivisions: trailing "00" pairs are dropped, so "310000"
// (Shanghai) covers "310115" (Pudong), and "310115" only itself.
type Deferral struct {
	ID            string
	DeclaredByOrg string
	Name          string
	Reason        string
	Types         []ThermometerType
	RegionCodes   []string
	VenueIDs      []string
	WindowFrom    string // YYYY-MM-DD, judged in each venue's zone
	WindowTo      string // inclusive
	ExtendDays    int
	State         DeferralState
	// Deferred counts the thermometers whose due date it holds now.
	Deferred   int
	LiftedAt   *time.Time
	LiftReason string
	Version    int
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Validate normalizes and checks a deferral being declared (callers fill
// ExtendDays with DefaultDeferralExtendDays when the declarer gives none).
func (d *Deferral) Validate() error {
	var p Problems
	d.Name = strings.TrimSpace(d.Name)
	d.Reason = strings.TrimSpace(d.Reason)
	checkText(&p, "name", d.Name, true, 200)
	checkText(&p, "reason", d.Reason, true, 2000)
	checkWindow(&p, "window_from", "window_to", d.WindowFrom, d.WindowTo)
	if d.ExtendDays < 0 || d.ExtendDays > MaxDeferralExtendDays {
		p.Addf("extend_days", "must be between 0 and %d", MaxDeferralExtendDays)
	}
	if len(d.Types)+len(d.RegionCodes)+len(d.VenueIDs) > MaxDeferralScope {
		p.Addf("scope", "at most %d types, regions and venues in all", MaxDeferralScope)
	}
	types := make([]string, len(d.Types))
	for i, t := range d.Types {
		types[i] = string(t)
	}
	checkScope(&p, "types", types, func(v string) bool { return ThermometerType(v).Valid() },
		"must be one of "+joinKinds(ThermometerTypes))
	for i, t := range types {
		d.Types[i] = ThermometerType(t)
	}
	checkScope(&p, "region_codes", d.RegionCodes, isRegionCode, "must be a 2 to 12 digit administrative division code, e.g. 310000")
	checkScope(&p, "venue_ids", d.VenueIDs, IsUUID, "must be a UUID")
	return p.Err()
}

// checkScope normalizes a scope list in place (trimmed; ids lowercased)
// and reports items that fail ok, or appear twice, by index.
func checkScope(p *Problems, field string, items []string, ok func(string) bool, reason string) {
	seen := map[string]bool{}
	for i, v := range items {
		v = strings.ToLower(strings.TrimSpace(v))
		items[i] = v
		f := field + "[" + strconv.Itoa(i) + "]"
		switch {
		case !ok(v):
			p.Add(f, reason)
		case seen[v]:
			p.Add(f, "is listed twice")
		}
		seen[v] = true
	}
}

func isRegionCode(s string) bool {
	if len(s) < 2 || len(s) > 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// RegionPrefix is the prefix of the venue region codes a scope code
// covers: the code without its trailing "00" pairs (at least two digits).
func RegionPrefix(code string) string {
	for len(code) > 2 && strings.HasSuffix(code, "00") {
		code = code[:len(code)-2]
	}
	return code
}

// Covers reports whether the deferral's scope takes a thermometer of type
// t in venue venueID of region region (the window is judged apart, by
// DeferredDue).
func (d Deferral) Covers(t ThermometerType, venueID, region string) bool {
	if len(d.Types) > 0 && !slices.Contains(d.Types, t) {
		return false
	}
	if len(d.VenueIDs) > 0 && !slices.Contains(d.VenueIDs, venueID) {
		return false
	}
	if len(d.RegionCodes) > 0 && !slices.ContainsFunc(d.RegionCodes, func(c string) bool {
		return strings.HasPrefix(region, RegionPrefix(c))
	}) {
		return false
	}
	return true
}

// DeferredDue is where the deferral moves a due date: when due, read as a
// date in loc, falls within the window, the same local time of day
// ExtendDays after WindowTo, and true; otherwise due and false.
func (d Deferral) DeferredDue(due time.Time, loc *time.Location) (time.Time, bool) {
	local := due.In(loc)
	day := local.Format(DateLayout)
	if day < d.WindowFrom || day > d.WindowTo {
		return due, false
	}
	end, err := time.Parse(DateLayout, d.WindowTo)
	if err != nil {
		return due, false
	}
	moved := time.Date(end.Year(), end.Month(), end.Day()+d.ExtendDays, local.Hour(), local.Minute(), local.Second(),
		local.Nanosecond(), loc).UTC()
	if !moved.After(due) {
		return due, false
	}
	return moved, true
}

// DeferralReport says what declaring, lifting or re-applying deferrals
// did: thermometers whose due date moved (or came back), tasks cancelled
// (or reopened) and planned visits left empty and cancelled.
type DeferralReport struct {
	Deferred        int
	Restored        int
	TasksCancelled  int
	TasksReopened   int
	VisitsCancelled int
}

// DeferralStore keeps deferrals. Everyone reads the deferrals that touch
// what they may see (a deferral naming venues, only through a venue they
// see); only a regulator admin declares or lifts one.
type DeferralStore interface {
	// DeclareDeferral validates d, records it and moves every due date in
	// scope at once. Returns *ValidationError, ErrForbidden (not a
	// regulator admin), a *ValidationError naming venue_ids[i] for a venue
	// that does not exist, or a *ReplayError for a replayed create.
	DeclareDeferral(ctx context.Context, a Actor, d *Deferral) (DeferralReport, error)
	// GetDeferral returns ErrNotFound for one the actor may not see.
	GetDeferral(ctx context.Context, a Actor, id string) (Deferral, error)
	ListDeferrals(ctx context.Context, a Actor, state DeferralState, p Page) ([]Deferral, string, error)
	// LiftDeferral restores the normal due dates of the devices it holds
	// (other active deferrals may then take them) and reopens the tasks it
	// cancelled where their due date is back. Returns ErrNotFound,
	// ErrForbidden, ErrPreconditionFailed (stale version) or a
	// ConflictError "invalid_transition" when already lifted.
	LiftDeferral(ctx context.Context, a Actor, id string, version int, reason string) (Deferral, DeferralReport, error)
}
