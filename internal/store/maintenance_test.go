package store_test

import (
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
)

// TestMaintenanceContracts: the venue operator contracts a firm for a
// lift; the firm then maintains and sees it. Wrong parties, another firm's
// lift, overlapping spans and a cycle above the statutory 15 days are
// refused; ending the contract takes the lift from the firm.
func TestMaintenanceContracts(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx
		firmAdmin := w.firmAdmin
		mk := func() devices.MaintenanceContract {
			return devices.MaintenanceContract{ElevatorID: w.elevA2.ID, FirmOrgID: w.firm.ID, StartsOn: "2026-03-01", EndsOn: "2027-02-28"}
		}
		c := mk()
		wantIs(t, "firm contracts itself", st.CreateContract(ctx, firmAdmin, &c), devices.ErrNotFound) // elevA2 has no firm yet: unseen
		c = mk()
		wantIs(t, "operator B", st.CreateContract(ctx, w.adminB, &c), devices.ErrNotFound)
		c = mk()
		c.FirmOrgID = w.inst.ID
		wantFields(t, "an institute as the firm", st.CreateContract(ctx, w.adminA, &c), "firm_id")
		c = mk()
		c.OnSiteCycleDays = 20
		c.EndsOn = "2026-01-01"
		wantFields(t, "long cycle, reversed span", st.CreateContract(ctx, w.adminA, &c), "onsite_cycle_days", "ends_on")

		c = mk()
		if err := st.CreateContract(ctx, w.memberA, &c); err != nil {
			t.Fatalf("CreateContract: %v", err)
		}
		if c.OnSiteCycleDays != devices.DefaultOnSiteCycleDays || c.OperatorOrgID != w.opA.ID || c.VenueID != w.venueA.ID {
			t.Errorf("contract = %+v", c)
		}
		lift, err := st.GetElevator(ctx, firmAdmin, w.elevA2.ID)
		if err != nil || lift.MaintenanceFirmID == nil || *lift.MaintenanceFirmID != w.firm.ID {
			t.Errorf("the contracted firm's view of the lift: %+v, %v", lift.MaintenanceFirmID, err)
		}
		again := mk()
		again.StartsOn, again.EndsOn = "2027-01-01", ""
		wantConflict(t, "overlapping contract", st.CreateContract(ctx, w.adminA, &again), "overlapping_contract")
		after := mk()
		after.StartsOn, after.EndsOn = "2027-03-01", ""
		if err := st.CreateContract(ctx, w.adminA, &after); err != nil {
			t.Errorf("a contract after the first: %v", err)
		}

		for _, a := range []devices.Actor{w.adminB, w.instAdmin} {
			if _, err := st.GetContract(ctx, a, c.ID); err == nil {
				t.Errorf("%s reads another tenant's contract", a.OrgKind)
			}
			if got, _, err := st.ListContracts(ctx, a, devices.ContractFilter{}, devices.Page{}); err != nil || len(got) != 0 {
				t.Errorf("%s lists %d contracts (%v), want none", a.OrgKind, len(got), err)
			}
		}
		if got, _, err := st.ListContracts(ctx, firmAdmin, devices.ContractFilter{ElevatorID: w.elevA2.ID}, devices.Page{}); err != nil || len(got) != 2 {
			t.Errorf("the firm's contracts of the lift: %d, %v", len(got), err)
		}

		_, err = st.EndContract(ctx, firmAdmin, c.ID, devices.AnyVersion, "2026-02-28", "x")
		wantIs(t, "the firm ends the contract", err, devices.ErrForbidden)
		_, err = st.EndContract(ctx, w.adminA, c.ID, devices.AnyVersion, "2026-02-01", "")
		wantFields(t, "end before the start, no reason", err, "ends_on", "reason")
		w.clk.Set(time.Date(2026, 6, 1, 3, 0, 0, 0, time.UTC))
		ended, err := st.EndContract(ctx, w.adminA, c.ID, devices.AnyVersion, "2026-05-31", "firm replaced")
		if err != nil || ended.EndsOn != "2026-05-31" || ended.EndedReason != "firm replaced" {
			t.Fatalf("EndContract = %+v, %v", ended, err)
		}
		if _, err := st.GetElevator(ctx, firmAdmin, w.elevA2.ID); err == nil {
			t.Error("the firm still sees the lift after its contract ended")
		}
		if _, err := st.GetContract(ctx, firmAdmin, c.ID); err != nil {
			t.Errorf("the firm no longer sees its past contract: %v", err)
		}
		_, err = st.EndContract(ctx, w.adminA, c.ID, devices.AnyVersion, "2026-05-31", "again")
		wantConflict(t, "end an ended contract", err, "invalid_transition")
	})
}

// TestCycleAgreements: the firm proposes a 30-day cycle with weekly
// remote checks, the operator accepts; the bound, overlaps, wrong parties
// and invalid transitions are refused; revoking frees the window; the
// window's end expires it.
func TestCycleAgreements(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx
		c := devices.MaintenanceContract{ElevatorID: w.elevA.ID, FirmOrgID: w.firm.ID, StartsOn: "2026-03-01"}
		if err := st.CreateContract(ctx, w.adminA, &c); err != nil {
			t.Fatal(err)
		}
		otherFirm := w.org("Other Lifts Ltd", devices.KindMaintenanceFirm)
		otherFirmAdmin := w.token(w.reg, otherFirm.ID, devices.RoleAdmin)
		mk := func() devices.CycleAgreement {
			return devices.CycleAgreement{ContractID: c.ID, OnSiteCycleDays: 30, RemoteIntervalDays: 7,
				ValidFrom: "2026-03-05", ValidTo: "2026-05-31", Reason: "public-health emergency: fewer site visits"}
		}
		ag := mk()
		wantIs(t, "operator proposes", st.ProposeAgreement(ctx, w.adminA, &ag), devices.ErrForbidden)
		ag = mk()
		wantIs(t, "another firm proposes", st.ProposeAgreement(ctx, otherFirmAdmin, &ag), devices.ErrNotFound)
		ag = mk()
		ag.OnSiteCycleDays = 46
		wantFields(t, "above the bound", st.ProposeAgreement(ctx, w.firmAdmin, &ag), "onsite_cycle_days")

		ag = mk()
		if err := st.ProposeAgreement(ctx, w.firmAdmin, &ag); err != nil {
			t.Fatalf("ProposeAgreement: %v", err)
		}
		if ag.State != devices.AgreementProposed || ag.OperatorOrgID != w.opA.ID || ag.ElevatorID != w.elevA.ID {
			t.Errorf("proposal = %+v", ag)
		}
		over := mk()
		over.ValidFrom, over.ValidTo = "2026-05-01", "2026-06-30"
		wantConflict(t, "overlapping proposal", st.ProposeAgreement(ctx, w.firmAdmin, &over), "overlapping_agreement")

		_, err := st.ActOnAgreement(ctx, w.firmAdmin, ag.ID, devices.AnyVersion, devices.AgreementAccept, "")
		wantIs(t, "the firm accepts its own proposal", err, devices.ErrForbidden)
		_, err = st.ActOnAgreement(ctx, w.adminB, ag.ID, devices.AnyVersion, devices.AgreementAccept, "")
		wantIs(t, "another venue accepts", err, devices.ErrNotFound)
		_, err = st.ActOnAgreement(ctx, w.adminA, ag.ID, ag.Version+1, devices.AgreementAccept, "")
		wantIs(t, "stale version", err, devices.ErrPreconditionFailed)
		acc, err := st.ActOnAgreement(ctx, w.memberA, ag.ID, ag.Version, devices.AgreementAccept, "")
		if err != nil || acc.State != devices.AgreementAccepted || acc.Version != 2 {
			t.Fatalf("accept = %+v, %v", acc, err)
		}
		_, err = st.ActOnAgreement(ctx, w.adminA, ag.ID, devices.AnyVersion, devices.AgreementAccept, "")
		wantConflict(t, "accept twice", err, "invalid_transition")
		if got, _ := st.GetContract(ctx, w.adminA, c.ID); got.Cycle.OnSiteDays != 15 || got.Cycle.AgreementID != "" {
			t.Errorf("cycle before the window opens: %+v", got.Cycle)
		}
		w.clk.Set(time.Date(2026, 3, 6, 2, 0, 0, 0, time.UTC))
		if got, _ := st.GetContract(ctx, w.firmAdmin, c.ID); got.Cycle.OnSiteDays != 30 || got.Cycle.RemoteDays != 7 || got.Cycle.AgreementID != ag.ID {
			t.Errorf("cycle inside the accepted window: %+v", got.Cycle)
		}
		w.clk.Set(t0)
		_, err = st.ActOnAgreement(ctx, w.adminA, ag.ID, devices.AnyVersion, devices.AgreementSuspend, "fault")
		wantIs(t, "suspend by hand", err, devices.ErrForbidden)
		_, err = st.ActOnAgreement(ctx, w.firmAdmin, ag.ID, devices.AnyVersion, devices.AgreementRevoke, " ")
		wantFields(t, "revoke without a reason", err, "reason")
		rev, err := st.ActOnAgreement(ctx, w.firmAdmin, ag.ID, devices.AnyVersion, devices.AgreementRevoke, "staff back on site")
		if err != nil || rev.State != devices.AgreementRevoked || rev.StateReason != "staff back on site" {
			t.Fatalf("revoke = %+v, %v", rev, err)
		}
		// The window is free again; a short one expires by itself.
		short := mk()
		short.ValidFrom, short.ValidTo = "2026-03-02", "2026-03-10"
		if err := st.ProposeAgreement(ctx, w.firmAdmin, &short); err != nil {
			t.Fatalf("proposal after a revocation: %v", err)
		}
		_, err = st.ActOnAgreement(ctx, w.adminA, short.ID, devices.AnyVersion, devices.AgreementReject, "")
		wantFields(t, "reject without a reason", err, "reason")
		if _, err := st.ActOnAgreement(ctx, w.adminA, short.ID, devices.AnyVersion, devices.AgreementAccept, ""); err != nil {
			t.Fatal(err)
		}
		// 2026-03-10 16:30 UTC is 2026-03-11 in Shanghai: the window has
		// ended there.
		if n, err := st.ExpireAgreements(ctx, time.Date(2026, 3, 10, 15, 30, 0, 0, time.UTC)); err != nil || n != 0 {
			t.Errorf("expire on the last day: %d, %v", n, err)
		}
		if n, err := st.ExpireAgreements(ctx, time.Date(2026, 3, 10, 16, 30, 0, 0, time.UTC)); err != nil || n != 1 {
			t.Errorf("expire the day after, locally: %d, %v", n, err)
		}
		got, _ := st.GetAgreement(ctx, w.reg, short.ID)
		if got.State != devices.AgreementExpired {
			t.Errorf("after its window: %s", got.State)
		}
		list, _, err := st.ListAgreements(ctx, w.firmAdmin, devices.AgreementFilter{ElevatorID: w.elevA.ID}, devices.Page{})
		if err != nil || len(list) != 2 {
			t.Errorf("the firm's agreements: %d, %v; the history is kept", len(list), err)
		}
		if l, _, _ := st.ListAgreements(ctx, w.adminB, devices.AgreementFilter{}, devices.Page{}); len(l) != 0 {
			t.Errorf("operator B lists %d agreements", len(l))
		}
		if n := countSQL(t, st, "SELECT count(*) FROM audit_events WHERE resource = 'cycle_agreement'"); n != 5 {
			t.Errorf("audit events on agreements = %d, want 5 (2 proposals, 2 accepts, 1 revocation)", n)
		}
	})
}
