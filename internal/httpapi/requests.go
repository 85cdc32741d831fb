package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/calibd/calibd/devices"
)

type requestJSON struct {
	ID             string    `json:"id"`
	OperatorOrgID  string    `json:"operator_org_id"`
	VenueID        string    `json:"venue_id"`
	InstituteID    string    `json:"institute_id"`
	ThermometerIDs []string  `json:"thermometer_ids"`
	Reason         string    `json:"reason"`
	WindowFrom     string    `json:"window_from"`
	WindowTo       string    `json:"window_to"`
	State          string    `json:"state"`
	ProposedFrom   *string   `json:"proposed_from"`
	ProposedTo     *string   `json:"proposed_to"`
	Answer         string    `json:"answer"`
	TaskIDs        []string  `json:"task_ids"`
	Version        int       `json:"version"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func toRequestJSON(r devices.CalibrationRequest) requestJSON {
	return requestJSON{ID: r.ID, OperatorOrgID: r.OperatorOrgID, VenueID: r.VenueID, InstituteID: r.InstituteID,
		ThermometerIDs: r.ThermometerIDs, Reason: r.Reason, WindowFrom: r.WindowFrom, WindowTo: r.WindowTo,
		State: string(r.State), ProposedFrom: optional(r.ProposedFrom), ProposedTo: optional(r.ProposedTo),
		Answer: r.Answer, TaskIDs: r.TaskIDs, Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func (s *Server) createRequest(c *gin.Context) {
	o, err := s.readObject(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	r := devices.CalibrationRequest{
		VenueID:    deref(o.str("venue_id")),
		Reason:     deref(o.str("reason")),
		WindowFrom: deref(o.str("window_from")),
		WindowTo:   deref(o.str("window_to")),
	}
	if ids := o.strings("thermometer_ids"); ids != nil {
		r.ThermometerIDs = *ids
	}
	if err := o.done(); err != nil {
		s.fail(c, err)
		return
	}
	err = s.reg.CreateRequest(c.Request.Context(), actorOf(c), &r)
	if rep, ok := replayOf(c, err); ok {
		r, err = s.reg.GetRequest(c.Request.Context(), actorOf(c), rep.ID)
	}
	if err == nil {
		c.Header("Location", "/api/v1/requests/"+r.ID)
	}
	one(s, c, http.StatusCreated, r, err, toRequestJSON, r.Version)
}

func (s *Server) listRequests(c *gin.Context) {
	q := newQuery(c, "venue_id", "institute_id", "state")
	f := devices.RequestFilter{
		VenueID:     q.id("venue_id"),
		InstituteID: q.id("institute_id"),
		State: devices.RequestState(q.enum("state", func(v string) bool { return devices.RequestState(v).Valid() },
			joinStrings(devices.RequestStates))),
	}
	p := q.page()
	if err := q.done(); err != nil {
		s.fail(c, err)
		return
	}
	items, next, err := s.reg.ListRequests(c.Request.Context(), actorOf(c), f, p)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, list(items, next, toRequestJSON))
}

func (s *Server) getRequest(c *gin.Context) {
	r, err := s.reg.GetRequest(c.Request.Context(), actorOf(c), c.Param("id"))
	one(s, c, http.StatusOK, r, err, toRequestJSON, r.Version)
}

// actOnRequest handles POST /requests/{id}/{accept,propose,decline,
// accept-proposal,withdraw}: an optional body {"version", "note",
// "proposed_from", "proposed_to"} (propose needs the window, decline a
// note), or If-Match.
func (s *Server) actOnRequest(action devices.RequestAction) gin.HandlerFunc {
	return func(c *gin.Context) {
		version, f, err := s.actionBody(c, "note", "proposed_from", "proposed_to")
		if err != nil {
			s.fail(c, err)
			return
		}
		r, err := s.reg.ActOnRequest(c.Request.Context(), actorOf(c), c.Param("id"), version, action,
			f["note"], f["proposed_from"], f["proposed_to"])
		one(s, c, http.StatusOK, r, err, toRequestJSON, r.Version)
	}
}
