package store_test

import (
	"testing"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
)

// TestLiftFaults: a trapped-passenger event from a lift opens its fault
// alert and suspends its accepted extended-cycle agreement (the operator is
// told); the redelivered event changes nothing; a low battery is no fault.
func TestLiftFaults(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx
		c := devices.MaintenanceContract{ElevatorID: w.elevA.ID, FirmOrgID: w.firm.ID, StartsOn: "2026-03-01"}
		if err := st.CreateContract(ctx, w.adminA, &c); err != nil {
			t.Fatal(err)
		}
		ag := devices.CycleAgreement{ContractID: c.ID, OnSiteCycleDays: 30, RemoteIntervalDays: 7, ValidFrom: "2026-03-01",
			ValidTo: "2026-05-31", Reason: "fewer visits"}
		if err := st.ProposeAgreement(ctx, w.firmAdmin, &ag); err != nil {
			t.Fatal(err)
		}
		if _, err := st.ActOnAgreement(ctx, w.adminA, ag.ID, devices.AnyVersion, devices.AgreementAccept, ""); err != nil {
			t.Fatal(err)
		}
		event := func(seq int64, code string) devices.Message {
			return devices.Message{Kind: devices.MessageEvents, Event: &devices.DeviceEvent{DeviceID: w.elevA.ID, Seq: seq, TS: t0,
				Code: code, Severity: devices.SeverityWarning}}
		}
		if _, err := st.SaveMessages(ctx, []devices.Message{event(1, "battery_low")}, t0); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.GetAgreement(ctx, w.reg, ag.ID); got.State != devices.AgreementAccepted {
			t.Fatalf("a low battery moved the agreement to %s", got.State)
		}
		for range 2 {
			if _, err := st.SaveMessages(ctx, []devices.Message{event(2, "trapped_passenger")}, t0); err != nil {
				t.Fatal(err)
			}
		}
		got, _ := st.GetAgreement(ctx, w.firmAdmin, ag.ID)
		if got.State != devices.AgreementSuspended || got.StateReason == "" {
			t.Errorf("agreement after a trapped passenger: %s (%q)", got.State, got.StateReason)
		}
		alerts, _, err := st.ListAlerts(ctx, w.adminA, devices.AlertFilter{DeviceID: w.elevA.ID}, devices.Page{})
		if err != nil || len(alerts) != 1 || alerts[0].Kind != devices.AlertFault || alerts[0].Evidence != 1 {
			t.Errorf("lift alerts = %+v, %v; want one fault alert with one event", alerts, err)
		}
		if l, _, _ := st.ListAlerts(ctx, w.firmAdmin, devices.AlertFilter{}, devices.Page{}); len(l) != 1 {
			t.Errorf("the lift's firm sees %d alerts, want its fault alert", len(l))
		}
		if l, _, _ := st.ListAlerts(ctx, w.adminB, devices.AlertFilter{}, devices.Page{}); len(l) != 0 {
			t.Errorf("operator B sees %d alerts", len(l))
		}
		evs, _, err := st.ListEvents(ctx, w.adminA, devices.EventFilter{Kind: devices.EventAgreementSuspended}, devices.Page{})
		if err != nil || len(evs) != 1 {
			t.Errorf("agreement_suspended events seen by the operator = %d, %v; want 1", len(evs), err)
		}
	})
}
