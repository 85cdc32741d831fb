package devices_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/calibd/calibd/devices"
)

func newElevator() devices.Elevator {
	return devices.Elevator{RegistrationCode: "31103101002019060001", Manufacturer: "Schindler", Model: "3300"}
}

func TestElevatorValidate(t *testing.T) {
	now := mustTime(t, "2026-03-01T09:00:00Z")
	tests := []struct {
		name       string
		edit       func(e *devices.Elevator)
		wantFields []string
		wantCode   string // registration code after Validate, when not empty
		wantDate   string // commissioning date after Validate (RFC 3339), when not empty
		wantStatus devices.ElevatorStatus
	}{
		{name: "valid", edit: func(e *devices.Elevator) {}, wantCode: "31103101002019060001", wantStatus: devices.ElevatorInService},
		{name: "code upper-cased and trimmed", edit: func(e *devices.Elevator) { e.RegistrationCode = "  dt-31/2019a " },
			wantCode: "DT-31/2019A", wantStatus: devices.ElevatorInService},
		{name: "code missing", edit: func(e *devices.Elevator) { e.RegistrationCode = " " }, wantFields: sorted("registration_code")},
		{name: "code with space", edit: func(e *devices.Elevator) { e.RegistrationCode = "DT 31" }, wantFields: sorted("registration_code")},
		{name: "code with underscore", edit: func(e *devices.Elevator) { e.RegistrationCode = "DT_31" }, wantFields: sorted("registration_code")},
		{name: "code with CJK", edit: func(e *devices.Elevator) { e.RegistrationCode = "梯31" }, wantFields: sorted("registration_code")},
		{name: "code with dot", edit: func(e *devices.Elevator) { e.RegistrationCode = "31.01" }, wantFields: sorted("registration_code")},
		{name: "code 40 characters", edit: func(e *devices.Elevator) { e.RegistrationCode = strings.Repeat("7", 40) },
			wantCode: strings.Repeat("7", 40), wantStatus: devices.ElevatorInService},
		{name: "code 41 characters", edit: func(e *devices.Elevator) { e.RegistrationCode = strings.Repeat("7", 41) }, wantFields: sorted("registration_code")},
		{name: "manufacturer missing", edit: func(e *devices.Elevator) { e.Manufacturer = "\t" }, wantFields: sorted("manufacturer")},
		{name: "model optional", edit: func(e *devices.Elevator) { e.Model = "" }, wantStatus: devices.ElevatorInService},
		{name: "model 101 characters", edit: func(e *devices.Elevator) { e.Model = strings.Repeat("m", 101) }, wantFields: sorted("model")},
		{name: "maintenance firm UUID", edit: func(e *devices.Elevator) { e.MaintenanceFirmID = ptr(testUUID) }, wantStatus: devices.ElevatorInService},
		{name: "maintenance firm not a UUID", edit: func(e *devices.Elevator) { e.MaintenanceFirmID = ptr("otis") }, wantFields: sorted("maintenance_firm_id")},
		{name: "maintenance firm empty", edit: func(e *devices.Elevator) { e.MaintenanceFirmID = ptr("") }, wantFields: sorted("maintenance_firm_id")},
		{name: "commissioning date", edit: func(e *devices.Elevator) { e.CommissioningDate = ptr(mustTime(t, "2019-06-30T00:00:00Z")) },
			wantDate: "2019-06-30T00:00:00Z", wantStatus: devices.ElevatorInService},
		{name: "commissioning time truncated to its UTC date", edit: func(e *devices.Elevator) {
			e.CommissioningDate = ptr(mustTime(t, "2019-06-30T15:45:00+08:00"))
		}, wantDate: "2019-06-30T00:00:00Z", wantStatus: devices.ElevatorInService},
		{name: "commissioned today", edit: func(e *devices.Elevator) { e.CommissioningDate = ptr(mustTime(t, "2026-03-01T00:00:00Z")) },
			wantDate: "2026-03-01T00:00:00Z", wantStatus: devices.ElevatorInService},
		{name: "commissioned later today", edit: func(e *devices.Elevator) { e.CommissioningDate = ptr(mustTime(t, "2026-03-01T23:00:00Z")) },
			wantDate: "2026-03-01T00:00:00Z", wantStatus: devices.ElevatorInService},
		{name: "commissioned tomorrow", edit: func(e *devices.Elevator) { e.CommissioningDate = ptr(mustTime(t, "2026-03-02T00:00:00Z")) },
			wantFields: sorted("commissioning_date")},
		{name: "commissioned in 1900", edit: func(e *devices.Elevator) { e.CommissioningDate = ptr(mustTime(t, "1900-01-01T00:00:00Z")) },
			wantDate: "1900-01-01T00:00:00Z", wantStatus: devices.ElevatorInService},
		{name: "commissioned in 1899", edit: func(e *devices.Elevator) { e.CommissioningDate = ptr(mustTime(t, "1899-12-31T00:00:00Z")) },
			wantFields: sorted("commissioning_date")},
		{name: "status kept", edit: func(e *devices.Elevator) { e.Status = devices.ElevatorUnderRepair }, wantStatus: devices.ElevatorUnderRepair},
		{name: "status unknown", edit: func(e *devices.Elevator) { e.Status = "stuck" }, wantFields: sorted("status")},
		{name: "status retired without retire action", edit: func(e *devices.Elevator) { e.Status = devices.ElevatorRetired }, wantFields: sorted("status")},
		{name: "status retired after retire action", edit: func(e *devices.Elevator) { e.Status, e.RetiredAt = devices.ElevatorRetired, ptr(now) },
			wantStatus: devices.ElevatorRetired},
		{
			name: "every bad field is listed",
			edit: func(e *devices.Elevator) {
				*e = devices.Elevator{RegistrationCode: "a b", Model: strings.Repeat("m", 101), MaintenanceFirmID: ptr("x"),
					CommissioningDate: ptr(now.AddDate(0, 0, 2)), Status: "gone"}
			},
			wantFields: sorted("registration_code", "manufacturer", "model", "maintenance_firm_id", "commissioning_date", "status"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newElevator()
			tt.edit(&e)
			err := e.Validate(now)
			if diff := cmp.Diff(tt.wantFields, validationFields(t, err)); diff != "" {
				t.Fatalf("Validate() = %v; fields (-want +got):\n%s", err, diff)
			}
			if err != nil {
				return
			}
			if tt.wantCode != "" && e.RegistrationCode != tt.wantCode {
				t.Errorf("RegistrationCode = %q, want %q", e.RegistrationCode, tt.wantCode)
			}
			if tt.wantDate != "" {
				if e.CommissioningDate == nil {
					t.Fatalf("CommissioningDate = nil, want %s", tt.wantDate)
				}
				if got := e.CommissioningDate.Format(time.RFC3339); got != tt.wantDate {
					t.Errorf("CommissioningDate = %s, want %s", got, tt.wantDate)
				}
			}
			if e.Status != tt.wantStatus {
				t.Errorf("Status = %q, want %q", e.Status, tt.wantStatus)
			}
		})
	}
}

func TestElevatorValidateDoesNotMutateCallerDate(t *testing.T) {
	d := mustTime(t, "2019-06-30T15:45:00+08:00")
	e := newElevator()
	e.CommissioningDate = &d
	if err := e.Validate(mustTime(t, "2026-03-01T09:00:00Z")); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	if !d.Equal(mustTime(t, "2019-06-30T15:45:00+08:00")) {
		t.Errorf("caller's time rewritten to %v", d)
	}
}

func TestElevatorApply(t *testing.T) {
	d1 := mustTime(t, "2019-06-30T00:00:00Z")
	d2 := mustTime(t, "2020-01-15T00:00:00Z")
	tests := []struct {
		name         string
		start        func(e *devices.Elevator)
		patch        devices.ElevatorPatch
		want         devices.Changes
		wantFields   []string
		wantConflict string
	}{
		{name: "empty patch", want: devices.Changes{}},
		{
			name: "same values are not changes",
			patch: devices.ElevatorPatch{RegistrationCode: ptr("31103101002019060001"), Manufacturer: ptr("Schindler"),
				CommissioningDate: pptr(mustTime(t, "2019-06-30T08:00:00+08:00")), MaintenanceFirmID: clearPtr[string](),
				Status: ptr(devices.ElevatorInService)},
			want: devices.Changes{},
		},
		{
			name:  "code, model and venue",
			patch: devices.ElevatorPatch{RegistrationCode: ptr("X-1"), Model: ptr("5500"), VenueID: ptr("v2")},
			want: devices.Changes{
				"registration_code": {From: "31103101002019060001", To: "X-1"},
				"model":             {From: "3300", To: "5500"},
				"venue_id":          {From: "v1", To: "v2"},
			},
		},
		{
			name:  "commissioning date recorded as dates",
			patch: devices.ElevatorPatch{CommissioningDate: pptr(d2)},
			want:  devices.Changes{"commissioning_date": {From: "2019-06-30", To: "2020-01-15"}},
		},
		{
			name:  "clear commissioning date",
			patch: devices.ElevatorPatch{CommissioningDate: clearPtr[time.Time]()},
			want:  devices.Changes{"commissioning_date": {From: "2019-06-30", To: nil}},
		},
		{
			name:  "set maintenance firm",
			patch: devices.ElevatorPatch{MaintenanceFirmID: pptr(testUUID)},
			want:  devices.Changes{"maintenance_firm_id": {From: nil, To: testUUID}},
		},
		{
			name:  "clear maintenance firm",
			start: func(e *devices.Elevator) { e.MaintenanceFirmID = ptr(testUUID) },
			patch: devices.ElevatorPatch{MaintenanceFirmID: clearPtr[string]()},
			want:  devices.Changes{"maintenance_firm_id": {From: testUUID, To: nil}},
		},
		{
			name:  "out of service",
			patch: devices.ElevatorPatch{Status: ptr(devices.ElevatorOutOfService)},
			want:  devices.Changes{"status": {From: devices.ElevatorInService, To: devices.ElevatorOutOfService}},
		},
		{
			name:  "under repair back to service",
			start: func(e *devices.Elevator) { e.Status = devices.ElevatorUnderRepair },
			patch: devices.ElevatorPatch{Status: ptr(devices.ElevatorInService)},
			want:  devices.Changes{"status": {From: devices.ElevatorUnderRepair, To: devices.ElevatorInService}},
		},
		{
			name:       "cannot retire by patch",
			patch:      devices.ElevatorPatch{Status: ptr(devices.ElevatorRetired), Model: ptr("x")},
			wantFields: sorted("status"),
		},
		{
			name:         "retired cannot change",
			start:        func(e *devices.Elevator) { e.Status, e.RetiredAt = devices.ElevatorRetired, ptr(d2) },
			patch:        devices.ElevatorPatch{Model: ptr("x")},
			wantConflict: "retired",
		},
		{
			name:         "retired cannot return to service",
			start:        func(e *devices.Elevator) { e.Status, e.RetiredAt = devices.ElevatorRetired, ptr(d2) },
			patch:        devices.ElevatorPatch{Status: ptr(devices.ElevatorInService)},
			wantConflict: "retired",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newElevator()
			e.ID, e.VenueID, e.CommissioningDate, e.Status = "el-1", "v1", ptr(d1), devices.ElevatorInService
			if tt.start != nil {
				tt.start(&e)
			}
			before := e
			got, err := e.Apply(tt.patch)
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
					t.Fatalf("Apply() = %v", err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("Apply() changes (-want +got):\n%s", diff)
				}
				return
			}
			if got != nil {
				t.Errorf("Apply() changes = %v with an error, want nil", got)
			}
			if diff := cmp.Diff(before, e); diff != "" {
				t.Errorf("a rejected Apply changed the elevator (-before +after):\n%s", diff)
			}
		})
	}
}

func TestElevatorStatusValid(t *testing.T) {
	for _, s := range devices.ElevatorStatuses {
		if !s.Valid() {
			t.Errorf("%q.Valid() = false", s)
		}
	}
	for _, s := range []devices.ElevatorStatus{"", "IN_SERVICE", "stuck"} {
		if s.Valid() {
			t.Errorf("%q.Valid() = true", s)
		}
	}
}
