package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
)

// techniciansOf pages through a technician list one at a time.
func techniciansOf(t *testing.T, st *store.Store, a devices.Actor, f devices.TechnicianFilter) []string {
	t.Helper()
	var out []string
	p := devices.Page{Limit: 1}
	for {
		items, next, err := st.ListTechnicians(t.Context(), a, f, p)
		if err != nil {
			t.Fatalf("ListTechnicians: %v", err)
		}
		for _, it := range items {
			out = append(out, it.ID)
		}
		if next == "" {
			return out
		}
		p.Cursor = next
	}
}

func (w *world) technician(a devices.Actor, name string) devices.Technician {
	w.t.Helper()
	tech := devices.Technician{Name: name}
	if err := w.st.CreateTechnician(w.ctx, a, &tech); err != nil {
		w.t.Fatalf("CreateTechnician(%s) = %v", name, err)
	}
	return tech
}

func technicianNames(v devices.Visit) []string {
	out := make([]string, len(v.Technicians))
	for i, t := range v.Technicians {
		out[i] = t.Name
	}
	return out
}

// TestTechnicians: any token of an institute registers its technicians;
// the institute and the regulator see them, nobody else; the institute
// edits them at the version read and retires them; every change is
// audited.
func TestTechnicians(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx
		instMember := w.token(w.reg, w.inst.ID, devices.RoleMember)
		inst2 := w.org("Other institute", devices.KindMetrologyInstitute)
		inst2Admin := w.token(w.reg, inst2.ID, devices.RoleAdmin)

		for name, a := range map[string]devices.Actor{"operator": w.adminA, "firm": w.firmAdmin, "regulator": w.reg} {
			tech := devices.Technician{Name: "X"}
			wantIs(t, name+" registers a technician", st.CreateTechnician(ctx, a, &tech), devices.ErrForbidden)
		}
		bad := devices.Technician{Name: "  ", Email: "not an address"}
		wantFields(t, "technician without a name and with a bad e-mail", st.CreateTechnician(ctx, w.instAdmin, &bad), "name", "email")

		zhang := devices.Technician{Name: " Zhang Min ", Email: "zhang.min@example.org", Phone: "+86 21 0000 0001"}
		if err := st.CreateTechnician(ctx, instMember, &zhang); err != nil {
			t.Fatal(err)
		}
		if zhang.InstituteID != w.inst.ID || zhang.Name != "Zhang Min" || zhang.Version != 1 || zhang.Retired() || !zhang.CreatedAt.Equal(t0) {
			t.Errorf("created %+v; want Zhang Min of the institute at version 1, active", zhang)
		}
		li := w.technician(w.instAdmin, "Li Na")
		wang := w.technician(inst2Admin, "Wang Wei")

		lists := []struct {
			name string
			a    devices.Actor
			f    devices.TechnicianFilter
			want []string
		}{
			{"institute", w.instAdmin, devices.TechnicianFilter{}, []string{zhang.ID, li.ID}},
			{"institute, by another institute's id", w.instAdmin, devices.TechnicianFilter{InstituteID: inst2.ID}, nil},
			{"other institute", inst2Admin, devices.TechnicianFilter{}, []string{wang.ID}},
			{"other institute, by the institute's id", inst2Admin, devices.TechnicianFilter{InstituteID: w.inst.ID}, nil},
			{"regulator", w.reg, devices.TechnicianFilter{}, []string{zhang.ID, li.ID, wang.ID}},
			{"regulator, by institute", w.reg, devices.TechnicianFilter{InstituteID: inst2.ID}, []string{wang.ID}},
			{"operator", w.adminA, devices.TechnicianFilter{IncludeRetired: true}, nil},
			{"firm", w.firmAdmin, devices.TechnicianFilter{}, nil},
		}
		for _, tc := range lists {
			if got := techniciansOf(t, st, tc.a, tc.f); !slices.Equal(got, tc.want) {
				t.Errorf("%s lists %v, want %v", tc.name, got, tc.want)
			}
		}
		for name, a := range map[string]devices.Actor{"institute member": instMember, "regulator": w.reg} {
			if got, err := st.GetTechnician(ctx, a, zhang.ID); err != nil || got.Email != "zhang.min@example.org" {
				t.Errorf("%s reads the technician: %+v, %v", name, got, err)
			}
		}
		for name, a := range map[string]devices.Actor{"other institute": inst2Admin, "operator": w.adminA, "firm": w.firmAdmin} {
			_, err := st.GetTechnician(ctx, a, zhang.ID)
			wantIs(t, name+" reads the technician", err, devices.ErrNotFound)
		}
		_, err := st.GetTechnician(ctx, w.reg, "not-a-uuid")
		wantIs(t, "technician by a bad id", err, devices.ErrNotFound)

		phone := devices.TechnicianPatch{Phone: ptr("+86 21 0000 0009")}
		_, err = st.UpdateTechnician(ctx, w.instAdmin, zhang.ID, 7, phone)
		wantIs(t, "stale update", err, devices.ErrPreconditionFailed)
		_, err = st.UpdateTechnician(ctx, w.reg, zhang.ID, 1, phone)
		wantIs(t, "regulator updates", err, devices.ErrForbidden)
		_, err = st.UpdateTechnician(ctx, inst2Admin, zhang.ID, 1, phone)
		wantIs(t, "other institute updates", err, devices.ErrNotFound)
		_, err = st.UpdateTechnician(ctx, w.instAdmin, zhang.ID, 1, devices.TechnicianPatch{Email: ptr("zhang@"), Name: ptr("")})
		wantFields(t, "bad update", err, "email", "name")
		w.clk.Add(time.Hour)
		got, err := st.UpdateTechnician(ctx, instMember, zhang.ID, 1, devices.TechnicianPatch{Phone: phone.Phone, Name: ptr(" Zhang Min ")})
		if err != nil || got.Version != 2 || got.Phone != "+86 21 0000 0009" || got.Name != "Zhang Min" || !got.UpdatedAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("update = %+v, %v; want the new phone at version 2", got, err)
		}
		if got, err = st.UpdateTechnician(ctx, instMember, zhang.ID, 2, phone); err != nil || got.Version != 2 {
			t.Errorf("update that changes nothing = %+v, %v; want version 2 kept", got, err)
		}

		_, err = st.RetireTechnician(ctx, w.reg, li.ID, devices.AnyVersion)
		wantIs(t, "regulator retires", err, devices.ErrForbidden)
		_, err = st.RetireTechnician(ctx, w.instAdmin, li.ID, 5)
		wantIs(t, "stale retire", err, devices.ErrPreconditionFailed)
		gone, err := st.RetireTechnician(ctx, w.instAdmin, li.ID, 1)
		if err != nil || !gone.Retired() || !gone.RetiredAt.Equal(w.clk.Now()) || gone.Version != 2 {
			t.Fatalf("retire = %+v, %v", gone, err)
		}
		if again, err := st.RetireTechnician(ctx, w.instAdmin, li.ID, devices.AnyVersion); err != nil || again.Version != 2 {
			t.Errorf("retiring again = %+v, %v; want it unchanged", again, err)
		}
		_, err = st.UpdateTechnician(ctx, w.instAdmin, li.ID, 2, phone)
		wantConflict(t, "update a retired technician", err, "retired")
		if got := techniciansOf(t, st, w.instAdmin, devices.TechnicianFilter{}); !slices.Equal(got, []string{zhang.ID}) {
			t.Errorf("active technicians = %v, want only Zhang Min", got)
		}
		if got := techniciansOf(t, st, w.instAdmin, devices.TechnicianFilter{IncludeRetired: true}); !slices.Equal(got, []string{zhang.ID, li.ID}) {
			t.Errorf("technicians with retired = %v, want both", got)
		}

		events, _, err := st.ListAudit(ctx, w.reg, devices.AuditFilter{Resource: devices.ResourceTechnician}, devices.Page{Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		actions := map[string]int{}
		for _, e := range events {
			actions[e.Action]++
		}
		if actions[devices.ActionCreate] != 3 || actions[devices.ActionUpdate] != 1 || actions[devices.ActionRetire] != 1 || len(actions) != 3 {
			t.Errorf("technician audit actions = %v; want 3 creates, 1 update, 1 retire", actions)
		}
	})
}

// TestAssignTechnicians: the visit's institute replaces its technicians
// with active technicians of its own; the venue's operator sees who is
// coming; lists filter by technician; re-planning moves a visit with its
// technicians; an assigned technician cannot retire; a finished visit's
// technicians do not change; a technician's feed lists its visits.
func TestAssignTechnicians(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx
		cal := devices.InstituteCalendar{TimeZone: "Asia/Shanghai", Technicians: 1, VisitsPerTechnicianPerDay: 1,
			WorkingDays: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}}
		if _, _, err := st.PutCalendar(ctx, w.instAdmin, w.inst.ID, devices.AnyVersion, cal); err != nil {
			t.Fatal(err)
		}
		inst := func(th *devices.Thermometer) { th.InstituteID = &w.inst.ID }
		hospital := devices.Venue{Name: "Ruijin Hospital", Kind: devices.VenueHospital, RegionCode: "310101", TimeZone: "Asia/Shanghai"}
		if err := st.CreateVenue(ctx, w.adminA, &hospital); err != nil {
			t.Fatal(err)
		}
		w.dueIn(w.adminA, hospital.ID, 20, inst)
		w.plan()
		byVenue := map[string]devices.Visit{}
		for _, v := range visitsOf(t, st, w.reg, devices.VisitFilter{InstituteID: w.inst.ID}) {
			byVenue[v.VenueID] = v
		}
		airport, hosp := byVenue[w.venueA.ID], byVenue[hospital.ID]
		if airport.ID == "" || hosp.ID == "" || len(airport.Technicians) != 0 {
			t.Fatalf("planned visits = %v; want one to venue A and one to the hospital, with nobody assigned", byVenue)
		}

		instMember := w.token(w.reg, w.inst.ID, devices.RoleMember)
		inst2 := w.org("Other institute", devices.KindMetrologyInstitute)
		inst2Admin := w.token(w.reg, inst2.ID, devices.RoleAdmin)
		zhang, li := w.technician(w.instAdmin, "Zhang Min"), w.technician(w.instAdmin, "Li Na")
		wang := w.technician(inst2Admin, "Wang Wei")
		gone := w.technician(w.instAdmin, "Zhao Lei")
		if _, err := st.RetireTechnician(ctx, w.instAdmin, gone.ID, devices.AnyVersion); err != nil {
			t.Fatal(err)
		}

		one := []string{zhang.ID}
		_, err := st.AssignTechnicians(ctx, w.adminA, airport.ID, devices.AnyVersion, one)
		wantIs(t, "the venue's operator assigns", err, devices.ErrForbidden)
		_, err = st.AssignTechnicians(ctx, w.reg, airport.ID, devices.AnyVersion, one)
		wantIs(t, "the regulator assigns", err, devices.ErrForbidden)
		_, err = st.AssignTechnicians(ctx, w.adminB, airport.ID, devices.AnyVersion, one)
		wantIs(t, "another operator assigns", err, devices.ErrNotFound)
		_, err = st.AssignTechnicians(ctx, inst2Admin, airport.ID, devices.AnyVersion, []string{wang.ID})
		wantIs(t, "another institute assigns", err, devices.ErrNotFound)
		_, err = st.AssignTechnicians(ctx, w.instAdmin, airport.ID, 9, one)
		wantIs(t, "stale assignment", err, devices.ErrPreconditionFailed)
		_, err = st.AssignTechnicians(ctx, w.instAdmin, airport.ID, devices.AnyVersion, []string{gone.ID, wang.ID, "x", zhang.ID, zhang.ID})
		if ve := wantFields(t, "bad technicians", err, "technician_ids[2]", "technician_ids[4]"); ve != nil && len(ve.Fields) != 2 {
			t.Errorf("malformed ids reported as %v; want the UUID and the repeat only (checked first)", ve.Fields)
		}
		_, err = st.AssignTechnicians(ctx, w.instAdmin, airport.ID, devices.AnyVersion, []string{gone.ID, wang.ID, zhang.ID})
		if ve := wantFields(t, "retired and foreign technicians", err, "technician_ids[0]", "technician_ids[1]"); ve != nil {
			want := []devices.FieldError{{Field: "technician_ids[0]", Reason: "is retired"},
				{Field: "technician_ids[1]", Reason: "is not a technician of the visit's institute"}}
			if !slices.Equal(ve.Fields, want) {
				t.Errorf("refusals = %v, want %v", ve.Fields, want)
			}
		}
		if v, _ := st.GetVisit(ctx, w.reg, airport.ID); v.Version != 1 || len(v.Technicians) != 0 {
			t.Errorf("refused assignments changed the visit: %+v", v)
		}

		v, err := st.AssignTechnicians(ctx, instMember, airport.ID, 1, []string{zhang.ID, li.ID})
		if err != nil || v.Version != 2 || !slices.Equal(technicianNames(v), []string{"Li Na", "Zhang Min"}) {
			t.Fatalf("assign = %+v, %v; want Li Na and Zhang Min at version 2", v, err)
		}
		if v, err = st.AssignTechnicians(ctx, w.instAdmin, airport.ID, 2, []string{li.ID, zhang.ID}); err != nil || v.Version != 2 {
			t.Errorf("assigning the same set = %+v, %v; want nothing changed", v, err)
		}
		if seen, err := st.GetVisit(ctx, w.memberA, airport.ID); err != nil || !slices.Equal(technicianNames(seen), []string{"Li Na", "Zhang Min"}) {
			t.Errorf("the venue's operator sees %+v, %v; want who is coming", seen, err)
		}
		if _, err := st.AssignTechnicians(ctx, w.instAdmin, hosp.ID, devices.AnyVersion, one); err != nil {
			t.Fatal(err)
		}
		visitIDs := func(v devices.Visit) string { return v.ID }
		filters := []struct {
			name string
			a    devices.Actor
			tech string
			want []string
		}{
			{"institute, Zhang Min", w.instAdmin, zhang.ID, []string{airport.ID, hosp.ID}},
			{"institute, Li Na", w.instAdmin, li.ID, []string{airport.ID}},
			{"institute, retired Zhao Lei", w.instAdmin, gone.ID, nil},
			{"operator A, Li Na", w.memberA, li.ID, []string{airport.ID}},
			{"operator B, Zhang Min", w.adminB, zhang.ID, nil},
			{"other institute, Zhang Min", inst2Admin, zhang.ID, nil},
		}
		for _, tc := range filters {
			got := ids(visitsOf(t, st, tc.a, devices.VisitFilter{TechnicianID: tc.tech}), visitIDs)
			if !sameSet(got, tc.want) {
				t.Errorf("%s: visits %v, want %v", tc.name, got, tc.want)
			}
		}
		events, _, err := st.ListAudit(ctx, w.reg, devices.AuditFilter{Resource: devices.ResourceVisit, ResourceID: airport.ID}, devices.Page{Limit: 50})
		if err != nil || len(events) != 1 || events[0].Action != devices.ActionUpdate || events[0].Changes["technician_ids"].To == nil {
			t.Errorf("audit of the airport visit = %+v, %v; want one update of technician_ids", events, err)
		}

		_, err = st.RetireTechnician(ctx, w.instAdmin, li.ID, devices.AnyVersion)
		wantConflict(t, "retire an assigned technician", err, "technician_in_use")
		if still, _ := st.GetTechnician(ctx, w.instAdmin, li.ID); still.Retired() || still.Version != 1 {
			t.Errorf("a refused retirement changed the technician: %+v", still)
		}

		// An out-of-tolerance device at a new venue goes first: the
		// planned visits move to later days, with their technicians.
		mall := devices.Venue{Name: "Grand Gateway", Kind: devices.VenueMall, RegionCode: "310104", TimeZone: "Asia/Shanghai"}
		if err := st.CreateVenue(ctx, w.adminA, &mall); err != nil {
			t.Fatal(err)
		}
		w.dueIn(w.adminA, mall.ID, -1, func(th *devices.Thermometer) {
			th.InstituteID = &w.inst.ID
			th.Status = devices.StatusOutOfTolerance
		})
		w.plan()
		for _, before := range []devices.Visit{v, hosp} {
			after, err := st.GetVisit(ctx, w.instAdmin, before.ID)
			if err != nil || after.State != devices.VisitPlanned || after.Day == before.Day {
				t.Errorf("visit %s after re-planning = %+v, %v; want it planned on another day than %s", before.ID, after, err, before.Day)
			}
			if before.ID == v.ID && !slices.Equal(technicianNames(after), []string{"Li Na", "Zhang Min"}) {
				t.Errorf("the moved airport visit has technicians %v, want Li Na and Zhang Min", technicianNames(after))
			}
			if before.ID == hosp.ID && !slices.Equal(technicianNames(after), []string{"Zhang Min"}) {
				t.Errorf("the moved hospital visit has technicians %v, want Zhang Min", technicianNames(after))
			}
		}

		// Li Na's feed lists exactly her visit; nobody else subscribes to it.
		feed := devices.Feed{Kind: devices.FeedTechnician, SubjectID: li.ID, Name: "Li Na"}
		secret, err := st.CreateFeed(ctx, instMember, &feed)
		if err != nil {
			t.Fatal(err)
		}
		_, fv, err := st.FeedBySecret(ctx, secret)
		if err != nil || len(fv) != 1 || fv[0].ID != airport.ID || fv[0].VenueName != w.venueA.Name {
			t.Errorf("Li Na's feed = %+v, %v; want the airport visit only", fv, err)
		}
		for name, a := range map[string]devices.Actor{"other institute": inst2Admin, "operator": w.adminA} {
			f := devices.Feed{Kind: devices.FeedTechnician, SubjectID: li.ID, Name: "x"}
			_, err := st.CreateFeed(ctx, a, &f)
			wantIs(t, name+" subscribes to the institute's technician", err, devices.ErrNotFound)
		}

		// An empty list clears; then she may retire.
		if v, err = st.AssignTechnicians(ctx, w.instAdmin, airport.ID, devices.AnyVersion, nil); err != nil || len(v.Technicians) != 0 {
			t.Errorf("clear = %+v, %v", v, err)
		}
		if _, err := st.RetireTechnician(ctx, w.instAdmin, li.ID, devices.AnyVersion); err != nil {
			t.Errorf("retire a technician no longer assigned: %v", err)
		}

		// A cancelled visit's technicians stay as they were.
		if _, err := st.ActOnVisit(ctx, w.instAdmin, hosp.ID, devices.AnyVersion, devices.VisitCancel, "ward closed"); err != nil {
			t.Fatal(err)
		}
		_, err = st.AssignTechnicians(ctx, w.instAdmin, hosp.ID, devices.AnyVersion, nil)
		wantConflict(t, "assign to a cancelled visit", err, "invalid_transition")
	})
}
