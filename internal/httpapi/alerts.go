package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/calibd/calibd/devices"
)

type alertJSON struct {
	ID             string     `json:"id"`
	DeviceID       string     `json:"device_id"`
	DeviceKind     string     `json:"device_kind"`
	VenueID        string     `json:"venue_id"`
	OperatorOrgID  string     `json:"operator_org_id"`
	InstituteID    *string    `json:"institute_id"`
	Kind           string     `json:"kind"`
	State          string     `json:"state"`
	FirstAt        time.Time  `json:"first_at"`
	LastAt         time.Time  `json:"last_at"`
	Evidence       int        `json:"evidence"`
	Detail         string     `json:"detail"`
	ResolvedReason string     `json:"resolved_reason"`
	PredictedAt    *time.Time `json:"predicted_at"`
	Version        int        `json:"version"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

func toAlertJSON(a devices.Alert) alertJSON {
	return alertJSON{ID: a.ID, DeviceID: a.DeviceID, DeviceKind: string(a.DeviceKind), VenueID: a.VenueID, OperatorOrgID: a.OperatorOrgID,
		InstituteID: a.InstituteID, Kind: string(a.Kind), State: string(a.State), FirstAt: a.FirstAt, LastAt: a.LastAt,
		Evidence: a.Evidence, Detail: a.Detail, ResolvedReason: a.ResolvedReason, PredictedAt: a.PredictedAt, Version: a.Version, CreatedAt: a.CreatedAt,
		UpdatedAt: a.UpdatedAt}
}

func (s *Server) listAlerts(c *gin.Context) {
	q := newQuery(c, "device_id", "kind", "state")
	f := devices.AlertFilter{DeviceID: q.id("device_id"),
		Kind:  devices.AlertKind(q.enum("kind", func(v string) bool { return devices.AlertKind(v).Valid() }, joinStrings(devices.AlertKinds))),
		State: devices.AlertState(q.enum("state", func(v string) bool { return devices.AlertState(v).Valid() }, joinStrings(devices.AlertStates)))}
	p := q.page()
	if err := q.done(); err != nil {
		s.fail(c, err)
		return
	}
	items, next, err := s.reg.ListAlerts(c.Request.Context(), actorOf(c), f, p)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, list(items, next, toAlertJSON))
}

func (s *Server) getAlert(c *gin.Context) {
	a, err := s.reg.GetAlert(c.Request.Context(), actorOf(c), c.Param("id"))
	one(s, c, http.StatusOK, a, err, toAlertJSON, a.Version)
}

// actOnAlert handles POST /alerts/{id}/{acknowledge,resolve}: {"reason"
// (resolve), "version"?} or If-Match.
func (s *Server) actOnAlert(action devices.AlertAction) gin.HandlerFunc {
	return func(c *gin.Context) {
		version, f, err := s.actionBody(c, "reason")
		if err != nil {
			s.fail(c, err)
			return
		}
		al, err := s.reg.ActOnAlert(c.Request.Context(), actorOf(c), c.Param("id"), version, action, f["reason"])
		one(s, c, http.StatusOK, al, err, toAlertJSON, al.Version)
	}
}
