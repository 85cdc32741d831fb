package store_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
)

// op is one store call in a tenancy table.
type op struct {
	name string
	call func() error
}

func runOps(t *testing.T, want error, ops []op) {
	t.Helper()
	for _, o := range ops {
		t.Run(o.name, func(t *testing.T) {
			err := o.call()
			if !errors.Is(err, want) {
				t.Errorf("%s = %v, want %v", o.name, err, want)
			}
		})
	}
}

func noThermometers(devices.Thermometer) error { return errors.New("export yielded a thermometer") }
func noElevators(devices.Elevator) error       { return errors.New("export yielded an elevator") }

// TestTenancyOtherOperatorSeesNothing: every store method, called by
// operator B on operator A's objects, is ErrNotFound, and A's objects are
// untouched afterwards.
func TestTenancyOtherOperatorSeesNothing(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx
		for _, b := range []struct {
			name string
			a    devices.Actor
		}{{"admin B", w.adminB}, {"member B", w.memberB}} {
			t.Run(b.name, func(t *testing.T) {
				a := b.a
				newTh := w.newThermometer(w.venueA.ID)
				newEl := w.newElevator(w.venueA.ID)
				thRows := []devices.ImportRow[devices.Thermometer]{{Line: 2, Value: w.newThermometer("")}}
				elRows := []devices.ImportRow[devices.Elevator]{{Line: 2, Value: w.newElevator("")}}
				runOps(t, devices.ErrNotFound, []op{
					{"GetOrganization(A)", func() error { _, err := st.GetOrganization(ctx, a, w.opA.ID); return err }},
					{"UpdateOrganization(A)", func() error {
						_, err := st.UpdateOrganization(ctx, a, w.opA.ID, w.opA.Version, devices.OrganizationPatch{Name: ptr("pwned")})
						return err
					}},
					{"RetireOrganization(A)", func() error { _, err := st.RetireOrganization(ctx, a, w.opA.ID, w.opA.Version); return err }},
					{"IssueToken(A)", func() error {
						_, _, err := st.IssueToken(ctx, a, w.opA.ID, devices.TokenRequest{Name: "x", Role: devices.RoleAdmin})
						return err
					}},
					{"ListTokens(A)", func() error { _, _, err := st.ListTokens(ctx, a, w.opA.ID, devices.Page{}); return err }},
					{"RevokeToken(A, memberA)", func() error { _, err := st.RevokeToken(ctx, a, w.opA.ID, w.memberA.TokenID); return err }},
					{"RevokeToken(B, memberA)", func() error { _, err := st.RevokeToken(ctx, a, w.opB.ID, w.memberA.TokenID); return err }},
					{"GetVenue(A)", func() error { _, err := st.GetVenue(ctx, a, w.venueA.ID); return err }},
					{"UpdateVenue(A)", func() error {
						_, err := st.UpdateVenue(ctx, a, w.venueA.ID, w.venueA.Version, devices.VenuePatch{Name: ptr("pwned")})
						return err
					}},
					{"RetireVenue(A)", func() error { _, err := st.RetireVenue(ctx, a, w.venueA.ID, w.venueA.Version); return err }},
					{"GetThermometer(A)", func() error { _, err := st.GetThermometer(ctx, a, w.thermA.ID); return err }},
					{"UpdateThermometer(A)", func() error {
						_, err := st.UpdateThermometer(ctx, a, w.thermA.ID, w.thermA.Version, devices.ThermometerPatch{LocationNote: ptr("pwned")})
						return err
					}},
					{"RetireThermometer(A)", func() error { _, err := st.RetireThermometer(ctx, a, w.thermA.ID, w.thermA.Version); return err }},
					{"CreateThermometer(in venue A)", func() error { th := newTh; return st.CreateThermometer(ctx, a, &th) }},
					{"ImportThermometers(venue A)", func() error { _, err := st.ImportThermometers(ctx, a, w.venueA.ID, thRows); return err }},
					{"ExportThermometers(venue A)", func() error { return st.ExportThermometers(ctx, a, w.venueA.ID, noThermometers) }},
					{"GetElevator(A)", func() error { _, err := st.GetElevator(ctx, a, w.elevA.ID); return err }},
					{"UpdateElevator(A)", func() error {
						_, err := st.UpdateElevator(ctx, a, w.elevA.ID, w.elevA.Version, devices.ElevatorPatch{Model: ptr("pwned")})
						return err
					}},
					{"RetireElevator(A)", func() error { _, err := st.RetireElevator(ctx, a, w.elevA.ID, w.elevA.Version); return err }},
					{"CreateElevator(in venue A)", func() error { e := newEl; return st.CreateElevator(ctx, a, &e) }},
					{"ImportElevators(venue A)", func() error { _, err := st.ImportElevators(ctx, a, w.venueA.ID, elRows); return err }},
					{"ExportElevators(venue A)", func() error { return st.ExportElevators(ctx, a, w.venueA.ID, noElevators) }},
				})
			})
		}

		t.Run("lists hold no rows of A", func(t *testing.T) {
			a := w.adminB
			orgs, _, err := st.ListOrganizations(ctx, a, devices.OrganizationFilter{}, devices.Page{Limit: 500})
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(orgs, orgID); slices.Contains(got, w.opA.ID) || !sameSet(got, []string{w.reg.OrgID, w.opB.ID, w.inst.ID, w.firm.ID}) {
				t.Errorf("ListOrganizations(B) = %v, want regulator, B, institute and firm only", got)
			}
			ops, _, err := st.ListOrganizations(ctx, a, devices.OrganizationFilter{Kind: devices.KindVenueOperator}, devices.Page{})
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(ops, orgID); !slices.Equal(got, []string{w.opB.ID}) {
				t.Errorf("ListOrganizations(B, kind=venue_operator) = %v, want only B %s", got, w.opB.ID)
			}

			venueLists := map[string]devices.VenueFilter{
				"all":                {IncludeRetired: true},
				"operator=A":         {OperatorOrgID: w.opA.ID, IncludeRetired: true},
				"region of A's":      {RegionCode: w.venueA.RegionCode},
				"kind of A's":        {Kind: w.venueA.Kind},
				"operator=A, active": {OperatorOrgID: w.opA.ID},
			}
			for name, f := range venueLists {
				vs, _, err := st.ListVenues(ctx, a, f, devices.Page{})
				if err != nil {
					t.Fatalf("ListVenues(%s) = %v", name, err)
				}
				for _, v := range vs {
					if v.OperatorOrgID != w.opB.ID {
						t.Errorf("ListVenues(B, %s) holds %s of operator %s", name, v.ID, v.OperatorOrgID)
					}
				}
				if f.OperatorOrgID == "" && !slices.Contains(ids(vs, venueID), w.venueB.ID) {
					t.Errorf("ListVenues(B, %s) = %v, misses B's own venue", name, ids(vs, venueID))
				}
			}

			thLists := map[string]devices.ThermometerFilter{
				"all":          {IncludeRetired: true},
				"venue=A":      {VenueID: w.venueA.ID, IncludeRetired: true},
				"operator=A":   {OperatorID: w.opA.ID, IncludeRetired: true},
				"institute":    {InstituteID: w.inst.ID},
				"type of A's":  {Type: w.thermA.Type},
				"status of As": {Status: devices.StatusInService},
			}
			for name, f := range thLists {
				ths, _, err := st.ListThermometers(ctx, a, f, devices.Page{})
				if err != nil {
					t.Fatalf("ListThermometers(%s) = %v", name, err)
				}
				for _, th := range ths {
					if th.OperatorOrgID != w.opB.ID || th.VenueID != w.venueB.ID {
						t.Errorf("ListThermometers(B, %s) holds %s of operator %s", name, th.ID, th.OperatorOrgID)
					}
				}
			}
			all, _, err := st.ListThermometers(ctx, a, devices.ThermometerFilter{}, devices.Page{})
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(all, thermometerID); !slices.Equal(got, []string{w.thermB.ID}) {
				t.Errorf("ListThermometers(B) = %v, want [%s]", got, w.thermB.ID)
			}

			elLists := map[string]devices.ElevatorFilter{
				"all":        {IncludeRetired: true},
				"venue=A":    {VenueID: w.venueA.ID, IncludeRetired: true},
				"operator=A": {OperatorID: w.opA.ID, IncludeRetired: true},
				"firm":       {MaintenanceFirmID: w.firm.ID},
			}
			for name, f := range elLists {
				els, _, err := st.ListElevators(ctx, a, f, devices.Page{})
				if err != nil {
					t.Fatalf("ListElevators(%s) = %v", name, err)
				}
				for _, e := range els {
					if e.OperatorOrgID != w.opB.ID {
						t.Errorf("ListElevators(B, %s) holds %s of operator %s", name, e.ID, e.OperatorOrgID)
					}
				}
			}
			els, _, err := st.ListElevators(ctx, a, devices.ElevatorFilter{}, devices.Page{})
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(els, elevatorID); !slices.Equal(got, []string{w.elevB.ID}) {
				t.Errorf("ListElevators(B) = %v, want [%s]", got, w.elevB.ID)
			}

			evs, _, err := st.ListAudit(ctx, a, devices.AuditFilter{OrgID: w.opA.ID}, devices.Page{Limit: 500})
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 0 {
				t.Errorf("ListAudit(B, org=A) = %d events, want 0", len(evs))
			}
			evs, _, err = st.ListAudit(ctx, a, devices.AuditFilter{ResourceID: w.venueA.ID}, devices.Page{Limit: 500})
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 0 {
				t.Errorf("ListAudit(B, resource=venue A) = %d events, want 0", len(evs))
			}
		})

		t.Run("moving B's device into A's venue", func(t *testing.T) {
			_, err := st.UpdateThermometer(ctx, w.adminB, w.thermB.ID, w.thermB.Version, devices.ThermometerPatch{VenueID: &w.venueA.ID})
			wantFields(t, "UpdateThermometer(thermB -> venue A)", err, "venue_id")
			_, err = st.UpdateElevator(ctx, w.adminB, w.elevB.ID, w.elevB.Version, devices.ElevatorPatch{VenueID: &w.venueA.ID})
			wantFields(t, "UpdateElevator(elevB -> venue A)", err, "venue_id")
			th, err := st.GetThermometer(ctx, w.adminB, w.thermB.ID)
			if err != nil || th.VenueID != w.venueB.ID || th.Version != 1 {
				t.Errorf("thermB after a refused move = venue %s version %d (%v), want venue B version 1", th.VenueID, th.Version, err)
			}
			// The same move between B's own venues works, so the refusal
			// above is about tenancy.
			v2 := w.venue(w.adminB, "Hongqiao Station North")
			th, err = st.UpdateThermometer(ctx, w.adminB, w.thermB.ID, w.thermB.Version, devices.ThermometerPatch{VenueID: &v2.ID})
			if err != nil || th.VenueID != v2.ID || th.OperatorOrgID != w.opB.ID {
				t.Errorf("UpdateThermometer(thermB -> B's other venue) = venue %s operator %s, %v", th.VenueID, th.OperatorOrgID, err)
			}
			el, err := st.UpdateElevator(ctx, w.adminB, w.elevB.ID, w.elevB.Version, devices.ElevatorPatch{VenueID: &v2.ID})
			if err != nil || el.VenueID != v2.ID {
				t.Errorf("UpdateElevator(elevB -> B's other venue) = venue %s, %v", el.VenueID, err)
			}
		})

		t.Run("A is untouched", func(t *testing.T) {
			o, err := st.GetOrganization(ctx, w.reg, w.opA.ID)
			if err != nil || o.Version != 1 || o.Retired || o.Name != w.opA.Name {
				t.Errorf("org A = %+v, %v; want unchanged", o, err)
			}
			v, err := st.GetVenue(ctx, w.adminA, w.venueA.ID)
			if err != nil || v.Version != 1 || v.Retired || v.Name != w.venueA.Name {
				t.Errorf("venue A = %+v, %v; want unchanged", v, err)
			}
			th, err := st.GetThermometer(ctx, w.adminA, w.thermA.ID)
			if err != nil || th.Version != 1 || th.Status != devices.StatusInService || th.LocationNote != w.thermA.LocationNote {
				t.Errorf("thermA = %+v, %v; want unchanged", th, err)
			}
			el, err := st.GetElevator(ctx, w.adminA, w.elevA.ID)
			if err != nil || el.Version != 1 || el.Status != devices.ElevatorInService || el.Model != w.elevA.Model {
				t.Errorf("elevA = %+v, %v; want unchanged", el, err)
			}
			if n := w.count("thermometers"); n != 3 {
				t.Errorf("thermometers = %d, want the fixture's 3", n)
			}
			if n := w.count("elevators"); n != 3 {
				t.Errorf("elevators = %d, want the fixture's 3", n)
			}
			if _, err := st.Authenticate(ctx, w.secret[w.memberA.TokenID]); err != nil {
				t.Errorf("member A's token stopped working: %v", err)
			}
			toks, _, err := st.ListTokens(ctx, w.adminA, w.opA.ID, devices.Page{})
			if err != nil || len(toks) != 2 {
				t.Errorf("ListTokens(A) = %d tokens, %v; want the fixture's 2", len(toks), err)
			}
		})
	})
}

// TestTenancyTokensNeedAdmin: member tokens cannot manage tokens, admins
// manage only their own organization's.
func TestTenancyTokensNeedAdmin(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx
		req := devices.TokenRequest{Name: "ci", Role: devices.RoleMember}
		runOps(t, devices.ErrForbidden, []op{
			{"member A IssueToken(A)", func() error { _, _, err := st.IssueToken(ctx, w.memberA, w.opA.ID, req); return err }},
			{"member A RevokeToken(A, adminA)", func() error { _, err := st.RevokeToken(ctx, w.memberA, w.opA.ID, w.adminA.TokenID); return err }},
			{"member A RevokeToken(A, own)", func() error { _, err := st.RevokeToken(ctx, w.memberA, w.opA.ID, w.memberA.TokenID); return err }},
			{"member A ListTokens(A)", func() error { _, _, err := st.ListTokens(ctx, w.memberA, w.opA.ID, devices.Page{}); return err }},
			{"institute IssueToken(firm)", func() error { _, _, err := st.IssueToken(ctx, w.instAdmin, w.firm.ID, req); return err }},
			{"institute RevokeToken(firm)", func() error { _, err := st.RevokeToken(ctx, w.instAdmin, w.firm.ID, w.firmAdmin.TokenID); return err }},
			{"admin A IssueToken(regulator)", func() error { _, _, err := st.IssueToken(ctx, w.adminA, w.reg.OrgID, req); return err }},
			{"admin A RevokeToken(regulator)", func() error { _, err := st.RevokeToken(ctx, w.adminA, w.reg.OrgID, w.reg.TokenID); return err }},
		})
		runOps(t, devices.ErrNotFound, []op{
			{"institute IssueToken(A)", func() error { _, _, err := st.IssueToken(ctx, w.instAdmin, w.opA.ID, req); return err }},
			{"admin A RevokeToken(A, unknown id)", func() error {
				_, err := st.RevokeToken(ctx, w.adminA, w.opA.ID, "01890000-0000-7000-8000-000000000000")
				return err
			}},
			{"admin A RevokeToken(A, not a uuid)", func() error { _, err := st.RevokeToken(ctx, w.adminA, w.opA.ID, "nope"); return err }},
		})
		if n := w.count("api_tokens"); n != 7 {
			t.Errorf("api_tokens = %d after refused calls, want the fixture's 7", n)
		}
		// The refusals are about role and tenancy: the admin of A can.
		tok, sec, err := st.IssueToken(ctx, w.adminA, w.opA.ID, req)
		if err != nil || sec == "" || tok.OrgID != w.opA.ID || tok.CreatedBy != w.adminA.TokenID {
			t.Fatalf("admin A IssueToken(A) = %+v, %q, %v", tok, sec, err)
		}
		if _, err := st.RevokeToken(ctx, w.adminA, w.opA.ID, tok.ID); err != nil {
			t.Errorf("admin A RevokeToken(A, own org's token) = %v", err)
		}
		if _, _, err := st.IssueToken(ctx, w.reg, w.opA.ID, req); err != nil {
			t.Errorf("regulator admin IssueToken(A) = %v", err)
		}
	})
}

// TestTenancyReadOnlyOrganizations: the institute, the firm and the
// regulator see some of A's objects but may not change them.
func TestTenancyReadOnlyOrganizations(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx
		// writes are the registry writes on venue v and on the devices the
		// actor can see (nil: skip that kind; institutes see no elevators
		// and firms no thermometers, so those are ErrNotFound instead).
		writes := func(a devices.Actor, th *devices.Thermometer, el *devices.Elevator, v devices.Venue) []op {
			newTh := w.newThermometer(v.ID)
			newEl := w.newElevator(v.ID)
			ops := []op{
				{"CreateVenue", func() error {
					nv := devices.Venue{Name: "x", Kind: devices.VenueMall, RegionCode: "310115", TimeZone: "Asia/Shanghai"}
					return st.CreateVenue(ctx, a, &nv)
				}},
				{"UpdateVenue", func() error {
					_, err := st.UpdateVenue(ctx, a, v.ID, v.Version, devices.VenuePatch{Name: ptr("x")})
					return err
				}},
				{"RetireVenue", func() error { _, err := st.RetireVenue(ctx, a, v.ID, v.Version); return err }},
				{"CreateThermometer", func() error { x := newTh; return st.CreateThermometer(ctx, a, &x) }},
				{"ImportThermometers", func() error {
					_, err := st.ImportThermometers(ctx, a, v.ID, []devices.ImportRow[devices.Thermometer]{{Line: 2, Value: w.newThermometer("")}})
					return err
				}},
				{"CreateElevator", func() error { x := newEl; return st.CreateElevator(ctx, a, &x) }},
				{"ImportElevators", func() error {
					_, err := st.ImportElevators(ctx, a, v.ID, []devices.ImportRow[devices.Elevator]{{Line: 2, Value: w.newElevator("")}})
					return err
				}},
			}
			if th != nil {
				ops = append(ops,
					op{"UpdateThermometer", func() error {
						_, err := st.UpdateThermometer(ctx, a, th.ID, th.Version, devices.ThermometerPatch{LocationNote: ptr("x")})
						return err
					}},
					op{"RetireThermometer", func() error { _, err := st.RetireThermometer(ctx, a, th.ID, th.Version); return err }})
			}
			if el != nil {
				ops = append(ops,
					op{"UpdateElevator", func() error {
						_, err := st.UpdateElevator(ctx, a, el.ID, el.Version, devices.ElevatorPatch{Model: ptr("x")})
						return err
					}},
					op{"RetireElevator", func() error { _, err := st.RetireElevator(ctx, a, el.ID, el.Version); return err }})
			}
			return ops
		}
		// Organization writes by the non-regulators on public directory
		// entries they can see but do not own.
		orgWrites := func(a devices.Actor, other devices.Organization) []op {
			return []op{
				{"UpdateOrganization(" + other.Name + ")", func() error {
					_, err := st.UpdateOrganization(ctx, a, other.ID, other.Version, devices.OrganizationPatch{Name: ptr("x")})
					return err
				}},
				{"RetireOrganization(" + other.Name + ")", func() error {
					_, err := st.RetireOrganization(ctx, a, other.ID, other.Version)
					return err
				}},
				{"RetireOrganization(regulator)", func() error {
					_, err := st.RetireOrganization(ctx, a, w.reg.OrgID, 1)
					return err
				}},
				{"CreateOrganization", func() error {
					o := devices.Organization{Name: "x", Kind: devices.KindVenueOperator}
					return st.CreateOrganization(ctx, a, &o)
				}},
			}
		}
		t.Run("institute", func(t *testing.T) {
			runOps(t, devices.ErrForbidden, writes(w.instAdmin, &w.thermA, nil, w.venueA))
			runOps(t, devices.ErrForbidden, orgWrites(w.instAdmin, w.firm))
		})
		t.Run("firm", func(t *testing.T) {
			runOps(t, devices.ErrForbidden, writes(w.firmAdmin, nil, &w.elevA, w.venueA))
			runOps(t, devices.ErrForbidden, orgWrites(w.firmAdmin, w.inst))
		})
		t.Run("invisible kinds", func(t *testing.T) {
			runOps(t, devices.ErrNotFound, []op{
				{"institute UpdateElevator(elevA)", func() error {
					_, err := st.UpdateElevator(ctx, w.instAdmin, w.elevA.ID, 1, devices.ElevatorPatch{Model: ptr("x")})
					return err
				}},
				{"institute RetireElevator(elevA)", func() error { _, err := st.RetireElevator(ctx, w.instAdmin, w.elevA.ID, 1); return err }},
				{"firm UpdateThermometer(thermA)", func() error {
					_, err := st.UpdateThermometer(ctx, w.firmAdmin, w.thermA.ID, 1, devices.ThermometerPatch{LocationNote: ptr("x")})
					return err
				}},
				{"firm RetireThermometer(thermA)", func() error { _, err := st.RetireThermometer(ctx, w.firmAdmin, w.thermA.ID, 1); return err }},
				{"institute UpdateVenue(venueB)", func() error {
					_, err := st.UpdateVenue(ctx, w.instAdmin, w.venueB.ID, 1, devices.VenuePatch{Name: ptr("x")})
					return err
				}},
			})
		})
		t.Run("regulator", func(t *testing.T) { runOps(t, devices.ErrForbidden, writes(w.reg, &w.thermA, &w.elevA, w.venueA)) })
		t.Run("operator on public directory", func(t *testing.T) { runOps(t, devices.ErrForbidden, orgWrites(w.adminA, w.inst)) })
		t.Run("member cannot edit own organization", func(t *testing.T) {
			_, err := st.UpdateOrganization(ctx, w.memberA, w.opA.ID, w.opA.Version, devices.OrganizationPatch{Name: ptr("x")})
			wantIs(t, "member A UpdateOrganization(A)", err, devices.ErrForbidden)
			_, err = st.RetireOrganization(ctx, w.adminA, w.opA.ID, w.opA.Version)
			wantIs(t, "admin A RetireOrganization(A)", err, devices.ErrForbidden)
		})
		if n := w.count("thermometers"); n != 3 {
			t.Errorf("thermometers = %d after refused writes, want 3", n)
		}
		if n := w.count("elevators"); n != 3 {
			t.Errorf("elevators = %d after refused writes, want 3", n)
		}
		if n := w.count("venues"); n != 2 {
			t.Errorf("venues = %d after refused writes, want 2", n)
		}
		for _, id := range []string{w.opA.ID, w.inst.ID, w.firm.ID} {
			o, err := st.GetOrganization(ctx, w.reg, id)
			if err != nil || o.Version != 1 || o.Retired {
				t.Errorf("organization %s = version %d retired %v (%v), want untouched", id, o.Version, o.Retired, err)
			}
		}
	})
}

// TestTenancyInstituteAndFirmVisibility: the institute sees only the
// thermometers assigned to it and their venues; the firm only its
// elevators and their venues.
func TestTenancyInstituteAndFirmVisibility(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx

		t.Run("institute", func(t *testing.T) {
			a := w.instAdmin
			if th, err := st.GetThermometer(ctx, a, w.thermA.ID); err != nil || th.ID != w.thermA.ID {
				t.Errorf("GetThermometer(thermA) = %v, want it", err)
			}
			if v, err := st.GetVenue(ctx, a, w.venueA.ID); err != nil || v.ID != w.venueA.ID {
				t.Errorf("GetVenue(venueA) = %v, want it", err)
			}
			runOps(t, devices.ErrNotFound, []op{
				{"GetThermometer(thermA2)", func() error { _, err := st.GetThermometer(ctx, a, w.thermA2.ID); return err }},
				{"GetThermometer(thermB)", func() error { _, err := st.GetThermometer(ctx, a, w.thermB.ID); return err }},
				{"GetVenue(venueB)", func() error { _, err := st.GetVenue(ctx, a, w.venueB.ID); return err }},
				{"GetElevator(elevA)", func() error { _, err := st.GetElevator(ctx, a, w.elevA.ID); return err }},
				{"GetOrganization(A)", func() error { _, err := st.GetOrganization(ctx, a, w.opA.ID); return err }},
				{"ExportThermometers(venueB)", func() error { return st.ExportThermometers(ctx, a, w.venueB.ID, noThermometers) }},
				{"UpdateThermometer(thermB)", func() error {
					_, err := st.UpdateThermometer(ctx, a, w.thermB.ID, 1, devices.ThermometerPatch{LocationNote: ptr("x")})
					return err
				}},
			})
			ths, _, err := st.ListThermometers(ctx, a, devices.ThermometerFilter{IncludeRetired: true}, devices.Page{})
			if got := ids(ths, thermometerID); err != nil || !slices.Equal(got, []string{w.thermA.ID}) {
				t.Errorf("ListThermometers(institute) = %v, %v; want [%s]", got, err, w.thermA.ID)
			}
			vs, _, err := st.ListVenues(ctx, a, devices.VenueFilter{IncludeRetired: true}, devices.Page{})
			if got := ids(vs, venueID); err != nil || !slices.Equal(got, []string{w.venueA.ID}) {
				t.Errorf("ListVenues(institute) = %v, %v; want [%s]", got, err, w.venueA.ID)
			}
			els, _, err := st.ListElevators(ctx, a, devices.ElevatorFilter{IncludeRetired: true}, devices.Page{})
			if err != nil || len(els) != 0 {
				t.Errorf("ListElevators(institute) = %v, %v; want none", ids(els, elevatorID), err)
			}
			var exported []string
			err = st.ExportThermometers(ctx, a, w.venueA.ID, func(th devices.Thermometer) error { exported = append(exported, th.ID); return nil })
			if err != nil || !slices.Equal(exported, []string{w.thermA.ID}) {
				t.Errorf("ExportThermometers(institute, venueA) = %v, %v; want [%s] (not thermA2)", exported, err, w.thermA.ID)
			}
			err = st.ExportElevators(ctx, a, w.venueA.ID, noElevators)
			if err != nil {
				t.Errorf("ExportElevators(institute, venueA) = %v, want no rows and no error", err)
			}
			orgs, _, err := st.ListOrganizations(ctx, a, devices.OrganizationFilter{}, devices.Page{})
			if got := ids(orgs, orgID); err != nil || !sameSet(got, []string{w.reg.OrgID, w.inst.ID, w.firm.ID}) {
				t.Errorf("ListOrganizations(institute) = %v, %v; want regulator, institute, firm", got, err)
			}
		})

		t.Run("firm", func(t *testing.T) {
			a := w.firmAdmin
			if e, err := st.GetElevator(ctx, a, w.elevA.ID); err != nil || e.ID != w.elevA.ID {
				t.Errorf("GetElevator(elevA) = %v, want it", err)
			}
			if v, err := st.GetVenue(ctx, a, w.venueA.ID); err != nil || v.ID != w.venueA.ID {
				t.Errorf("GetVenue(venueA) = %v, want it", err)
			}
			runOps(t, devices.ErrNotFound, []op{
				{"GetElevator(elevA2)", func() error { _, err := st.GetElevator(ctx, a, w.elevA2.ID); return err }},
				{"GetElevator(elevB)", func() error { _, err := st.GetElevator(ctx, a, w.elevB.ID); return err }},
				{"GetVenue(venueB)", func() error { _, err := st.GetVenue(ctx, a, w.venueB.ID); return err }},
				{"GetThermometer(thermA)", func() error { _, err := st.GetThermometer(ctx, a, w.thermA.ID); return err }},
				{"ExportElevators(venueB)", func() error { return st.ExportElevators(ctx, a, w.venueB.ID, noElevators) }},
			})
			els, _, err := st.ListElevators(ctx, a, devices.ElevatorFilter{IncludeRetired: true}, devices.Page{})
			if got := ids(els, elevatorID); err != nil || !slices.Equal(got, []string{w.elevA.ID}) {
				t.Errorf("ListElevators(firm) = %v, %v; want [%s]", got, err, w.elevA.ID)
			}
			vs, _, err := st.ListVenues(ctx, a, devices.VenueFilter{IncludeRetired: true}, devices.Page{})
			if got := ids(vs, venueID); err != nil || !slices.Equal(got, []string{w.venueA.ID}) {
				t.Errorf("ListVenues(firm) = %v, %v; want [%s]", got, err, w.venueA.ID)
			}
			ths, _, err := st.ListThermometers(ctx, a, devices.ThermometerFilter{IncludeRetired: true}, devices.Page{})
			if err != nil || len(ths) != 0 {
				t.Errorf("ListThermometers(firm) = %v, %v; want none", ids(ths, thermometerID), err)
			}
			var exported []string
			err = st.ExportElevators(ctx, a, w.venueA.ID, func(e devices.Elevator) error { exported = append(exported, e.ID); return nil })
			if err != nil || !slices.Equal(exported, []string{w.elevA.ID}) {
				t.Errorf("ExportElevators(firm, venueA) = %v, %v; want [%s] (not elevA2)", exported, err, w.elevA.ID)
			}
		})

		t.Run("assignment moves visibility", func(t *testing.T) {
			// Assigning thermB to the institute makes it and venue B
			// visible to the institute; unassigning hides them again.
			th, err := st.UpdateThermometer(ctx, w.adminB, w.thermB.ID, w.thermB.Version, devices.ThermometerPatch{InstituteID: pptr(w.inst.ID)})
			if err != nil {
				t.Fatalf("assign thermB to institute: %v", err)
			}
			if _, err := st.GetVenue(ctx, w.instAdmin, w.venueB.ID); err != nil {
				t.Errorf("institute GetVenue(venueB) after assignment = %v", err)
			}
			var none *string
			if _, err := st.UpdateThermometer(ctx, w.adminB, th.ID, th.Version, devices.ThermometerPatch{InstituteID: &none}); err != nil {
				t.Fatalf("unassign thermB: %v", err)
			}
			_, err = st.GetThermometer(ctx, w.instAdmin, w.thermB.ID)
			wantIs(t, "institute GetThermometer(thermB) after unassignment", err, devices.ErrNotFound)
			_, err = st.GetVenue(ctx, w.instAdmin, w.venueB.ID)
			wantIs(t, "institute GetVenue(venueB) after unassignment", err, devices.ErrNotFound)
		})

		t.Run("regulator reads everything", func(t *testing.T) {
			ths, _, err := st.ListThermometers(ctx, w.reg, devices.ThermometerFilter{}, devices.Page{})
			if got := ids(ths, thermometerID); err != nil || !sameSet(got, []string{w.thermA.ID, w.thermA2.ID, w.thermB.ID}) {
				t.Errorf("ListThermometers(regulator) = %v, %v; want all three", got, err)
			}
			els, _, err := st.ListElevators(ctx, w.reg, devices.ElevatorFilter{}, devices.Page{})
			if got := ids(els, elevatorID); err != nil || !sameSet(got, []string{w.elevA.ID, w.elevA2.ID, w.elevB.ID}) {
				t.Errorf("ListElevators(regulator) = %v, %v; want all three", got, err)
			}
			vs, _, err := st.ListVenues(ctx, w.reg, devices.VenueFilter{}, devices.Page{})
			if got := ids(vs, venueID); err != nil || !sameSet(got, []string{w.venueA.ID, w.venueB.ID}) {
				t.Errorf("ListVenues(regulator) = %v, %v; want both", got, err)
			}
			orgs, _, err := st.ListOrganizations(ctx, w.reg, devices.OrganizationFilter{}, devices.Page{})
			if err != nil || len(orgs) != 5 {
				t.Errorf("ListOrganizations(regulator) = %d orgs, %v; want 5", len(orgs), err)
			}
			vs, _, err = st.ListVenues(ctx, w.reg, devices.VenueFilter{OperatorOrgID: w.opA.ID}, devices.Page{})
			if got := ids(vs, venueID); err != nil || !slices.Equal(got, []string{w.venueA.ID}) {
				t.Errorf("ListVenues(regulator, operator=A) = %v, %v; want [venueA]", got, err)
			}
		})
	})
}
