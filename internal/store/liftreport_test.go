package store_test

import (
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
)

// TestLiftReports: only the firm under contract files; each bad report is
// refused naming the field or the reason and writes nothing; a failed
// remote check opens an urgent on-site task, alerts the operator and
// suspends the agreement; an all-ok on-site report reinstates it; the
// operator countersigns once; an ended contract takes no new report.
func TestLiftReports(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx
		nothing := func(what string) {
			t.Helper()
			if n := countSQL(t, st, "SELECT count(*) FROM maintenance_reports"); n != 0 {
				t.Errorf("%s: %d reports written", what, n)
			}
		}
		now := t0.Add(-time.Hour)
		r := remoteReport(w.elevA.ID, now)
		wantFields(t, "a lift not under contract", st.FileReport(ctx, w.firmAdmin, &r), "elevator_id")
		nothing("no contract")

		c := devices.MaintenanceContract{ElevatorID: w.elevA.ID, FirmOrgID: w.firm.ID, StartsOn: "2026-03-01"}
		if err := st.CreateContract(ctx, w.adminA, &c); err != nil {
			t.Fatal(err)
		}
		ag := devices.CycleAgreement{ContractID: c.ID, OnSiteCycleDays: 30, RemoteIntervalDays: 7, ValidFrom: "2026-03-01",
			ValidTo: "2026-04-30", Reason: "video checks between visits"}
		if err := st.ProposeAgreement(ctx, w.firmAdmin, &ag); err != nil {
			t.Fatal(err)
		}
		if _, err := st.ActOnAgreement(ctx, w.adminA, ag.ID, devices.AnyVersion, devices.AgreementAccept, ""); err != nil {
			t.Fatal(err)
		}
		otherFirm := w.org("Other Lifts Ltd", devices.KindMaintenanceFirm)
		otherFirmAdmin := w.token(w.reg, otherFirm.ID, devices.RoleAdmin)
		r = remoteReport(w.elevA.ID, now)
		wantIs(t, "another firm", st.FileReport(ctx, otherFirmAdmin, &r), devices.ErrNotFound)
		r = remoteReport(w.elevA.ID, now)
		wantIs(t, "the operator", st.FileReport(ctx, w.adminA, &r), devices.ErrForbidden)
		r = remoteReport(w.elevB.ID, now)
		wantIs(t, "a lift the firm cannot see", st.FileReport(ctx, w.firmAdmin, &r), devices.ErrNotFound)
		r = remoteReport(w.elevA.ID, now)
		r.Items[0].Code = "Q01"
		wantFields(t, "an item outside the category", st.FileReport(ctx, w.firmAdmin, &r), "items[0].code")
		r = remoteReport(w.elevA.ID, now)
		r.Evidence[0].SHA256 = ""
		wantFields(t, "evidence without a hash", st.FileReport(ctx, w.firmAdmin, &r), "evidence[0].sha256")
		r = remoteReport(w.elevA.ID, now)
		bogus := "0195e0c4-0000-7000-8000-000000000000"
		r.TaskID = &bogus
		wantFields(t, "a task of nobody", st.FileReport(ctx, w.firmAdmin, &r), "task_id")
		nothing("bad reports")

		// 17:00 in Shanghai on 03-01; the urgent visit is due by 03-02.
		failed := remoteReport(w.elevA.ID, t0.Add(-time.Hour), "HM18")
		if err := st.FileReport(ctx, w.firmAdmin, &failed); err != nil {
			t.Fatalf("FileReport: %v", err)
		}
		if failed.UrgentTaskID == nil || failed.AgreementState != devices.AgreementSuspended || len(failed.CarriedOver) == 0 {
			t.Errorf("effects: %+v", failed)
		}
		urgent, err := st.GetLiftTask(ctx, w.adminA, *failed.UrgentTaskID)
		if err != nil || urgent.Kind != devices.LiftTaskUrgentOnSite || urgent.DueOn != "2026-03-02" || urgent.State != devices.LiftTaskOpen ||
			len(urgent.CarriedItems) != 1 || urgent.CarriedItems[0] != "HM18" {
			t.Errorf("urgent task: %+v, %v", urgent, err)
		}
		if got, _ := st.GetAgreement(ctx, w.adminA, ag.ID); got.State != devices.AgreementSuspended {
			t.Errorf("agreement after the failed check: %s", got.State)
		}
		ev := allEvents(t, st, w.adminA, devices.EventFilter{}, 10)
		if len(ev) != 2 || ev[0].Kind != devices.EventAgreementSuspended && ev[1].Kind != devices.EventAgreementSuspended {
			t.Errorf("operator's events: %+v", ev)
		}
		if got := allEvents(t, st, w.adminA, devices.EventFilter{Kind: devices.EventLiftCheckFailed}, 10); len(got) != 1 ||
			got[0].Severity != devices.SeverityCritical || got[0].ResourceID != failed.ID {
			t.Errorf("lift_check_failed: %+v", got)
		}
		got, err := st.GetReport(ctx, w.reg, failed.ID)
		if err != nil || len(got.Items) != 31 || len(got.Evidence) != 1 || got.Evidence[0].SHA256 != sha {
			t.Errorf("GetReport = %d items, %d evidence, %v", len(got.Items), len(got.Evidence), err)
		}
		if got.UrgentTaskID == nil || *got.UrgentTaskID != *failed.UrgentTaskID {
			t.Errorf("the stored report names urgent task %v, want %s", got.UrgentTaskID, *failed.UrgentTaskID)
		}
		if _, err := st.GetReport(ctx, w.adminB, failed.ID); err == nil {
			t.Error("operator B reads the report")
		}
		if l, _, _ := st.ListReports(ctx, w.instAdmin, devices.ReportFilter{}, devices.Page{}); len(l) != 0 {
			t.Errorf("the institute lists %d reports", len(l))
		}

		_, err = st.CountersignReport(ctx, w.firmAdmin, failed.ID, "")
		wantIs(t, "the firm countersigns", err, devices.ErrForbidden)
		_, err = st.CountersignReport(ctx, w.adminB, failed.ID, "")
		wantIs(t, "operator B countersigns", err, devices.ErrNotFound)
		signed, err := st.CountersignReport(ctx, w.memberA, failed.ID, "seen the video")
		if err != nil || signed.CountersignedAt == nil || signed.CountersignNote != "seen the video" {
			t.Errorf("countersign = %+v, %v", signed, err)
		}
		_, err = st.CountersignReport(ctx, w.adminA, failed.ID, "")
		wantConflict(t, "countersign twice", err, "invalid_transition")

		w.clk.Set(at(2026, 3, 2, 3))
		visit := onsiteReport(w.elevA.ID, devices.CategoryHalfMonthly, w.clk.Now().Add(-time.Hour))
		if err := st.FileReport(ctx, w.firmAdmin, &visit); err != nil {
			t.Fatalf("on-site report: %v", err)
		}
		if visit.AgreementState != devices.AgreementAccepted {
			t.Errorf("on-site report all ok: agreement %s", visit.AgreementState)
		}
		if got, _ := st.GetLiftTask(ctx, w.firmAdmin, urgent.ID); got.State != devices.LiftTaskCompleted {
			t.Errorf("urgent task after the visit: %s", got.State)
		}
		if got, _ := st.GetAgreement(ctx, w.firmAdmin, ag.ID); got.State != devices.AgreementAccepted {
			t.Errorf("agreement after the visit: %s", got.State)
		}

		if _, err := st.EndContract(ctx, w.adminA, c.ID, devices.AnyVersion, "2026-03-02", "firm replaced"); err != nil {
			t.Fatal(err)
		}
		w.clk.Set(at(2026, 3, 3, 3))
		late := onsiteReport(w.elevA.ID, devices.CategoryHalfMonthly, w.clk.Now().Add(-time.Hour))
		err = st.FileReport(ctx, w.firmAdmin, &late)
		wantIs(t, "a firm whose contract ended", err, devices.ErrForbidden)
		if l, _, err := st.ListReports(ctx, w.adminA, devices.ReportFilter{ElevatorID: w.elevA.ID}, devices.Page{}); err != nil || len(l) != 2 {
			t.Errorf("the operator still sees the firm's reports: %d, %v", len(l), err)
		}
		if l, _, err := st.ListReports(ctx, w.firmAdmin, devices.ReportFilter{Kind: devices.ReportRemote}, devices.Page{}); err != nil || len(l) != 1 {
			t.Errorf("the firm still sees its remote report: %d, %v", len(l), err)
		}
	})
}
