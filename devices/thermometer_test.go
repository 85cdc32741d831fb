package devices_test

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/calibd/calibd/devices"
)

// Profiles as DOMAIN.md §1.2 gives them; built here, not read from the
// migration, so the tests pin the arithmetic.
var (
	earProfile = devices.ToleranceProfile{Code: "jjg1164_ear", Title: "IR ear thermometers", Document: "JJG 1164-2019",
		Types: []devices.ThermometerType{devices.TypeIREar}, RangeMinC: 35, RangeMaxC: 42, MPEC: 0.2,
		DefaultIntervalDays: 365, Source: "[S1][S4]"}
	contactProfile = devices.ToleranceProfile{Code: "jjg1162_contact", Document: "JJG 1162-2019",
		Types: []devices.ThermometerType{devices.TypeMedicalContact}, RangeMinC: 35.5, RangeMaxC: 42, MPEC: 0.1,
		DefaultIntervalDays: 365, Source: "unverified"}
	skinProfile = devices.ToleranceProfile{Code: "jjf1107_forehead", Document: "JJF 1107-2003",
		Types: []devices.ThermometerType{devices.TypeIRForehead, devices.TypeIRScreening}, RangeMinC: 32, RangeMaxC: 42,
		MPEC: 0.3, DefaultIntervalDays: 180, Source: "[S1]"}
)

const testUUID = "3f2b8c1e-9d4a-4b7e-8f21-6c5d0e9a1b23"

func newThermometer() devices.Thermometer {
	return devices.Thermometer{Type: devices.TypeIREar, Manufacturer: "Braun", Model: "IRT6520", Serial: "SN-0001"}
}

// resolved is the part of a thermometer Resolve derives.
type resolved struct {
	RangeMinC, RangeMaxC float64
	MPEC                 float64
	MPEOverrideReason    string
	Modes                []devices.ReadingMode
	Status               devices.ThermometerStatus
	IntervalDays         int
	IntervalPolicy       devices.IntervalPolicy
	LastCalibratedAt     *time.Time
	NextDueAt            time.Time
}

func resolvedOf(t devices.Thermometer) resolved {
	return resolved{RangeMinC: t.RangeMinC, RangeMaxC: t.RangeMaxC, MPEC: t.MPEC, MPEOverrideReason: t.MPEOverrideReason,
		Modes: t.Modes, Status: t.Status, IntervalDays: t.IntervalDays, IntervalPolicy: t.IntervalPolicy,
		LastCalibratedAt: t.LastCalibratedAt, NextDueAt: t.NextDueAt}
}

func TestThermometerResolve(t *testing.T) {
	now := mustTime(t, "2026-03-01T09:00:00Z")
	both := []devices.ReadingMode{devices.ModeBody, devices.ModeCalibration} // sorted
	// earDefaults is what a bare ir_ear thermometer resolves to.
	earDefaults := func() resolved {
		return resolved{RangeMinC: 35, RangeMaxC: 42, MPEC: 0.2, Modes: both, Status: devices.StatusInService,
			IntervalDays: 365, IntervalPolicy: devices.DefaultIntervalPolicy(), NextDueAt: now}
	}
	tests := []struct {
		name       string
		profile    *devices.ToleranceProfile // earProfile when nil
		edit       func(th *devices.Thermometer)
		wantFields []string
		want       func() resolved // checked when no error is expected
	}{
		{name: "defaults from profile and type", edit: func(th *devices.Thermometer) {}, want: earDefaults},
		{
			name: "contact thermometer reads body only", profile: &contactProfile,
			edit: func(th *devices.Thermometer) { th.Type = devices.TypeMedicalContact },
			want: func() resolved {
				return resolved{RangeMinC: 35.5, RangeMaxC: 42, MPEC: 0.1, Modes: []devices.ReadingMode{devices.ModeBody},
					Status: devices.StatusInService, IntervalDays: 365, IntervalPolicy: devices.DefaultIntervalPolicy(), NextDueAt: now}
			},
		},
		{
			name: "profile governing several types", profile: &skinProfile,
			edit: func(th *devices.Thermometer) { th.Type = devices.TypeIRScreening },
			want: func() resolved {
				return resolved{RangeMinC: 32, RangeMaxC: 42, MPEC: 0.3, Modes: both, Status: devices.StatusInService,
					IntervalDays: 180, IntervalPolicy: devices.DefaultIntervalPolicy(), NextDueAt: now}
			},
		},
		{
			name: "explicit range kept",
			edit: func(th *devices.Thermometer) { th.RangeMinC, th.RangeMaxC = 32, 43 },
			want: func() resolved { r := earDefaults(); r.RangeMinC, r.RangeMaxC = 32, 43; return r },
		},
		{
			name: "only max given is not defaulted",
			edit: func(th *devices.Thermometer) { th.RangeMaxC = 45 },
			want: func() resolved { r := earDefaults(); r.RangeMinC, r.RangeMaxC = 0, 45; return r },
		},
		{name: "range min equals max", edit: func(th *devices.Thermometer) { th.RangeMinC, th.RangeMaxC = 40, 40 }, wantFields: sorted("range_min_c")},
		{name: "range min above max", edit: func(th *devices.Thermometer) { th.RangeMinC, th.RangeMaxC = 42, 35 }, wantFields: sorted("range_min_c")},
		{name: "range below -50", edit: func(th *devices.Thermometer) { th.RangeMinC, th.RangeMaxC = -50.1, 40 }, wantFields: sorted("range_max_c")},
		{name: "range above 150", edit: func(th *devices.Thermometer) { th.RangeMinC, th.RangeMaxC = 30, 150.1 }, wantFields: sorted("range_max_c")},
		{
			name: "range at the limits",
			edit: func(th *devices.Thermometer) { th.RangeMinC, th.RangeMaxC = -50, 150 },
			want: func() resolved { r := earDefaults(); r.RangeMinC, r.RangeMaxC = -50, 150; return r },
		},
		{name: "range min NaN", edit: func(th *devices.Thermometer) { th.RangeMinC, th.RangeMaxC = math.NaN(), 42 }, wantFields: sorted("range_min_c")},
		{name: "range max +Inf", edit: func(th *devices.Thermometer) { th.RangeMinC, th.RangeMaxC = 35, math.Inf(1) }, wantFields: sorted("range_max_c")},
		{name: "type does not fit profile", edit: func(th *devices.Thermometer) { th.Type = devices.TypeIRForehead }, wantFields: sorted("tolerance_profile")},
		{name: "contact type against ear profile", edit: func(th *devices.Thermometer) { th.Type = devices.TypeMedicalContact }, wantFields: sorted("tolerance_profile")},
		{name: "unknown type: no profile complaint", edit: func(th *devices.Thermometer) { th.Type = "ir_wrist" }, wantFields: sorted("type")},
		{name: "type missing", edit: func(th *devices.Thermometer) { th.Type = "" }, wantFields: sorted("type")},
		{
			// The caller reports the unknown profile; Resolve adds no
			// follow-on errors about the defaults it could not supply.
			name: "empty profile: no defaults, no mismatch, no follow-on errors", profile: &devices.ToleranceProfile{},
			edit: func(th *devices.Thermometer) { th.Type = devices.TypeIRForehead },
			want: func() resolved {
				return resolved{Modes: both, Status: devices.StatusInService, IntervalPolicy: devices.DefaultIntervalPolicy(), NextDueAt: now}
			},
		},
		{
			name: "empty profile still judges given values", profile: &devices.ToleranceProfile{},
			edit: func(th *devices.Thermometer) {
				th.RangeMinC, th.RangeMaxC, th.IntervalDays = 42, 35, 1826
			},
			wantFields: sorted("calibration_interval_days", "range_min_c"),
		},
		{
			name: "empty profile judges a one-sided range", profile: &devices.ToleranceProfile{},
			edit:       func(th *devices.Thermometer) { th.RangeMinC, th.IntervalDays = 35, -1 },
			wantFields: sorted("calibration_interval_days", "range_min_c"),
		},
		{
			name: "MPE override with reason",
			edit: func(th *devices.Thermometer) {
				th.MPEOverrideC, th.MPEOverrideReason = ptr(0.3), "  manufacturer spec  "
			},
			want: func() resolved { r := earDefaults(); r.MPEC, r.MPEOverrideReason = 0.3, "manufacturer spec"; return r },
		},
		{
			name: "MPE override at 2.0",
			edit: func(th *devices.Thermometer) { th.MPEOverrideC, th.MPEOverrideReason = ptr(2.0), "screening" },
			want: func() resolved { r := earDefaults(); r.MPEC, r.MPEOverrideReason = 2.0, "screening"; return r },
		},
		{
			name: "MPE override just above 0",
			edit: func(th *devices.Thermometer) { th.MPEOverrideC, th.MPEOverrideReason = ptr(0.01), "lab" },
			want: func() resolved { r := earDefaults(); r.MPEC, r.MPEOverrideReason = 0.01, "lab"; return r },
		},
		{name: "MPE override above 2", edit: func(th *devices.Thermometer) { th.MPEOverrideC, th.MPEOverrideReason = ptr(2.0001), "x" }, wantFields: sorted("mpe_override_c")},
		{name: "MPE override zero", edit: func(th *devices.Thermometer) { th.MPEOverrideC, th.MPEOverrideReason = ptr(0.0), "x" }, wantFields: sorted("mpe_override_c")},
		{name: "MPE override negative", edit: func(th *devices.Thermometer) { th.MPEOverrideC, th.MPEOverrideReason = ptr(-0.2), "x" }, wantFields: sorted("mpe_override_c")},
		{name: "MPE override NaN", edit: func(th *devices.Thermometer) { th.MPEOverrideC, th.MPEOverrideReason = ptr(math.NaN()), "x" }, wantFields: sorted("mpe_override_c")},
		{name: "MPE override without reason", edit: func(th *devices.Thermometer) { th.MPEOverrideC = ptr(0.3) }, wantFields: sorted("mpe_override_reason")},
		{name: "MPE override with blank reason", edit: func(th *devices.Thermometer) { th.MPEOverrideC, th.MPEOverrideReason = ptr(0.3), " \t" }, wantFields: sorted("mpe_override_reason")},
		{name: "MPE override bad and no reason", edit: func(th *devices.Thermometer) { th.MPEOverrideC = ptr(5.0) }, wantFields: sorted("mpe_override_c", "mpe_override_reason")},
		{name: "reason without override", edit: func(th *devices.Thermometer) { th.MPEOverrideReason = "because" }, wantFields: sorted("mpe_override_reason")},
		{name: "reason too long", edit: func(th *devices.Thermometer) {
			th.MPEOverrideC, th.MPEOverrideReason = ptr(0.3), strings.Repeat("r", 501)
		}, wantFields: sorted("mpe_override_reason")},
		{
			name: "one mode",
			edit: func(th *devices.Thermometer) { th.Modes = []devices.ReadingMode{devices.ModeCalibration} },
			want: func() resolved {
				r := earDefaults()
				r.Modes = []devices.ReadingMode{devices.ModeCalibration}
				return r
			},
		},
		{
			name: "modes sorted",
			edit: func(th *devices.Thermometer) {
				th.Modes = []devices.ReadingMode{devices.ModeCalibration, devices.ModeBody}
			},
			want: earDefaults,
		},
		{name: "duplicate mode", edit: func(th *devices.Thermometer) { th.Modes = []devices.ReadingMode{devices.ModeBody, devices.ModeBody} }, wantFields: sorted("modes")},
		{name: "unknown mode", edit: func(th *devices.Thermometer) { th.Modes = []devices.ReadingMode{"blackbody"} }, wantFields: sorted("modes")},
		{name: "mode wrong case", edit: func(th *devices.Thermometer) { th.Modes = []devices.ReadingMode{"Body"} }, wantFields: sorted("modes")},
		{name: "empty mode", edit: func(th *devices.Thermometer) { th.Modes = []devices.ReadingMode{devices.ModeBody, ""} }, wantFields: sorted("modes")},
		{name: "duplicate and unknown mode: one complaint", edit: func(th *devices.Thermometer) {
			th.Modes = []devices.ReadingMode{devices.ModeBody, devices.ModeBody, "x"}
		}, wantFields: sorted("modes")},
		{name: "institute UUID", edit: func(th *devices.Thermometer) { th.InstituteID = ptr(testUUID) }, want: earDefaults},
		{name: "institute not a UUID", edit: func(th *devices.Thermometer) { th.InstituteID = ptr("SIMT") }, wantFields: sorted("institute_id")},
		{
			name: "status kept",
			edit: func(th *devices.Thermometer) { th.Status = devices.StatusQuarantined },
			want: func() resolved { r := earDefaults(); r.Status = devices.StatusQuarantined; return r },
		},
		{name: "status unknown", edit: func(th *devices.Thermometer) { th.Status = "broken" }, wantFields: sorted("status")},
		{name: "status retired without retire action", edit: func(th *devices.Thermometer) { th.Status = devices.StatusRetired }, wantFields: sorted("status")},
		{
			name: "status retired after retire action",
			edit: func(th *devices.Thermometer) { th.Status, th.RetiredAt = devices.StatusRetired, ptr(now) },
			want: func() resolved { r := earDefaults(); r.Status = devices.StatusRetired; return r },
		},
		{
			name: "interval given",
			edit: func(th *devices.Thermometer) { th.IntervalDays = 30 },
			want: func() resolved { r := earDefaults(); r.IntervalDays = 30; return r },
		},
		{
			name: "interval 1 day",
			edit: func(th *devices.Thermometer) { th.IntervalDays = 1 },
			want: func() resolved { r := earDefaults(); r.IntervalDays = 1; return r },
		},
		{
			name: "interval 1825 days",
			edit: func(th *devices.Thermometer) { th.IntervalDays = 1825 },
			want: func() resolved { r := earDefaults(); r.IntervalDays = 1825; return r },
		},
		{
			name: "interval policy given",
			edit: func(th *devices.Thermometer) {
				th.IntervalPolicy = devices.IntervalPolicy{Kind: devices.IntervalFixed, MinDays: 30, MaxDays: 400, LengthenFactor: 1, ShortenFactor: 1}
			},
			want: func() resolved {
				r := earDefaults()
				r.IntervalPolicy = devices.IntervalPolicy{Kind: devices.IntervalFixed, MinDays: 30, MaxDays: 400, LengthenFactor: 1, ShortenFactor: 1}
				return r
			},
		},
		{
			name: "interval policy invalid",
			edit: func(th *devices.Thermometer) {
				th.IntervalPolicy = devices.IntervalPolicy{Kind: "weekly", MinDays: 400, MaxDays: 30, LengthenFactor: 0.5, ShortenFactor: 0.5}
			},
			wantFields: sorted("interval_policy.kind", "interval_policy.min_days", "interval_policy.lengthen_factor"),
		},
		{name: "interval 1826 days", edit: func(th *devices.Thermometer) { th.IntervalDays = 1826 }, wantFields: sorted("calibration_interval_days")},
		{name: "interval negative", edit: func(th *devices.Thermometer) { th.IntervalDays = -1 }, wantFields: sorted("calibration_interval_days")},
		{
			name: "due one interval after the last calibration",
			edit: func(th *devices.Thermometer) { th.LastCalibratedAt = ptr(mustTime(t, "2025-03-01T08:00:00Z")) },
			want: func() resolved {
				r := earDefaults()
				r.LastCalibratedAt = ptr(mustTime(t, "2025-03-01T08:00:00Z"))
				r.NextDueAt = mustTime(t, "2026-03-01T08:00:00Z")
				return r
			},
		},
		{
			name: "due date across a leap day",
			edit: func(th *devices.Thermometer) { th.LastCalibratedAt = ptr(mustTime(t, "2024-02-29T00:00:00Z")) },
			want: func() resolved {
				r := earDefaults()
				r.LastCalibratedAt = ptr(mustTime(t, "2024-02-29T00:00:00Z"))
				r.NextDueAt = mustTime(t, "2025-02-28T00:00:00Z")
				return r
			},
		},
		{
			name: "last calibration in +08:00 stored and due in UTC",
			edit: func(th *devices.Thermometer) {
				th.IntervalDays = 30
				th.LastCalibratedAt = ptr(mustTime(t, "2025-06-30T23:30:00+08:00"))
			},
			want: func() resolved {
				r := earDefaults()
				r.IntervalDays = 30
				r.LastCalibratedAt = ptr(mustTime(t, "2025-06-30T15:30:00Z"))
				r.NextDueAt = mustTime(t, "2025-07-30T15:30:00Z")
				return r
			},
		},
		{
			name: "overdue due date is in the past",
			edit: func(th *devices.Thermometer) {
				th.IntervalDays = 1
				th.LastCalibratedAt = ptr(mustTime(t, "2020-01-01T00:00:00Z"))
			},
			want: func() resolved {
				r := earDefaults()
				r.IntervalDays = 1
				r.LastCalibratedAt = ptr(mustTime(t, "2020-01-01T00:00:00Z"))
				r.NextDueAt = mustTime(t, "2020-01-02T00:00:00Z")
				return r
			},
		},
		{
			name: "last calibration within 5 minutes of clock skew",
			edit: func(th *devices.Thermometer) { th.LastCalibratedAt = ptr(now.Add(5 * time.Minute)) },
			want: func() resolved {
				r := earDefaults()
				r.LastCalibratedAt = ptr(now.Add(5 * time.Minute))
				r.NextDueAt = mustTime(t, "2027-03-01T09:05:00Z")
				return r
			},
		},
		{name: "last calibration in the future", edit: func(th *devices.Thermometer) { th.LastCalibratedAt = ptr(now.Add(5*time.Minute + time.Second)) }, wantFields: sorted("last_calibrated_at")},
		{name: "last calibration next year", edit: func(th *devices.Thermometer) { th.LastCalibratedAt = ptr(now.AddDate(1, 0, 0)) }, wantFields: sorted("last_calibrated_at")},
		{
			name: "never calibrated: due at registration, not at now",
			edit: func(th *devices.Thermometer) { th.CreatedAt = mustTime(t, "2025-12-24T10:00:00+08:00") },
			want: func() resolved { r := earDefaults(); r.NextDueAt = mustTime(t, "2025-12-24T02:00:00Z"); return r },
		},
		{name: "manufacturer missing", edit: func(th *devices.Thermometer) { th.Manufacturer = "   " }, wantFields: sorted("manufacturer")},
		{name: "model missing", edit: func(th *devices.Thermometer) { th.Model = "" }, wantFields: sorted("model")},
		{name: "serial missing", edit: func(th *devices.Thermometer) { th.Serial = "" }, wantFields: sorted("serial")},
		{name: "serial 101 characters", edit: func(th *devices.Thermometer) { th.Serial = strings.Repeat("9", 101) }, wantFields: sorted("serial")},
		{name: "location note 501 characters", edit: func(th *devices.Thermometer) { th.LocationNote = strings.Repeat("l", 501) }, wantFields: sorted("location_note")},
		{
			name: "every bad field is listed",
			edit: func(th *devices.Thermometer) {
				*th = devices.Thermometer{Type: devices.TypeIRForehead, LocationNote: strings.Repeat("l", 501),
					RangeMinC: 40, RangeMaxC: 30, MPEOverrideC: ptr(3.0), Modes: []devices.ReadingMode{"x"},
					InstituteID: ptr("nope"), Status: "gone", IntervalDays: 9999,
					LastCalibratedAt: ptr(now.Add(24 * time.Hour))}
			},
			wantFields: sorted("manufacturer", "model", "serial", "location_note", "tolerance_profile", "range_min_c",
				"mpe_override_c", "mpe_override_reason", "modes", "institute_id", "status", "calibration_interval_days",
				"last_calibrated_at"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prof := earProfile
			if tt.profile != nil {
				prof = *tt.profile
			}
			th := newThermometer()
			tt.edit(&th)
			err := th.Resolve(prof, now)
			if diff := cmp.Diff(tt.wantFields, validationFields(t, err)); diff != "" {
				t.Fatalf("Resolve() = %v; fields (-want +got):\n%s", err, diff)
			}
			if err != nil {
				if !th.NextDueAt.IsZero() {
					t.Errorf("NextDueAt = %v after a failed Resolve, want zero", th.NextDueAt)
				}
				return
			}
			if tt.want == nil {
				t.Fatal("test case expects success but has no want")
			}
			if diff := cmp.Diff(tt.want(), resolvedOf(th)); diff != "" {
				t.Errorf("Resolve() result (-want +got):\n%s", diff)
			}
			if th.NextDueAt.Location() != time.UTC {
				t.Errorf("NextDueAt location = %v, want UTC", th.NextDueAt.Location())
			}
			if th.LastCalibratedAt != nil && th.LastCalibratedAt.Location() != time.UTC {
				t.Errorf("LastCalibratedAt location = %v, want UTC", th.LastCalibratedAt.Location())
			}
		})
	}
}

func TestThermometerResolveTrims(t *testing.T) {
	th := devices.Thermometer{Type: devices.TypeIREar, Manufacturer: " Braun ", Model: "\tIRT6520\n", Serial: " SN 1 "}
	if err := th.Resolve(earProfile, mustTime(t, "2026-03-01T09:00:00Z")); err != nil {
		t.Fatalf("Resolve() = %v", err)
	}
	got := []string{th.Manufacturer, th.Model, th.Serial}
	if diff := cmp.Diff([]string{"Braun", "IRT6520", "SN 1"}, got); diff != "" {
		t.Errorf("trimmed fields (-want +got):\n%s", diff)
	}
}

func TestDefaultModes(t *testing.T) {
	tests := []struct {
		typ  devices.ThermometerType
		want []devices.ReadingMode
	}{
		{devices.TypeIREar, []devices.ReadingMode{devices.ModeCalibration, devices.ModeBody}},
		{devices.TypeIRForehead, []devices.ReadingMode{devices.ModeCalibration, devices.ModeBody}},
		{devices.TypeIRScreening, []devices.ReadingMode{devices.ModeCalibration, devices.ModeBody}},
		{devices.TypeMedicalContact, []devices.ReadingMode{devices.ModeBody}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, devices.DefaultModes(tt.typ)); diff != "" {
			t.Errorf("DefaultModes(%q) (-want +got):\n%s", tt.typ, diff)
		}
	}
	// Each call returns a fresh slice a caller may sort.
	a := devices.DefaultModes(devices.TypeIREar)
	slices.Reverse(a)
	if b := devices.DefaultModes(devices.TypeIREar); b[0] != devices.ModeCalibration {
		t.Errorf("DefaultModes shares its slice between calls: %v", b)
	}
}

func TestThermometerEnumsValid(t *testing.T) {
	for _, v := range devices.ThermometerTypes {
		if !v.Valid() {
			t.Errorf("type %q invalid", v)
		}
	}
	for _, v := range devices.ThermometerStatuses {
		if !v.Valid() {
			t.Errorf("status %q invalid", v)
		}
	}
	for _, v := range []devices.ThermometerType{"", "IR_EAR", "ir_ear "} {
		if v.Valid() {
			t.Errorf("type %q valid", v)
		}
	}
	for _, v := range []devices.ThermometerStatus{"", "In_Service", "broken"} {
		if v.Valid() {
			t.Errorf("status %q valid", v)
		}
	}
	for _, v := range []devices.ReadingMode{"", "BODY", "blackbody"} {
		if v.Valid() {
			t.Errorf("mode %q valid", v)
		}
	}
}

// storedThermometer is a resolved thermometer as the store would load it.
func storedThermometer(tb testing.TB) devices.Thermometer {
	tb.Helper()
	th := newThermometer()
	th.ID = "th-1"
	th.CreatedAt = mustTime(tb, "2025-01-10T08:00:00Z")
	th.LastCalibratedAt = ptr(mustTime(tb, "2025-06-01T08:00:00Z"))
	if err := th.Resolve(earProfile, mustTime(tb, "2026-03-01T09:00:00Z")); err != nil {
		tb.Fatalf("Resolve() = %v", err)
	}
	return th
}

func TestThermometerApply(t *testing.T) {
	lastCal := mustTime(t, "2025-06-01T08:00:00Z")
	tests := []struct {
		name         string
		start        func(th *devices.Thermometer)
		patch        devices.ThermometerPatch
		want         devices.Changes
		wantFields   []string // a *ValidationError naming these
		wantConflict string   // a *ConflictError with this code
		after        func(t *testing.T, th devices.Thermometer)
	}{
		{name: "empty patch", want: devices.Changes{}},
		{
			name: "same values are not changes",
			patch: devices.ThermometerPatch{Manufacturer: ptr("Braun"), RangeMinC: ptr(35.0), Status: ptr(devices.StatusInService),
				IntervalDays: ptr(365), LastCalibratedAt: pptr(mustTime(t, "2025-06-01T16:00:00+08:00")),
				Modes: ptr([]devices.ReadingMode{devices.ModeBody, devices.ModeCalibration}), MPEOverrideC: clearPtr[float64](),
				InstituteID: clearPtr[string]()},
			want: devices.Changes{},
		},
		{
			name:  "several fields",
			patch: devices.ThermometerPatch{Model: ptr("IRT6030"), RangeMaxC: ptr(43.0), IntervalDays: ptr(180), LocationNote: ptr("gate 3")},
			want: devices.Changes{
				"model":                     {From: "IRT6520", To: "IRT6030"},
				"range_max_c":               {From: 42.0, To: 43.0},
				"calibration_interval_days": {From: 365, To: 180},
				"location_note":             {From: "", To: "gate 3"},
			},
			after: func(t *testing.T, th devices.Thermometer) {
				if th.Model != "IRT6030" || th.RangeMaxC != 43 || th.IntervalDays != 180 || th.LocationNote != "gate 3" {
					t.Errorf("fields not applied: %+v", th)
				}
			},
		},
		{
			name:  "set MPE override and reason",
			patch: devices.ThermometerPatch{MPEOverrideC: pptr(0.3), MPEOverrideReason: ptr("field use")},
			want: devices.Changes{
				"mpe_override_c":      {From: nil, To: 0.3},
				"mpe_override_reason": {From: "", To: "field use"},
			},
		},
		{
			name:  "clearing the MPE override clears its reason",
			start: func(th *devices.Thermometer) { th.MPEOverrideC, th.MPEOverrideReason = ptr(0.3), "field use" },
			patch: devices.ThermometerPatch{MPEOverrideC: clearPtr[float64]()},
			want: devices.Changes{
				"mpe_override_c":      {From: 0.3, To: nil},
				"mpe_override_reason": {From: "field use", To: ""},
			},
			after: func(t *testing.T, th devices.Thermometer) {
				if th.MPEOverrideC != nil || th.MPEOverrideReason != "" {
					t.Errorf("override, reason = %v, %q, want nil, empty", th.MPEOverrideC, th.MPEOverrideReason)
				}
			},
		},
		{
			name:  "changing only the reason keeps the override",
			start: func(th *devices.Thermometer) { th.MPEOverrideC, th.MPEOverrideReason = ptr(0.3), "field use" },
			patch: devices.ThermometerPatch{MPEOverrideReason: ptr("lab report 12")},
			want:  devices.Changes{"mpe_override_reason": {From: "field use", To: "lab report 12"}},
			after: func(t *testing.T, th devices.Thermometer) {
				if th.MPEOverrideC == nil || *th.MPEOverrideC != 0.3 {
					t.Errorf("override = %v, want 0.3", th.MPEOverrideC)
				}
			},
		},
		{
			name:  "clear last calibration",
			patch: devices.ThermometerPatch{LastCalibratedAt: clearPtr[time.Time]()},
			want:  devices.Changes{"last_calibrated_at": {From: lastCal, To: nil}},
		},
		{
			name:  "move last calibration",
			patch: devices.ThermometerPatch{LastCalibratedAt: pptr(lastCal.Add(time.Hour))},
			want:  devices.Changes{"last_calibrated_at": {From: lastCal, To: lastCal.Add(time.Hour)}},
		},
		{
			name:  "set institute",
			patch: devices.ThermometerPatch{InstituteID: pptr(testUUID)},
			want:  devices.Changes{"institute_id": {From: nil, To: testUUID}},
		},
		{
			name:  "modes",
			patch: devices.ThermometerPatch{Modes: ptr([]devices.ReadingMode{devices.ModeCalibration})},
			want: devices.Changes{"modes": {From: []devices.ReadingMode{devices.ModeBody, devices.ModeCalibration},
				To: []devices.ReadingMode{devices.ModeCalibration}}},
		},
		{
			name:  "reordered modes are not a change",
			patch: devices.ThermometerPatch{Modes: ptr([]devices.ReadingMode{devices.ModeCalibration, devices.ModeBody})},
			want:  devices.Changes{},
		},
		{
			name: "interval policy replaced: changed fields, reason, interval kept",
			patch: devices.ThermometerPatch{IntervalPolicy: &devices.IntervalPolicy{Kind: devices.IntervalStaircase,
				MinDays: 120, MaxDays: 1000, LengthenFactor: 1.5, ShortenFactor: 0.5}},
			want: devices.Changes{
				"interval_policy.min_days":        {From: 90, To: 120},
				"interval_policy.max_days":        {From: 730, To: 1000},
				"interval_policy.lengthen_factor": {From: 1.25, To: 1.5},
				"interval_reason": {From: "", To: "interval policy changed by the operator to staircase " +
					"(120..1000 days, ×1.5 after a pass, ×0.5 after a fail): kept 365 days"},
			},
			after: func(t *testing.T, th devices.Thermometer) {
				if th.IntervalDays != 365 || th.IntervalPolicy.MaxDays != 1000 {
					t.Errorf("interval %d policy %+v; want 365 and the new policy", th.IntervalDays, th.IntervalPolicy)
				}
			},
		},
		{
			name: "interval policy to fixed, interval set in the same patch",
			start: func(th *devices.Thermometer) {
				th.IntervalReason = "as-found 0.1 °C within MPE 0.2 °C: kept 365 days"
			},
			patch: devices.ThermometerPatch{IntervalDays: ptr(200), IntervalPolicy: &devices.IntervalPolicy{Kind: devices.IntervalFixed,
				MinDays: 90, MaxDays: 730, LengthenFactor: 1.25, ShortenFactor: 0.5}},
			want: devices.Changes{
				"calibration_interval_days": {From: 365, To: 200},
				"interval_policy.kind":      {From: devices.IntervalStaircase, To: devices.IntervalFixed},
				"interval_reason": {From: "as-found 0.1 °C within MPE 0.2 °C: kept 365 days",
					To: "interval policy changed by the operator to fixed; interval set by the operator"},
			},
		},
		{
			name:  "the same interval policy is no change",
			patch: devices.ThermometerPatch{IntervalPolicy: ptr(devices.DefaultIntervalPolicy())},
			want:  devices.Changes{},
		},
		{
			name:  "the zero interval policy is the default",
			start: func(th *devices.Thermometer) { th.IntervalPolicy.Kind = devices.IntervalFixed },
			patch: devices.ThermometerPatch{IntervalPolicy: &devices.IntervalPolicy{}},
			want: devices.Changes{
				"interval_policy.kind": {From: devices.IntervalFixed, To: devices.IntervalStaircase},
				"interval_reason": {From: "", To: "interval policy changed by the operator to staircase " +
					"(90..730 days, ×1.25 after a pass, ×0.5 after a fail): kept 365 days"},
			},
		},
		{
			name:  "in service to quarantined",
			patch: devices.ThermometerPatch{Status: ptr(devices.StatusQuarantined)},
			want:  devices.Changes{"status": {From: devices.StatusInService, To: devices.StatusQuarantined}},
		},
		{
			name:  "in service to out of tolerance",
			patch: devices.ThermometerPatch{Status: ptr(devices.StatusOutOfTolerance)},
			want:  devices.Changes{"status": {From: devices.StatusInService, To: devices.StatusOutOfTolerance}},
		},
		{
			name:  "quarantined back to service",
			start: func(th *devices.Thermometer) { th.Status = devices.StatusQuarantined },
			patch: devices.ThermometerPatch{Status: ptr(devices.StatusInService)},
			want:  devices.Changes{"status": {From: devices.StatusQuarantined, To: devices.StatusInService}},
		},
		{
			name:  "out of tolerance to quarantined",
			start: func(th *devices.Thermometer) { th.Status = devices.StatusOutOfTolerance },
			patch: devices.ThermometerPatch{Status: ptr(devices.StatusQuarantined)},
			want:  devices.Changes{"status": {From: devices.StatusOutOfTolerance, To: devices.StatusQuarantined}},
		},
		{
			name:         "out of tolerance cannot return to service by patch",
			start:        func(th *devices.Thermometer) { th.Status = devices.StatusOutOfTolerance },
			patch:        devices.ThermometerPatch{Status: ptr(devices.StatusInService), Model: ptr("new")},
			wantConflict: "invalid_transition",
		},
		{
			name:  "out of tolerance: other fields may change",
			start: func(th *devices.Thermometer) { th.Status = devices.StatusOutOfTolerance },
			patch: devices.ThermometerPatch{LocationNote: ptr("bench")},
			want:  devices.Changes{"location_note": {From: "", To: "bench"}},
		},
		{
			name:       "cannot retire by patch",
			patch:      devices.ThermometerPatch{Status: ptr(devices.StatusRetired), Model: ptr("new")},
			wantFields: sorted("status"),
		},
		{
			name:       "unknown status",
			patch:      devices.ThermometerPatch{Status: ptr(devices.ThermometerStatus("broken"))},
			wantFields: sorted("status"),
		},
		{
			name:         "retired cannot return to service",
			start:        func(th *devices.Thermometer) { th.Status, th.RetiredAt = devices.StatusRetired, ptr(lastCal) },
			patch:        devices.ThermometerPatch{Status: ptr(devices.StatusInService)},
			wantConflict: "retired",
		},
		{
			name:         "retired cannot change other fields",
			start:        func(th *devices.Thermometer) { th.Status, th.RetiredAt = devices.StatusRetired, ptr(lastCal) },
			patch:        devices.ThermometerPatch{LocationNote: ptr("store room")},
			wantConflict: "retired",
		},
		{
			name:         "retired with same status in patch",
			start:        func(th *devices.Thermometer) { th.Status, th.RetiredAt = devices.StatusRetired, ptr(lastCal) },
			patch:        devices.ThermometerPatch{Status: ptr(devices.StatusRetired)},
			wantConflict: "retired",
		},
		{
			name:         "retired with empty patch",
			start:        func(th *devices.Thermometer) { th.Status, th.RetiredAt = devices.StatusRetired, ptr(lastCal) },
			wantConflict: "retired",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th := storedThermometer(t)
			if tt.start != nil {
				tt.start(&th)
			}
			before := th
			got, err := th.Apply(tt.patch)
			switch {
			case tt.wantConflict != "":
				if code := conflictCode(t, err); code != tt.wantConflict {
					t.Errorf("Apply() conflict code = %q, want %q", code, tt.wantConflict)
				}
			case tt.wantFields != nil:
				if diff := cmp.Diff(tt.wantFields, validationFields(t, err)); diff != "" {
					t.Errorf("Apply() = %v; fields (-want +got):\n%s", err, diff)
				}
			default:
				if err != nil {
					t.Fatalf("Apply() = %v, want no error", err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("Apply() changes (-want +got):\n%s", diff)
				}
				if tt.after != nil {
					tt.after(t, th)
				}
				return
			}
			if got != nil {
				t.Errorf("Apply() changes = %v with an error, want nil", got)
			}
			if diff := cmp.Diff(before, th); diff != "" {
				t.Errorf("a rejected Apply changed the thermometer (-before +after):\n%s", diff)
			}
		})
	}
}

// TestThermometerApplyThenResolve follows the store: Apply, Resolve, then
// audit the changes. Resolve must not rewrite the recorded changes or the
// caller's patch.
func TestThermometerApplyThenResolve(t *testing.T) {
	now := mustTime(t, "2026-03-01T09:00:00Z")
	th := storedThermometer(t)
	th.Type, th.Modes = devices.TypeMedicalContact, []devices.ReadingMode{devices.ModeBody}
	th.ToleranceProfile = contactProfile.Code
	patchModes := []devices.ReadingMode{devices.ModeCalibration, devices.ModeBody}
	ch, err := th.Apply(devices.ThermometerPatch{Modes: &patchModes, MPEOverrideC: pptr(0.15), MPEOverrideReason: ptr("lab")})
	if err != nil {
		t.Fatalf("Apply() = %v", err)
	}
	if err := th.Resolve(contactProfile, now); err != nil {
		t.Fatalf("Resolve() = %v", err)
	}
	want := devices.Changes{
		"modes":               {From: []devices.ReadingMode{devices.ModeBody}, To: []devices.ReadingMode{devices.ModeBody, devices.ModeCalibration}},
		"mpe_override_c":      {From: nil, To: 0.15},
		"mpe_override_reason": {From: "", To: "lab"},
	}
	if diff := cmp.Diff(want, ch); diff != "" {
		t.Errorf("changes after Resolve (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]devices.ReadingMode{devices.ModeCalibration, devices.ModeBody}, patchModes); diff != "" {
		t.Errorf("caller's patch slice was rewritten (-want +got):\n%s", diff)
	}
	if th.MPEC != 0.15 || th.MPEOverrideReason != "lab" {
		t.Errorf("MPEC, reason = %v, %q, want 0.15, lab", th.MPEC, th.MPEOverrideReason)
	}
	wantDue := mustTime(t, "2026-06-01T08:00:00Z") // 2025-06-01 + 365 days
	if !th.NextDueAt.Equal(wantDue) {
		t.Errorf("NextDueAt = %v, want %v", th.NextDueAt, wantDue)
	}
}

// TestThermometerReorderedModesAudit: sending the stored modes in another
// order must not leave an audit entry whose from and to are the same.
func TestThermometerReorderedModesAudit(t *testing.T) {
	th := storedThermometer(t) // modes [body calibration]
	ch, err := th.Apply(devices.ThermometerPatch{Modes: ptr([]devices.ReadingMode{devices.ModeCalibration, devices.ModeBody}),
		LocationNote: ptr("hall")})
	if err != nil {
		t.Fatalf("Apply() = %v", err)
	}
	if err := th.Resolve(earProfile, mustTime(t, "2026-03-01T09:00:00Z")); err != nil {
		t.Fatalf("Resolve() = %v", err)
	}
	for field, c := range ch {
		if cmp.Equal(c.From, c.To) {
			t.Errorf("change %s has From == To == %v after Resolve", field, c.From)
		}
	}
	if _, ok := ch["location_note"]; !ok || len(ch) != 1 {
		t.Errorf("changes = %v, want only location_note", ch)
	}
}

// TestThermometerClearLastCalibrationDue: clearing the last calibration makes
// the thermometer due from its registration.
func TestThermometerClearLastCalibrationDue(t *testing.T) {
	th := storedThermometer(t)
	if _, err := th.Apply(devices.ThermometerPatch{LastCalibratedAt: clearPtr[time.Time]()}); err != nil {
		t.Fatalf("Apply() = %v", err)
	}
	if err := th.Resolve(earProfile, mustTime(t, "2026-03-01T09:00:00Z")); err != nil {
		t.Fatalf("Resolve() = %v", err)
	}
	if want := mustTime(t, "2025-01-10T08:00:00Z"); !th.NextDueAt.Equal(want) {
		t.Errorf("NextDueAt = %v, want the registration time %v", th.NextDueAt, want)
	}
}

func TestThermometerApplyErrorKinds(t *testing.T) {
	th := storedThermometer(t)
	th.Status = devices.StatusOutOfTolerance
	_, err := th.Apply(devices.ThermometerPatch{Status: ptr(devices.StatusInService)})
	if !errors.Is(err, devices.ErrConflict) {
		t.Errorf("out_of_tolerance -> in_service: %v, want ErrConflict", err)
	}
	var ve *devices.ValidationError
	if errors.As(err, &ve) {
		t.Errorf("out_of_tolerance -> in_service is a ValidationError; want only a conflict")
	}
	_, err = th.Apply(devices.ThermometerPatch{Status: ptr(devices.StatusRetired)})
	if errors.Is(err, devices.ErrConflict) || !errors.As(err, &ve) {
		t.Errorf("-> retired: %v, want a ValidationError and not ErrConflict", err)
	}
}
