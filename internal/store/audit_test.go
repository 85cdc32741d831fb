package store_test

import (
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
)

// oneEvent reads the single event for resourceID and action, as the
// regulator sees it.
func (w *world) oneEvent(resourceID, action string) devices.AuditEvent {
	w.t.Helper()
	evs, _, err := w.st.ListAudit(w.ctx, w.reg, devices.AuditFilter{ResourceID: resourceID, Action: action}, devices.Page{})
	if err != nil || len(evs) != 1 {
		w.t.Fatalf("ListAudit(%s, %s) = %d events, %v; want 1", resourceID, action, len(evs), err)
	}
	return evs[0]
}

func wantEvent(t *testing.T, ev devices.AuditEvent, by devices.Actor, resource string, changes devices.Changes) {
	t.Helper()
	if ev.OrgID != by.OrgID || ev.TokenID != by.TokenID {
		t.Errorf("%s %s event by org %q token %q, want org %q token %q", ev.Action, resource, ev.OrgID, ev.TokenID, by.OrgID, by.TokenID)
	}
	if ev.Resource != resource {
		t.Errorf("%s event resource = %q, want %q", ev.Action, ev.Resource, resource)
	}
	if !ev.At.Equal(t0) {
		t.Errorf("%s event at %v, want the store clock %v", ev.Action, ev.At, t0)
	}
	for field, want := range changes {
		got, ok := ev.Changes[field]
		if !ok {
			t.Errorf("%s %s event changes %v lack %q", ev.Action, resource, ev.Changes, field)
			continue
		}
		if got != want {
			t.Errorf("%s %s event change %q = %v -> %v, want %v -> %v", ev.Action, resource, field, got.From, got.To, want.From, want.To)
		}
	}
}

// TestAudit: every write records who (organization and token) changed
// which fields; the regulator reads every event, others their own
// organization's; the table refuses UPDATE and DELETE.
func TestAudit(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx

		t.Run("writes are recorded", func(t *testing.T) {
			ev := w.oneEvent(w.venueA.ID, devices.ActionCreate)
			wantEvent(t, ev, w.adminA, devices.ResourceVenue, devices.Changes{
				"name": {To: w.venueA.Name}, "operator_org_id": {To: w.opA.ID}, "time_zone": {To: "Asia/Shanghai"}})

			ev = w.oneEvent(w.thermA.ID, devices.ActionCreate)
			wantEvent(t, ev, w.adminA, devices.ResourceThermometer, devices.Changes{
				"serial": {To: w.thermA.Serial}, "institute_id": {To: w.inst.ID}, "tolerance_profile": {To: "jjg1164_ear"}})

			ev = w.oneEvent(w.elevA.ID, devices.ActionCreate)
			wantEvent(t, ev, w.adminA, devices.ResourceElevator, devices.Changes{
				"registration_code": {To: w.elevA.RegistrationCode}, "commissioning_date": {To: "2019-06-30"}})

			ev = w.oneEvent(w.opA.ID, devices.ActionCreate)
			wantEvent(t, ev, w.reg, devices.ResourceOrganization, devices.Changes{
				"name": {To: w.opA.Name}, "kind": {To: "venue_operator"}})

			v, err := st.UpdateVenue(ctx, w.adminA, w.venueA.ID, 1, devices.VenuePatch{Name: ptr("Pudong T2 East"), Kind: ptr(w.venueA.Kind)})
			if err != nil {
				t.Fatal(err)
			}
			ev = w.oneEvent(v.ID, devices.ActionUpdate)
			wantEvent(t, ev, w.adminA, devices.ResourceVenue, devices.Changes{"name": {From: "Pudong T2", To: "Pudong T2 East"}})
			if len(ev.Changes) != 1 {
				t.Errorf("venue update changes = %v, want only name (kind was unchanged)", ev.Changes)
			}

			_, err = st.UpdateThermometer(ctx, w.memberA, w.thermA2.ID, 1, devices.ThermometerPatch{
				LocationNote: ptr("Arrivals"), IntervalDays: ptr(180)})
			if err != nil {
				t.Fatal(err)
			}
			ev = w.oneEvent(w.thermA2.ID, devices.ActionUpdate)
			wantEvent(t, ev, w.memberA, devices.ResourceThermometer, devices.Changes{
				"location_note":             {From: "gate", To: "Arrivals"},
				"calibration_interval_days": {From: float64(365), To: float64(180)}})
			if len(ev.Changes) != 2 {
				t.Errorf("thermometer update changes = %v, want location_note and calibration_interval_days", ev.Changes)
			}

			if _, err := st.RetireThermometer(ctx, w.adminA, w.thermA2.ID, 2); err != nil {
				t.Fatal(err)
			}
			ev = w.oneEvent(w.thermA2.ID, devices.ActionRetire)
			wantEvent(t, ev, w.adminA, devices.ResourceThermometer, devices.Changes{"status": {From: "in_service", To: "retired"}})

			if _, err := st.RetireElevator(ctx, w.adminA, w.elevA2.ID, 1); err != nil {
				t.Fatal(err)
			}
			ev = w.oneEvent(w.elevA2.ID, devices.ActionRetire)
			wantEvent(t, ev, w.adminA, devices.ResourceElevator, devices.Changes{"status": {From: "in_service", To: "retired"}})

			if _, err := st.UpdateOrganization(ctx, w.adminA, w.opA.ID, 1, devices.OrganizationPatch{ContactEmail: ptr("noc@example.org")}); err != nil {
				t.Fatal(err)
			}
			ev = w.oneEvent(w.opA.ID, devices.ActionUpdate)
			wantEvent(t, ev, w.adminA, devices.ResourceOrganization, devices.Changes{"contact_email": {From: "ops@example.org", To: "noc@example.org"}})

			if _, err := st.RetireOrganization(ctx, w.reg, w.firm.ID, 1); err != nil {
				t.Fatal(err)
			}
			ev = w.oneEvent(w.firm.ID, devices.ActionRetire)
			wantEvent(t, ev, w.reg, devices.ResourceOrganization, devices.Changes{"retired": {From: false, To: true}})

			tok, _, err := st.IssueToken(ctx, w.adminA, w.opA.ID, devices.TokenRequest{Name: "scanner", Role: devices.RoleMember})
			if err != nil {
				t.Fatal(err)
			}
			ev = w.oneEvent(tok.ID, devices.ActionTokenIssue)
			wantEvent(t, ev, w.adminA, devices.ResourceToken, devices.Changes{
				"org_id": {To: w.opA.ID}, "name": {To: "scanner"}, "role": {To: "member"}})
			for field := range ev.Changes {
				if field == "secret" || field == "secret_hash" {
					t.Errorf("token.issue event records %q", field)
				}
			}
			if _, err := st.RevokeToken(ctx, w.adminA, w.opA.ID, tok.ID); err != nil {
				t.Fatal(err)
			}
			ev = w.oneEvent(tok.ID, devices.ActionTokenRevoke)
			wantEvent(t, ev, w.adminA, devices.ResourceToken, nil)
			if _, ok := ev.Changes["revoked_at"]; !ok {
				t.Errorf("token.revoke changes = %v, want revoked_at", ev.Changes)
			}
			// Revoking twice is a no-op: no second event.
			again, err := st.RevokeToken(ctx, w.adminA, w.opA.ID, tok.ID)
			if err != nil || again.RevokedAt == nil {
				t.Errorf("RevokeToken again = %+v, %v", again, err)
			}
			w.oneEvent(tok.ID, devices.ActionTokenRevoke)
		})

		t.Run("who reads what", func(t *testing.T) {
			all, _, err := st.ListAudit(ctx, w.reg, devices.AuditFilter{}, devices.Page{Limit: 500})
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != w.count("audit_events") {
				t.Errorf("regulator reads %d events, the table holds %d", len(all), w.count("audit_events"))
			}
			byOrg := map[string]int{}
			for _, ev := range all {
				byOrg[ev.OrgID]++
			}
			for _, o := range []string{w.reg.OrgID, w.opA.ID, w.opB.ID, ""} {
				if byOrg[o] == 0 {
					t.Errorf("regulator sees no events of org %q; by org: %v", o, byOrg)
				}
			}
			for _, a := range []devices.Actor{w.adminA, w.memberB, w.instAdmin} {
				evs, _, err := st.ListAudit(ctx, a, devices.AuditFilter{}, devices.Page{Limit: 500})
				if err != nil {
					t.Fatal(err)
				}
				if len(evs) != byOrg[a.OrgID] {
					t.Errorf("org %s reads %d events, want its own %d", a.OrgID, len(evs), byOrg[a.OrgID])
				}
				for _, ev := range evs {
					if ev.OrgID != a.OrgID {
						t.Errorf("org %s reads event %s of org %q", a.OrgID, ev.ID, ev.OrgID)
					}
				}
			}
			evs, _, err := st.ListAudit(ctx, w.adminB, devices.AuditFilter{ResourceID: w.venueB.ID}, devices.Page{})
			if err != nil || len(evs) != 1 {
				t.Errorf("B reads %d events of its venue, %v; want 1", len(evs), err)
			}
			evs, _, err = st.ListAudit(ctx, w.reg, devices.AuditFilter{OrgID: w.opB.ID, Resource: devices.ResourceElevator}, devices.Page{})
			if err != nil || len(evs) != 1 || evs[0].ResourceID != w.elevB.ID {
				t.Errorf("regulator filter org=B resource=elevator = %d events, %v; want elevB's create", len(evs), err)
			}
			since, until := t0, t0.Add(time.Second)
			evs, _, err = st.ListAudit(ctx, w.reg, devices.AuditFilter{Since: &since, Until: &until}, devices.Page{Limit: 500})
			if err != nil || len(evs) != len(all) {
				t.Errorf("events in [t0, t0+1s) = %d, %v; want all %d", len(evs), err, len(all))
			}
			evs, _, err = st.ListAudit(ctx, w.reg, devices.AuditFilter{Until: &since}, devices.Page{})
			if err != nil || len(evs) != 0 {
				t.Errorf("events before t0 = %d, %v; want 0", len(evs), err)
			}
		})

		t.Run("append-only", func(t *testing.T) {
			n := w.count("audit_events")
			for _, q := range []string{
				"UPDATE audit_events SET action = 'tampered'",
				"UPDATE audit_events SET changes = '{}' WHERE resource = 'venue'",
				"DELETE FROM audit_events",
				"DELETE FROM audit_events WHERE resource = 'token'",
			} {
				if _, err := st.SQLDB().ExecContext(ctx, q); err == nil {
					t.Errorf("%s succeeded, want the append-only trigger to refuse it", q)
				}
			}
			if got := w.count("audit_events"); got != n {
				t.Errorf("audit_events %d -> %d", n, got)
			}
			if got := countSQL(t, st, "SELECT count(*) FROM audit_events WHERE action = 'tampered'"); got != 0 {
				t.Errorf("%d events were tampered with", got)
			}
		})
	})
}
