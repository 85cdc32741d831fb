package web

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/calibd/calibd/devices"
)

// Device statuses the pages show, in the order a venue manager cares
// about them.
const (
	statusOutOfTolerance = "out of tolerance"
	statusDrifting       = "drifting"
	statusSilent         = "silent"
	statusOverdue        = "overdue"
	statusDueSoon        = "due soon"
	statusInService      = "in service"
)

// deviceRow is a thermometer with the status a person reads first.
type deviceRow struct {
	devices.Thermometer
	Statuses []string
}

// activeAlerts maps device id to the kinds of its alerts not resolved, for
// the actor, reading at most 2,000 of each state.
func (s *Server) activeAlerts(ctx context.Context, a devices.Actor) (map[string][]devices.AlertKind, error) {
	out := map[string][]devices.AlertKind{}
	for _, st := range []devices.AlertState{devices.AlertOpen, devices.AlertAcknowledged} {
		cursor := ""
		for range 10 {
			list, next, err := s.st.ListAlerts(ctx, a, devices.AlertFilter{State: st}, devices.Page{Limit: 200, Cursor: cursor})
			if err != nil {
				return nil, err
			}
			for _, al := range list {
				out[al.DeviceID] = append(out[al.DeviceID], al.Kind)
			}
			if next == "" {
				break
			}
			cursor = next
		}
	}
	return out, nil
}

// statuses says what state a thermometer is in, most urgent first.
func statuses(t devices.Thermometer, alerts []devices.AlertKind) []string {
	var out []string
	if t.Status == devices.StatusOutOfTolerance || slices.Contains(alerts, devices.AlertOutOfTolerance) {
		out = append(out, statusOutOfTolerance)
	}
	if slices.Contains(alerts, devices.AlertDrift) || slices.Contains(alerts, devices.AlertPredictedDrift) {
		out = append(out, statusDrifting)
	}
	if slices.Contains(alerts, devices.AlertSilent) {
		out = append(out, statusSilent)
	}
	switch t.DueState {
	case devices.DueOverdue:
		out = append(out, statusOverdue)
	case devices.DueSoon:
		out = append(out, statusDueSoon)
	}
	if len(out) == 0 {
		if t.Status == devices.StatusInService {
			out = append(out, statusInService)
		} else {
			out = append(out, label(string(t.Status)))
		}
	}
	return out
}

func label(s string) string { return strings.ReplaceAll(s, "_", " ") }

func (s *Server) rows(ctx context.Context, a devices.Actor, ths []devices.Thermometer) ([]deviceRow, error) {
	alerts, err := s.activeAlerts(ctx, a)
	if err != nil {
		return nil, err
	}
	out := make([]deviceRow, len(ths))
	for i, t := range ths {
		out[i] = deviceRow{Thermometer: t, Statuses: statuses(t, alerts[t.ID])}
	}
	return out, nil
}

type venuesData struct {
	Venues     []devices.Venue
	Next       string
	Kinds      []devices.VenueKind
	Form       map[string]string
	CanCreate  bool
	ShowCreate bool
}

func (s *Server) venuesPage(w http.ResponseWriter, r *http.Request, status int, form map[string]string, errs map[string]string) {
	a := actorOf(r)
	list, next, err := s.st.ListVenues(r.Context(), a, devices.VenueFilter{}, devices.Page{Limit: 50, Cursor: r.URL.Query().Get("cursor")})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if form == nil {
		form = map[string]string{"time_zone": "Asia/Shanghai"}
	}
	s.render(w, r, status, "venues", page{Title: "Venues and devices", Errors: errs, Data: venuesData{Venues: list, Next: next,
		Kinds: devices.VenueKinds, Form: form, CanCreate: a.OrgKind == devices.KindVenueOperator && a.CanWriteRegistry(),
		ShowCreate: len(errs) > 0}})
}

func (s *Server) venues(w http.ResponseWriter, r *http.Request) {
	s.venuesPage(w, r, http.StatusOK, nil, nil)
}

func (s *Server) createVenue(w http.ResponseWriter, r *http.Request) {
	f := formOf(r, "name", "kind", "address", "region_code", "time_zone", "contact_name", "contact_phone")
	v := devices.Venue{Name: f["name"], Kind: devices.VenueKind(f["kind"]), Address: f["address"], RegionCode: f["region_code"],
		TimeZone: f["time_zone"], Contact: devices.Contact{Name: f["contact_name"], Phone: f["contact_phone"]}}
	if err := s.st.CreateVenue(r.Context(), actorOf(r), &v); err != nil {
		if errs, ok := fieldErrors(err); ok {
			s.venuesPage(w, r, http.StatusUnprocessableEntity, f, errs)
			return
		}
		s.fail(w, r, err)
		return
	}
	redirectDone(w, r, "/venues/"+v.ID, "Venue "+v.Name+" registered. Register its thermometers below.")
}

// formOf reads the named fields, trimmed.
func formOf(r *http.Request, names ...string) map[string]string {
	out := make(map[string]string, len(names))
	for _, n := range names {
		out[n] = strings.TrimSpace(r.PostFormValue(n))
	}
	return out
}

type venueData struct {
	Venue      devices.Venue
	Devices    []deviceRow
	Next       string
	Types      []devices.ThermometerType
	Institutes []devices.Organization
	Form       map[string]string
	CanWrite   bool
	Today      string
	InAMonth   string
	// Open: which form to show open (after an error in it).
	Open string
}

func (s *Server) venuePage(w http.ResponseWriter, r *http.Request, status int, open string, form, errs map[string]string) {
	a := actorOf(r)
	ctx := r.Context()
	v, err := s.st.GetVenue(ctx, a, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ths, next, err := s.st.ListThermometers(ctx, a, devices.ThermometerFilter{VenueID: v.ID},
		devices.Page{Limit: 100, Cursor: r.URL.Query().Get("cursor")})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rows, err := s.rows(ctx, a, ths)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	insts, _, err := s.st.ListOrganizations(ctx, a, devices.OrganizationFilter{Kind: devices.KindMetrologyInstitute}, devices.Page{Limit: 200})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if form == nil {
		form = map[string]string{}
	}
	now := time.Now().UTC()
	s.render(w, r, status, "venue", page{Title: v.Name, Errors: errs, Data: venueData{Venue: v, Devices: rows, Next: next,
		Types: devices.ThermometerTypes, Institutes: insts, Form: form, Open: open,
		CanWrite: a.OrgKind == devices.KindVenueOperator && a.OrgID == v.OperatorOrgID && a.CanWriteRegistry(),
		Today:    now.Format(time.DateOnly), InAMonth: now.AddDate(0, 1, 0).Format(time.DateOnly)}})
}

func (s *Server) venue(w http.ResponseWriter, r *http.Request) {
	s.venuePage(w, r, http.StatusOK, "", nil, nil)
}

func (s *Server) createThermometer(w http.ResponseWriter, r *http.Request) {
	f := formOf(r, "type", "manufacturer", "model", "serial", "location_note", "institute_id")
	t := devices.Thermometer{VenueID: r.PathValue("id"), Type: devices.ThermometerType(f["type"]), Manufacturer: f["manufacturer"],
		Model: f["model"], Serial: f["serial"], LocationNote: f["location_note"]}
	if f["institute_id"] != "" {
		id := f["institute_id"]
		t.InstituteID = &id
	}
	if err := s.st.CreateThermometer(r.Context(), actorOf(r), &t); err != nil {
		if errs, ok := fieldErrors(err); ok {
			s.venuePage(w, r, http.StatusUnprocessableEntity, "thermometer", f, errs)
			return
		}
		s.fail(w, r, err)
		return
	}
	redirectDone(w, r, "/venues/"+t.VenueID, "Thermometer "+t.Serial+" registered; it is due for calibration on "+t.NextDueAt.Format(time.DateOnly)+".")
}

// requestCalibration asks the institute of the selected thermometers for
// a visit. A request names one institute, so the selection is split by
// institute; thermometers without one are reported.
func (s *Server) requestCalibration(w http.ResponseWriter, r *http.Request) {
	a := actorOf(r)
	ctx := r.Context()
	venueID := strings.TrimSpace(r.PostFormValue("venue_id"))
	f := formOf(r, "reason", "window_from", "window_to")
	ids := r.PostForm["thermometer_id"]
	if len(ids) == 0 {
		s.venuePageFor(w, r, venueID, http.StatusUnprocessableEntity, "request", f,
			map[string]string{"thermometer_ids": "Tick the thermometers to calibrate."})
		return
	}
	byInst := map[string][]string{}
	var unassigned []string
	for _, id := range ids {
		t, err := s.st.GetThermometer(ctx, a, id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if t.InstituteID == nil {
			unassigned = append(unassigned, t.Serial)
			continue
		}
		byInst[*t.InstituteID] = append(byInst[*t.InstituteID], t.ID)
	}
	if len(unassigned) > 0 {
		s.venuePageFor(w, r, venueID, http.StatusUnprocessableEntity, "request", f, map[string]string{"thermometer_ids": "No institute is assigned to " +
			strings.Join(unassigned, ", ") + "; assign one before requesting a calibration."})
		return
	}
	made := 0
	for _, inst := range slices.Sorted(maps.Keys(byInst)) {
		req := devices.CalibrationRequest{VenueID: venueID, InstituteID: inst, ThermometerIDs: byInst[inst], Reason: f["reason"],
			WindowFrom: f["window_from"], WindowTo: f["window_to"]}
		if err := s.st.CreateRequest(ctx, a, &req); err != nil {
			if errs, ok := fieldErrors(err); ok {
				s.venuePageFor(w, r, venueID, http.StatusUnprocessableEntity, "request", f, errs)
				return
			}
			s.fail(w, r, err)
			return
		}
		made++
	}
	redirectDone(w, r, "/venues/"+venueID, "Calibration requested for "+strconv.Itoa(len(ids))+" thermometer(s) ("+strconv.Itoa(made)+
		" request(s)); the institute answers with a visit.")
}

func (s *Server) venuePageFor(w http.ResponseWriter, r *http.Request, venueID string, status int, open string, f, errs map[string]string) {
	r.SetPathValue("id", venueID)
	s.venuePage(w, r, status, open, f, errs)
}

type deviceListData struct {
	Devices []deviceRow
	Next    string
	Status  string
}

// deviceList: the thermometers the actor sees, with their status (the
// institute's and the regulator's view; an operator sees them per venue).
func (s *Server) deviceList(w http.ResponseWriter, r *http.Request) {
	a := actorOf(r)
	ths, next, err := s.st.ListThermometers(r.Context(), a, devices.ThermometerFilter{},
		devices.Page{Limit: 100, Cursor: r.URL.Query().Get("cursor")})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rows, err := s.rows(r.Context(), a, ths)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "devices", page{Title: "Thermometers", Data: deviceListData{Devices: rows, Next: next}})
}
