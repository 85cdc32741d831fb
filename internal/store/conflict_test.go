package store_test

import (
	"testing"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
)

// TestConflicts: unique keys and state rules come back as
// *devices.ConflictError with a stable code on both dialects, and nothing
// is written.
func TestConflicts(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx

		t.Run("duplicate serial on create", func(t *testing.T) {
			dup := w.newThermometer(w.venueA.ID)
			dup.Serial = w.thermA2.Serial
			err := st.CreateThermometer(ctx, w.adminA, &dup)
			wantConflict(t, "CreateThermometer(same manufacturer+model+serial)", err, "duplicate_serial")
			// Another tenant cannot register the same instrument either.
			dup = w.newThermometer(w.venueB.ID)
			dup.Serial = w.thermA.Serial
			err = st.CreateThermometer(ctx, w.adminB, &dup)
			wantConflict(t, "CreateThermometer(B, A's serial)", err, "duplicate_serial")
			// Same serial, other model: a different instrument.
			ok := w.newThermometer(w.venueA.ID)
			ok.Serial, ok.Model = w.thermA.Serial, "ThermoScan 7"
			if err := st.CreateThermometer(ctx, w.adminA, &ok); err != nil {
				t.Errorf("CreateThermometer(same serial, other model) = %v", err)
			}
		})

		t.Run("duplicate serial on update", func(t *testing.T) {
			_, err := st.UpdateThermometer(ctx, w.adminA, w.thermA2.ID, 1, devices.ThermometerPatch{Serial: &w.thermA.Serial})
			wantConflict(t, "UpdateThermometer(serial of another)", err, "duplicate_serial")
			th, err := st.GetThermometer(ctx, w.adminA, w.thermA2.ID)
			if err != nil || th.Serial != w.thermA2.Serial || th.Version != 1 {
				t.Errorf("thermA2 after refused update = serial %s version %d, %v", th.Serial, th.Version, err)
			}
		})

		t.Run("duplicate registration code", func(t *testing.T) {
			dup := w.newElevator(w.venueA.ID)
			dup.RegistrationCode = w.elevA2.RegistrationCode
			err := st.CreateElevator(ctx, w.adminA, &dup)
			wantConflict(t, "CreateElevator(same code)", err, "duplicate_registration_code")
			// Codes are compared after normalising to upper case.
			dup = w.newElevator(w.venueB.ID)
			dup.RegistrationCode = " " + lower(w.elevA.RegistrationCode) + " "
			err = st.CreateElevator(ctx, w.adminB, &dup)
			wantConflict(t, "CreateElevator(B, A's code in lower case)", err, "duplicate_registration_code")
			_, err = st.UpdateElevator(ctx, w.adminB, w.elevB.ID, 1, devices.ElevatorPatch{RegistrationCode: &w.elevA.RegistrationCode})
			wantConflict(t, "UpdateElevator(code of another)", err, "duplicate_registration_code")
			if n := w.count("elevators"); n != 3 {
				t.Errorf("elevators = %d after refused writes, want 3", n)
			}
		})

		t.Run("venue in use", func(t *testing.T) {
			_, err := st.RetireVenue(ctx, w.adminB, w.venueB.ID, 1)
			wantConflict(t, "RetireVenue(with a thermometer and an elevator)", err, "venue_in_use")
			if _, err := st.RetireThermometer(ctx, w.adminB, w.thermB.ID, 1); err != nil {
				t.Fatal(err)
			}
			_, err = st.RetireVenue(ctx, w.adminB, w.venueB.ID, 1)
			wantConflict(t, "RetireVenue(with an elevator)", err, "venue_in_use")
			if _, err := st.RetireElevator(ctx, w.adminB, w.elevB.ID, 1); err != nil {
				t.Fatal(err)
			}
			v, err := st.RetireVenue(ctx, w.adminB, w.venueB.ID, 1)
			if err != nil || !v.Retired || v.Version != 2 || v.RetiredAt == nil {
				t.Fatalf("RetireVenue(only retired devices) = %+v, %v", v, err)
			}
			// A retired venue takes no new devices.
			th := w.newThermometer(w.venueB.ID)
			wantConflict(t, "CreateThermometer(retired venue)", st.CreateThermometer(ctx, w.adminB, &th), "retired")
			// Retiring twice is a no-op.
			v2, err := st.RetireVenue(ctx, w.adminB, w.venueB.ID, 1)
			if err != nil || v2.Version != 2 {
				t.Errorf("RetireVenue again = version %d, %v; want 2, nil", v2.Version, err)
			}
		})

		t.Run("out_of_tolerance does not return to service by patch", func(t *testing.T) {
			th, err := st.UpdateThermometer(ctx, w.adminA, w.thermA.ID, 1, devices.ThermometerPatch{Status: ptr(devices.StatusOutOfTolerance)})
			if err != nil || th.Status != devices.StatusOutOfTolerance || th.Version != 2 {
				t.Fatalf("mark out_of_tolerance = %s v%d, %v", th.Status, th.Version, err)
			}
			_, err = st.UpdateThermometer(ctx, w.adminA, w.thermA.ID, 2, devices.ThermometerPatch{Status: ptr(devices.StatusInService)})
			wantConflict(t, "out_of_tolerance -> in_service", err, "invalid_transition")
			th, err = st.GetThermometer(ctx, w.adminA, w.thermA.ID)
			if err != nil || th.Status != devices.StatusOutOfTolerance || th.Version != 2 {
				t.Errorf("thermA after refused transition = %s v%d, %v; want out_of_tolerance v2", th.Status, th.Version, err)
			}
			// Quarantine is allowed from out_of_tolerance.
			th, err = st.UpdateThermometer(ctx, w.adminA, w.thermA.ID, 2, devices.ThermometerPatch{Status: ptr(devices.StatusQuarantined)})
			if err != nil || th.Status != devices.StatusQuarantined {
				t.Errorf("out_of_tolerance -> quarantined = %s, %v", th.Status, err)
			}
			_, err = st.UpdateThermometer(ctx, w.adminA, w.thermA.ID, 3, devices.ThermometerPatch{Status: ptr(devices.StatusRetired)})
			wantFields(t, "status -> retired by patch", err, "status")
		})

		t.Run("retired devices are frozen", func(t *testing.T) {
			th, err := st.RetireThermometer(ctx, w.adminA, w.thermA2.ID, 1)
			if err != nil {
				t.Fatal(err)
			}
			_, err = st.UpdateThermometer(ctx, w.adminA, th.ID, th.Version, devices.ThermometerPatch{LocationNote: ptr("x")})
			wantConflict(t, "UpdateThermometer(retired)", err, "retired")
			el, err := st.RetireElevator(ctx, w.adminA, w.elevA2.ID, 1)
			if err != nil {
				t.Fatal(err)
			}
			_, err = st.UpdateElevator(ctx, w.adminA, el.ID, el.Version, devices.ElevatorPatch{Model: ptr("x")})
			wantConflict(t, "UpdateElevator(retired)", err, "retired")
		})

		t.Run("organizations", func(t *testing.T) {
			_, err := st.RetireOrganization(ctx, w.reg, w.reg.OrgID, 1)
			wantConflict(t, "regulator retires itself", err, "self_retire")
			o, err := st.RetireOrganization(ctx, w.reg, w.firm.ID, 1)
			if err != nil || !o.Retired {
				t.Fatalf("RetireOrganization(firm) = %+v, %v", o, err)
			}
			_, _, err = st.IssueToken(ctx, w.reg, w.firm.ID, devices.TokenRequest{Name: "x", Role: devices.RoleAdmin})
			wantConflict(t, "IssueToken(retired org)", err, "retired")
			_, err = st.UpdateOrganization(ctx, w.reg, w.firm.ID, o.Version, devices.OrganizationPatch{Name: ptr("x")})
			wantConflict(t, "UpdateOrganization(retired org)", err, "retired")
			// A retired firm can no longer be assigned.
			e := w.elevator(w.adminA, w.venueA.ID, nil)
			_, err = st.UpdateElevator(ctx, w.adminA, e.ID, 1, devices.ElevatorPatch{MaintenanceFirmID: pptr(w.firm.ID)})
			wantFields(t, "assign retired firm", err, "maintenance_firm_id")
			e2 := w.newElevator(w.venueA.ID)
			e2.MaintenanceFirmID = &w.firm.ID
			wantFields(t, "create with retired firm", st.CreateElevator(ctx, w.adminA, &e2), "maintenance_firm_id")
		})
	})
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// TestValidation: references that do not resolve are field errors naming
// the field, on create and on update, and nothing is written.
func TestValidation(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx
		missing := "01890000-0000-7000-8000-00000000abcd"
		thTests := []struct {
			name  string
			mod   func(*devices.Thermometer)
			field string
		}{
			{"unknown profile", func(th *devices.Thermometer) { th.ToleranceProfile = "jjg9999_nose" }, "tolerance_profile"},
			{"profile for another type", func(th *devices.Thermometer) { th.ToleranceProfile = "jjf1107_forehead" }, "tolerance_profile"},
			{"institute is a venue operator", func(th *devices.Thermometer) { th.InstituteID = &w.opB.ID }, "institute_id"},
			{"institute is a firm", func(th *devices.Thermometer) { th.InstituteID = &w.firm.ID }, "institute_id"},
			{"institute does not exist", func(th *devices.Thermometer) { th.InstituteID = &missing }, "institute_id"},
			{"institute is not a uuid", func(th *devices.Thermometer) { th.InstituteID = ptr("SIMT") }, "institute_id"},
			{"unknown type", func(th *devices.Thermometer) { th.Type = "ir_nose" }, "type"},
			{"serial missing", func(th *devices.Thermometer) { th.Serial = "  " }, "serial"},
			{"override without reason", func(th *devices.Thermometer) { th.MPEOverrideC = ptr(0.25) }, "mpe_override_reason"},
			{"calibrated in the future", func(th *devices.Thermometer) { th.LastCalibratedAt = ptr(t0.AddDate(0, 0, 1)) }, "last_calibrated_at"},
		}
		for _, tt := range thTests {
			t.Run("create thermometer: "+tt.name, func(t *testing.T) {
				th := w.newThermometer(w.venueA.ID)
				tt.mod(&th)
				err := st.CreateThermometer(ctx, w.adminA, &th)
				ve := wantFields(t, "CreateThermometer", err, tt.field)
				if ve != nil && (tt.field == "institute_id" || tt.field == "serial") && len(ve.Fields) != 1 {
					t.Errorf("CreateThermometer: %v, want only %s at fault", ve, tt.field)
				}
			})
		}
		thPatches := []struct {
			name  string
			p     devices.ThermometerPatch
			field string
		}{
			{"unknown profile", devices.ThermometerPatch{ToleranceProfile: ptr("nope")}, "tolerance_profile"},
			{"profile for another type", devices.ThermometerPatch{ToleranceProfile: ptr("jjg1162_contact")}, "tolerance_profile"},
			{"type the profile does not govern", devices.ThermometerPatch{Type: ptr(devices.TypeIRScreening)}, "tolerance_profile"},
			{"institute is a venue operator", devices.ThermometerPatch{InstituteID: pptr(w.opA.ID)}, "institute_id"},
			{"institute does not exist", devices.ThermometerPatch{InstituteID: pptr(missing)}, "institute_id"},
			{"venue does not exist", devices.ThermometerPatch{VenueID: &missing}, "venue_id"},
		}
		for _, tt := range thPatches {
			t.Run("update thermometer: "+tt.name, func(t *testing.T) {
				_, err := st.UpdateThermometer(ctx, w.adminA, w.thermA2.ID, 1, tt.p)
				wantFields(t, "UpdateThermometer", err, tt.field)
			})
		}
		elTests := []struct {
			name  string
			mod   func(*devices.Elevator)
			field string
		}{
			{"firm is an institute", func(e *devices.Elevator) { e.MaintenanceFirmID = &w.inst.ID }, "maintenance_firm_id"},
			{"firm is a venue operator", func(e *devices.Elevator) { e.MaintenanceFirmID = &w.opA.ID }, "maintenance_firm_id"},
			{"firm does not exist", func(e *devices.Elevator) { e.MaintenanceFirmID = &missing }, "maintenance_firm_id"},
			{"bad code", func(e *devices.Elevator) { e.RegistrationCode = "AB 12" }, "registration_code"},
			{"commissioned in the future", func(e *devices.Elevator) { e.CommissioningDate = ptr(t0.AddDate(0, 1, 0)) }, "commissioning_date"},
		}
		for _, tt := range elTests {
			t.Run("create elevator: "+tt.name, func(t *testing.T) {
				e := w.newElevator(w.venueA.ID)
				tt.mod(&e)
				err := st.CreateElevator(ctx, w.adminA, &e)
				if ve := wantFields(t, "CreateElevator", err, tt.field); ve != nil && len(ve.Fields) != 1 {
					t.Errorf("CreateElevator: %v, want only %s at fault", ve, tt.field)
				}
			})
		}
		_, err := st.UpdateElevator(ctx, w.adminA, w.elevA2.ID, 1, devices.ElevatorPatch{MaintenanceFirmID: pptr(w.inst.ID)})
		wantFields(t, "UpdateElevator(firm = institute)", err, "maintenance_firm_id")

		if n := w.count("thermometers"); n != 3 {
			t.Errorf("thermometers = %d after refused creates, want 3", n)
		}
		if n := w.count("elevators"); n != 3 {
			t.Errorf("elevators = %d after refused creates, want 3", n)
		}
		th, err := st.GetThermometer(ctx, w.adminA, w.thermA2.ID)
		if err != nil || th.Version != 1 {
			t.Errorf("thermA2 after refused updates = version %d, %v; want 1", th.Version, err)
		}

		// Positive controls: the same shapes with valid references pass.
		ok := w.newThermometer(w.venueA.ID)
		ok.ToleranceProfile, ok.InstituteID = "iso80601_2_56", &w.inst.ID
		if err := st.CreateThermometer(ctx, w.adminA, &ok); err != nil {
			t.Errorf("CreateThermometer(valid profile and institute) = %v", err)
		} else if ok.MPEC != 0.3 || ok.RangeMinC != 35 || ok.RangeMaxC != 42 || ok.IntervalDays != 365 {
			t.Errorf("profile defaults = mpe %v range %v..%v interval %d, want 0.3, 35..42, 365", ok.MPEC, ok.RangeMinC, ok.RangeMaxC, ok.IntervalDays)
		}
		okE := w.newElevator(w.venueA.ID)
		okE.MaintenanceFirmID = &w.firm.ID
		if err := st.CreateElevator(ctx, w.adminA, &okE); err != nil {
			t.Errorf("CreateElevator(valid firm) = %v", err)
		}
		// Profiles are readable.
		if _, err := st.GetProfile(ctx, "nope"); err == nil {
			t.Errorf("GetProfile(nope) = nil error")
		} else {
			wantIs(t, "GetProfile(nope)", err, devices.ErrNotFound)
		}
		ps, err := st.ListProfiles(ctx)
		if err != nil || len(ps) != 10 {
			t.Errorf("ListProfiles = %d profiles, %v; want the 10 seeded", len(ps), err)
		}
	})
}
