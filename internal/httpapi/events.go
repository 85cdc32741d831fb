package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/calibd/calibd/devices"
)

type eventJSON struct {
	ID            string    `json:"id"`
	At            time.Time `json:"at"`
	Kind          string    `json:"kind"`
	Severity      string    `json:"severity"`
	OperatorOrgID *string   `json:"operator_org_id"`
	InstituteID   *string   `json:"institute_id"`
	VenueID       *string   `json:"venue_id"`
	Resource      string    `json:"resource"`
	ResourceID    string    `json:"resource_id"`
	Message       string    `json:"message"`
}

func toEventJSON(e devices.Event) eventJSON {
	return eventJSON{ID: e.ID, At: e.At, Kind: string(e.Kind), Severity: string(e.Severity),
		OperatorOrgID: e.OperatorOrgID, InstituteID: e.InstituteID, VenueID: e.VenueID,
		Resource: e.Resource, ResourceID: e.ResourceID, Message: e.Message}
}

func (s *Server) listEvents(c *gin.Context) {
	q := newQuery(c, "kind", "venue_id", "since")
	f := devices.EventFilter{
		Kind: devices.EventKind(q.enum("kind", func(v string) bool { return devices.EventKind(v).Valid() },
			joinStrings(devices.EventKinds))),
		VenueID: q.id("venue_id"),
		Since:   q.time("since"),
	}
	p := q.page()
	if err := q.done(); err != nil {
		s.fail(c, err)
		return
	}
	items, next, err := s.reg.ListEvents(c.Request.Context(), actorOf(c), f, p)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, list(items, next, toEventJSON))
}

func (s *Server) getEvent(c *gin.Context) {
	e, err := s.reg.GetEvent(c.Request.Context(), actorOf(c), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, toEventJSON(e))
}
