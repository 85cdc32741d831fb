package devices

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// ThermometerType is the kind of body-temperature instrument (DOMAIN.md §1.1).
type ThermometerType string

// Thermometer types.
const (
	TypeIREar          ThermometerType = "ir_ear"
	TypeIRForehead     ThermometerType = "ir_forehead"
	TypeIRScreening    ThermometerType = "ir_screening_thermograph"
	TypeMedicalContact ThermometerType = "medical_electronic"
)

// ThermometerTypes lists every type.
var ThermometerTypes = []ThermometerType{TypeIREar, TypeIRForehead, TypeIRScreening, TypeMedicalContact}

// Valid reports whether t is a known type.
func (t ThermometerType) Valid() bool { return slices.Contains(ThermometerTypes, t) }

// ReadingMode says whether a reading is the unadjusted (blackbody,
// calibration) value or the body-adjusted one (DOMAIN.md §1.1).
type ReadingMode string

// Reading modes.
const (
	ModeCalibration ReadingMode = "calibration"
	ModeBody        ReadingMode = "body"
)

// Valid reports whether m is a known mode.
func (m ReadingMode) Valid() bool { return m == ModeCalibration || m == ModeBody }

// DefaultModes is what a thermometer supports when the caller does not say:
// IR devices have both modes, contact thermometers read directly.
func DefaultModes(t ThermometerType) []ReadingMode {
	if t == TypeMedicalContact {
		return []ReadingMode{ModeBody}
	}
	return []ReadingMode{ModeCalibration, ModeBody}
}

// ThermometerStatus is whether a thermometer may be used.
type ThermometerStatus string

// Thermometer statuses.
const (
	StatusInService      ThermometerStatus = "in_service"
	StatusOutOfTolerance ThermometerStatus = "out_of_tolerance"
	StatusQuarantined    ThermometerStatus = "quarantined"
	StatusRetired        ThermometerStatus = "retired"
)

// ThermometerStatuses lists every status.
var ThermometerStatuses = []ThermometerStatus{StatusInService, StatusOutOfTolerance, StatusQuarantined, StatusRetired}

// Valid reports whether s is a known status.
func (s ThermometerStatus) Valid() bool { return slices.Contains(ThermometerStatuses, s) }

// Interval bounds, in days.
const (
	MinIntervalDays = 1
	MaxIntervalDays = 5 * 365
)

// Thermometer is one registered body-temperature instrument.
type Thermometer struct {
	ID                string
	VenueID           string
	OperatorOrgID     string // the venue's operator, copied for tenancy filters
	Type              ThermometerType
	Manufacturer      string
	Model             string
	Serial            string
	LocationNote      string
	RangeMinC         float64
	RangeMaxC         float64
	ToleranceProfile  string
	MPEC              float64 // effective MPE: the override or the profile's
	MPEOverrideC      *float64
	MPEOverrideReason string
	Modes             []ReadingMode
	InstituteID       *string
	Status            ThermometerStatus
	IntervalDays      int
	// IntervalPolicy says how a calibration result moves IntervalDays; the
	// zero value is DefaultIntervalPolicy.
	IntervalPolicy IntervalPolicy
	// IntervalReason says why IntervalDays last changed: a calibration
	// result or the operator's change of policy ("" until either happens).
	IntervalReason   string
	LastCalibratedAt *time.Time
	NextDueAt        time.Time
	// DeferralID names the emergency deferral that moved NextDueAt, and
	// NormalDueAt is the date it moved from; both nil when not deferred.
	DeferralID  *string
	NormalDueAt *time.Time
	// DueState is derived when read: NextDueAt judged as a calendar date in
	// the venue's time zone against today there ("" for retired devices).
	DueState  DueState
	Version   int
	CreatedAt time.Time
	UpdatedAt time.Time
	RetiredAt *time.Time
}

// Resolve fills defaults from the profile, checks every field and derives
// the effective MPE and next due date. A zero range, interval or mode list
// takes the profile's and the type's defaults. now is the registration time,
// the due date of a thermometer with no known calibration.
func (t *Thermometer) Resolve(p ToleranceProfile, now time.Time) error {
	var pr Problems
	t.Manufacturer = strings.TrimSpace(t.Manufacturer)
	t.Model = strings.TrimSpace(t.Model)
	t.Serial = strings.TrimSpace(t.Serial)
	if !t.Type.Valid() {
		pr.Addf("type", "must be one of %s", joinKinds(ThermometerTypes))
	}
	checkText(&pr, "manufacturer", t.Manufacturer, true, 100)
	checkText(&pr, "model", t.Model, true, 100)
	checkText(&pr, "serial", t.Serial, true, 100)
	checkText(&pr, "location_note", t.LocationNote, false, 500)
	if t.Type.Valid() && p.Code != "" && !p.Fits(t.Type) {
		pr.Addf("tolerance_profile", "%s does not govern %s thermometers", p.Code, t.Type)
	}
	// Without a profile (an unknown one is reported by the caller) the
	// defaults it would supply are not judged, to avoid follow-on errors.
	known := p.Code != ""
	if t.RangeMinC == 0 && t.RangeMaxC == 0 {
		t.RangeMinC, t.RangeMaxC = p.RangeMinC, p.RangeMaxC
	}
	okMin := checkFinite(&pr, "range_min_c", t.RangeMinC)
	okMax := checkFinite(&pr, "range_max_c", t.RangeMaxC)
	if okMin && okMax && (known || t.RangeMinC != 0 || t.RangeMaxC != 0) {
		switch {
		case t.RangeMinC < -50 || t.RangeMaxC > 150:
			pr.Add("range_max_c", "measuring range must lie within -50..150 °C")
		case t.RangeMinC >= t.RangeMaxC:
			pr.Add("range_min_c", "must be below range_max_c")
		}
	}
	t.MPEC = p.MPEC
	if t.MPEOverrideC != nil {
		v := *t.MPEOverrideC
		if checkFinite(&pr, "mpe_override_c", v) && (v <= 0 || v > 2) {
			pr.Add("mpe_override_c", "must be above 0 and at most 2.0 °C")
		}
		t.MPEOverrideReason = strings.TrimSpace(t.MPEOverrideReason)
		if t.MPEOverrideReason == "" {
			pr.Add("mpe_override_reason", "is required when mpe_override_c is set")
		}
		t.MPEC = v
	} else if strings.TrimSpace(t.MPEOverrideReason) != "" {
		pr.Add("mpe_override_reason", "must be empty unless mpe_override_c is set")
	}
	checkText(&pr, "mpe_override_reason", t.MPEOverrideReason, false, 500)
	if len(t.Modes) == 0 {
		t.Modes = DefaultModes(t.Type)
	}
	seen := map[ReadingMode]bool{}
	for _, m := range t.Modes {
		if !m.Valid() {
			pr.Add("modes", "each mode must be calibration or body")
			break
		}
		if seen[m] {
			pr.Addf("modes", "%s is listed twice", m)
			break
		}
		seen[m] = true
	}
	slices.Sort(t.Modes)
	if t.InstituteID != nil {
		checkID(&pr, "institute_id", *t.InstituteID)
	}
	if t.Status == "" {
		t.Status = StatusInService
	}
	switch {
	case !t.Status.Valid():
		pr.Addf("status", "must be one of %s", joinKinds(ThermometerStatuses))
	case t.Status == StatusRetired && t.RetiredAt == nil:
		pr.Add("status", "retire a thermometer with its retire action, not by setting the status")
	}
	if t.IntervalDays == 0 {
		t.IntervalDays = p.DefaultIntervalDays
	}
	if (known || t.IntervalDays != 0) && (t.IntervalDays < MinIntervalDays || t.IntervalDays > MaxIntervalDays) {
		pr.Addf("calibration_interval_days", "must be between %d and %d", MinIntervalDays, MaxIntervalDays)
	}
	t.IntervalPolicy = t.IntervalPolicy.orDefault()
	pr.Merge(t.IntervalPolicy.Validate())
	if t.LastCalibratedAt != nil {
		lc := t.LastCalibratedAt.UTC()
		t.LastCalibratedAt = &lc
		if lc.After(now.Add(5 * time.Minute)) {
			pr.Add("last_calibrated_at", "must not be in the future")
		}
	}
	if err := pr.Err(); err != nil {
		return err
	}
	t.NextDueAt = t.dueFrom(now)
	return nil
}

// dueFrom is the last calibration plus the interval or, for a thermometer
// never calibrated, the moment it was registered: it is due at once.
func (t *Thermometer) dueFrom(registered time.Time) time.Time {
	if t.LastCalibratedAt == nil {
		if !t.CreatedAt.IsZero() {
			return t.CreatedAt.UTC()
		}
		return registered.UTC()
	}
	return t.LastCalibratedAt.AddDate(0, 0, t.IntervalDays).UTC()
}

// ThermometerPatch holds the fields an update may change; nil means keep.
// For the nullable InstituteID, MPEOverrideC and LastCalibratedAt a non-nil
// pointer to nil clears the value.
type ThermometerPatch struct {
	VenueID           *string
	Type              *ThermometerType
	Manufacturer      *string
	Model             *string
	Serial            *string
	LocationNote      *string
	RangeMinC         *float64
	RangeMaxC         *float64
	ToleranceProfile  *string
	MPEOverrideC      **float64
	MPEOverrideReason *string
	Modes             *[]ReadingMode
	InstituteID       **string
	Status            *ThermometerStatus
	IntervalDays      *int
	LastCalibratedAt  **time.Time
	// IntervalPolicy replaces the whole policy (the zero value is
	// DefaultIntervalPolicy).
	IntervalPolicy *IntervalPolicy
}

// Apply changes t in place and reports what changed; call Resolve after it.
// A status change is checked here: only a passing calibration clears
// out_of_tolerance, and retiring has its own action.
func (t *Thermometer) Apply(p ThermometerPatch) (Changes, error) {
	if p.Status != nil && *p.Status != t.Status {
		switch {
		case *p.Status == StatusRetired:
			return nil, Invalid("status", "retire a thermometer with its retire action, not by setting the status")
		case !p.Status.Valid():
			return nil, Invalid("status", "must be one of "+joinKinds(ThermometerStatuses))
		case t.Status == StatusRetired:
			return nil, Conflict("retired", "thermometer %s is retired and cannot be changed", t.ID)
		case t.Status == StatusOutOfTolerance && *p.Status == StatusInService:
			return nil, Conflict("invalid_transition", "an out_of_tolerance thermometer returns to service only through a passing calibration")
		}
	}
	if t.Status == StatusRetired {
		return nil, Conflict("retired", "thermometer %s is retired and cannot be changed", t.ID)
	}
	c := Changes{}
	setField(c, "venue_id", &t.VenueID, p.VenueID)
	setField(c, "type", &t.Type, p.Type)
	setField(c, "manufacturer", &t.Manufacturer, normalized(p.Manufacturer, nil))
	setField(c, "model", &t.Model, normalized(p.Model, nil))
	setField(c, "serial", &t.Serial, normalized(p.Serial, nil))
	setField(c, "location_note", &t.LocationNote, p.LocationNote)
	setField(c, "range_min_c", &t.RangeMinC, p.RangeMinC)
	setField(c, "range_max_c", &t.RangeMaxC, p.RangeMaxC)
	setField(c, "tolerance_profile", &t.ToleranceProfile, p.ToleranceProfile)
	setOptional(c, "mpe_override_c", &t.MPEOverrideC, p.MPEOverrideC)
	setField(c, "mpe_override_reason", &t.MPEOverrideReason, normalized(p.MPEOverrideReason, nil))
	if t.MPEOverrideC == nil && p.MPEOverrideReason == nil && t.MPEOverrideReason != "" {
		c["mpe_override_reason"] = Change{From: t.MPEOverrideReason, To: ""}
		t.MPEOverrideReason = ""
	}
	if p.Modes != nil {
		// Compare and store a sorted copy: the order of modes carries no
		// meaning (Resolve sorts them), and Resolve must not sort the
		// caller's slice or the value recorded in the changes.
		modes := slices.Clone(*p.Modes)
		slices.Sort(modes)
		setField(c, "modes", &t.Modes, &modes)
	}
	setOptional(c, "institute_id", &t.InstituteID, p.InstituteID)
	setField(c, "status", &t.Status, p.Status)
	setField(c, "calibration_interval_days", &t.IntervalDays, p.IntervalDays)
	if p.IntervalPolicy != nil {
		t.applyPolicy(c, p.IntervalPolicy.orDefault())
	}
	if p.LastCalibratedAt != nil {
		old, nw := t.LastCalibratedAt, *p.LastCalibratedAt
		if (old == nil) != (nw == nil) || (old != nil && !old.Equal(*nw)) {
			c["last_calibrated_at"] = Change{From: deref(old), To: deref(nw)}
			t.LastCalibratedAt = nw
		}
	}
	return c, nil
}

// applyPolicy replaces the interval policy, recording each changed field
// as interval_policy.<field>, and, when anything changed, says so in
// IntervalReason. The interval itself stays: the new policy acts on the
// next calibration result.
func (t *Thermometer) applyPolicy(c Changes, p IntervalPolicy) {
	old := t.IntervalPolicy
	setField(c, "interval_policy.kind", &t.IntervalPolicy.Kind, &p.Kind)
	setField(c, "interval_policy.min_days", &t.IntervalPolicy.MinDays, &p.MinDays)
	setField(c, "interval_policy.max_days", &t.IntervalPolicy.MaxDays, &p.MaxDays)
	setField(c, "interval_policy.lengthen_factor", &t.IntervalPolicy.LengthenFactor, &p.LengthenFactor)
	setField(c, "interval_policy.shorten_factor", &t.IntervalPolicy.ShortenFactor, &p.ShortenFactor)
	if t.IntervalPolicy == old {
		return
	}
	// The same patch may set the interval too, possibly to 0 (the
	// profile's default, known only after Resolve): then no number.
	reason := fmt.Sprintf("interval policy changed by the operator to %s: kept %d days", p.describe(), t.IntervalDays)
	if _, set := c["calibration_interval_days"]; set {
		reason = fmt.Sprintf("interval policy changed by the operator to %s; interval set by the operator", p.describe())
	}
	setField(c, "interval_reason", &t.IntervalReason, &reason)
}

// ThermometerFilter narrows a thermometer list. Empty fields do not filter.
type ThermometerFilter struct {
	VenueID     string
	Type        ThermometerType
	Status      ThermometerStatus
	InstituteID string
	OperatorID  string
	// DueBefore keeps thermometers whose next due date is before it.
	DueBefore *time.Time
	// IncludeRetired lists retired thermometers when Status is empty.
	IncludeRetired bool
}
