package store_test

import (
	"testing"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
)

// TestCalibrationRequests: a venue operator asks the institute for some
// of its thermometers; the institute proposes another window, the
// operator takes it, and the thermometers get venue_request tasks the
// visits job places; refusals name the field; strangers see nothing.
func TestCalibrationRequests(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx
		inst := func(th *devices.Thermometer) { th.InstituteID = &w.inst.ID }
		t1 := w.dueIn(w.adminA, w.venueA.ID, 200, inst)
		t2 := w.dueIn(w.adminA, w.venueA.ID, 300, inst)

		bad := devices.CalibrationRequest{VenueID: w.venueA.ID, Reason: " ",
			ThermometerIDs: []string{t1.ID, t1.ID, "x", w.thermA2.ID, w.thermB.ID}, WindowFrom: "2026-03-20", WindowTo: "2026-03-10"}
		err := st.CreateRequest(ctx, w.adminA, &bad)
		wantFields(t, "bad request", err, "reason", "thermometer_ids[1]", "thermometer_ids[2]", "window_to")
		bad2 := devices.CalibrationRequest{VenueID: w.venueA.ID, Reason: "after a complaint",
			ThermometerIDs: []string{t1.ID, w.thermA2.ID, w.thermB.ID}, WindowFrom: "2026-03-10", WindowTo: "2026-03-20"}
		err = st.CreateRequest(ctx, w.adminA, &bad2)
		// thermA2 has no institute; thermB is another operator's.
		wantFields(t, "request naming unassigned and foreign devices", err, "thermometer_ids[1]", "thermometer_ids[2]")
		if n := w.count("calibration_requests"); n != 0 {
			t.Errorf("refused requests wrote %d rows", n)
		}
		strangers := devices.CalibrationRequest{VenueID: w.venueA.ID, Reason: "x", ThermometerIDs: []string{t1.ID},
			WindowFrom: "2026-03-10", WindowTo: "2026-03-20"}
		wantIs(t, "operator B requests in A's venue", st.CreateRequest(ctx, w.adminB, &strangers), devices.ErrNotFound)
		wantIs(t, "the institute requests", st.CreateRequest(ctx, w.instAdmin, &strangers), devices.ErrForbidden)

		r := devices.CalibrationRequest{VenueID: w.venueA.ID, Reason: "passengers reported high readings at gate D",
			ThermometerIDs: []string{t1.ID, t2.ID, w.thermA.ID}, WindowFrom: "2026-03-10", WindowTo: "2026-03-20"}
		if err := st.CreateRequest(ctx, w.memberA, &r); err != nil {
			t.Fatal(err)
		}
		if r.InstituteID != w.inst.ID || r.State != devices.RequestRequested || r.Version != 1 {
			t.Errorf("created request = %+v", r)
		}

		_, err = st.ActOnRequest(ctx, w.adminA, r.ID, devices.AnyVersion, devices.RequestAccept, "", "", "")
		wantIs(t, "operator accepts its own request", err, devices.ErrForbidden)
		_, err = st.ActOnRequest(ctx, w.adminB, r.ID, devices.AnyVersion, devices.RequestWithdraw, "", "", "")
		wantIs(t, "operator B withdraws A's request", err, devices.ErrNotFound)
		_, err = st.ActOnRequest(ctx, w.instAdmin, r.ID, devices.AnyVersion, devices.RequestAcceptProposal, "", "", "")
		wantIs(t, "institute takes the operator's step", err, devices.ErrForbidden)
		_, err = st.ActOnRequest(ctx, w.instAdmin, r.ID, devices.AnyVersion, devices.RequestPropose, "", "2026-03-25", "2026-03-24")
		wantFields(t, "backwards proposal", err, "proposed_to")
		_, err = st.ActOnRequest(ctx, w.instAdmin, r.ID, 5, devices.RequestPropose, "", "2026-03-23", "2026-03-27")
		wantIs(t, "stale proposal", err, devices.ErrPreconditionFailed)
		prop, err := st.ActOnRequest(ctx, w.instAdmin, r.ID, 1, devices.RequestPropose, "our team is in Pudong that week", "2026-03-23", "2026-03-27")
		if err != nil || prop.State != devices.RequestProposed || prop.ProposedTo != "2026-03-27" || prop.Answer == "" {
			t.Fatalf("propose = %+v, %v", prop, err)
		}
		_, err = st.ActOnRequest(ctx, w.instAdmin, r.ID, devices.AnyVersion, devices.RequestAccept, "", "", "")
		wantConflict(t, "accept a proposed request", err, "invalid_transition")

		// thermA already has an active task from the plan job: it keeps it.
		if _, err := st.PlanCalibrations(ctx, w.clk.Now(), 30); err != nil {
			t.Fatal(err)
		}
		acc, err := st.ActOnRequest(ctx, w.memberA, r.ID, prop.Version, devices.RequestAcceptProposal, "", "", "")
		if err != nil || acc.State != devices.RequestAccepted || len(acc.TaskIDs) != 2 {
			t.Fatalf("accept proposal = %+v, %v; want accepted with 2 tasks", acc, err)
		}
		for _, id := range acc.TaskIDs {
			task, err := st.GetTask(ctx, w.instAdmin, id)
			if err != nil || task.Kind != devices.TaskVenueRequest || task.DueOn != "2026-03-27" || task.RequestID == nil ||
				*task.RequestID != r.ID || task.State != devices.TaskOpen || task.InstituteID == nil || *task.InstituteID != w.inst.ID {
				t.Errorf("request task = %+v, %v", task, err)
			}
		}
		rep, err := st.PlanVisits(ctx, w.clk.Now(), 60)
		if err != nil || rep.Unplaced != 0 {
			t.Fatalf("visits after the request = %+v, %v", rep, err)
		}
		for _, id := range acc.TaskIDs {
			if task, _ := st.GetTask(ctx, w.reg, id); task.State != devices.TaskScheduled || task.VisitID == nil {
				t.Errorf("requested task %s not placed in a visit: %+v", id, task)
			}
		}
		_, err = st.ActOnRequest(ctx, w.adminA, r.ID, devices.AnyVersion, devices.RequestWithdraw, "", "", "")
		wantConflict(t, "withdraw an accepted request", err, "invalid_transition")

		// Decline needs a note.
		r2 := devices.CalibrationRequest{VenueID: w.venueA.ID, Reason: "again", ThermometerIDs: []string{t1.ID},
			WindowFrom: "2026-04-01", WindowTo: "2026-04-02"}
		if err := st.CreateRequest(ctx, w.adminA, &r2); err != nil {
			t.Fatal(err)
		}
		_, err = st.ActOnRequest(ctx, w.instAdmin, r2.ID, devices.AnyVersion, devices.RequestDecline, " ", "", "")
		wantFields(t, "decline without a note", err, "note")
		dec, err := st.ActOnRequest(ctx, w.instAdmin, r2.ID, devices.AnyVersion, devices.RequestDecline, "already scheduled", "", "")
		if err != nil || dec.State != devices.RequestDeclined || dec.Answer != "already scheduled" {
			t.Errorf("decline = %+v, %v", dec, err)
		}

		// Visibility.
		for _, c := range []struct {
			name string
			a    devices.Actor
			n    int
		}{{"regulator", w.reg, 2}, {"operator A", w.memberA, 2}, {"institute", w.instAdmin, 2}, {"operator B", w.adminB, 0}, {"firm", w.firmAdmin, 0}} {
			got, _, err := st.ListRequests(ctx, c.a, devices.RequestFilter{}, devices.Page{Limit: 50})
			if err != nil || len(got) != c.n {
				t.Errorf("%s lists %d requests, %v; want %d", c.name, len(got), err, c.n)
			}
		}
		_, err = st.GetRequest(ctx, w.adminB, r.ID)
		wantIs(t, "operator B reads A's request", err, devices.ErrNotFound)
		if got, _, _ := st.ListRequests(ctx, w.reg, devices.RequestFilter{State: devices.RequestDeclined}, devices.Page{Limit: 50}); len(got) != 1 {
			t.Errorf("declined filter lists %d", len(got))
		}
	})
}
