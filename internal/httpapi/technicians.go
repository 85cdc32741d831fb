package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/calibd/calibd/devices"
)

type technicianJSON struct {
	ID          string     `json:"id"`
	InstituteID string     `json:"institute_id"`
	Name        string     `json:"name"`
	Email       string     `json:"email"`
	Phone       string     `json:"phone"`
	Retired     bool       `json:"retired"`
	RetiredAt   *time.Time `json:"retired_at"`
	Version     int        `json:"version"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

func toTechnicianJSON(t devices.Technician) technicianJSON {
	return technicianJSON{ID: t.ID, InstituteID: t.InstituteID, Name: t.Name, Email: t.Email, Phone: t.Phone,
		Retired: t.Retired(), RetiredAt: t.RetiredAt, Version: t.Version, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

func (s *Server) listTechnicians(c *gin.Context) {
	q := newQuery(c, "institute_id", "include_retired")
	f := devices.TechnicianFilter{InstituteID: q.id("institute_id"), IncludeRetired: q.bool("include_retired")}
	p := q.page()
	if err := q.done(); err != nil {
		s.fail(c, err)
		return
	}
	items, next, err := s.reg.ListTechnicians(c.Request.Context(), actorOf(c), f, p)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, list(items, next, toTechnicianJSON))
}

func (s *Server) createTechnician(c *gin.Context) {
	o, err := s.readObject(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	t := devices.Technician{Name: deref(o.str("name")), Email: deref(o.str("email")), Phone: deref(o.str("phone"))}
	if err := o.done(); err != nil {
		s.fail(c, err)
		return
	}
	err = s.reg.CreateTechnician(c.Request.Context(), actorOf(c), &t)
	if rep, ok := replayOf(c, err); ok {
		t, err = s.reg.GetTechnician(c.Request.Context(), actorOf(c), rep.ID)
	}
	if err == nil {
		c.Header("Location", "/api/v1/technicians/"+t.ID)
	}
	one(s, c, http.StatusCreated, t, err, toTechnicianJSON, t.Version)
}

func (s *Server) getTechnician(c *gin.Context) {
	t, err := s.reg.GetTechnician(c.Request.Context(), actorOf(c), c.Param("id"))
	one(s, c, http.StatusOK, t, err, toTechnicianJSON, t.Version)
}

func (s *Server) updateTechnician(c *gin.Context) {
	o, err := s.readObject(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	p := devices.TechnicianPatch{Name: o.str("name"), Email: o.str("email"), Phone: o.str("phone")}
	version, err := s.version(c, o, true)
	if err == nil {
		err = o.done()
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	t, err := s.reg.UpdateTechnician(c.Request.Context(), actorOf(c), c.Param("id"), version, p)
	one(s, c, http.StatusOK, t, err, toTechnicianJSON, t.Version)
}

func (s *Server) retireTechnician(c *gin.Context) {
	version, err := s.optionalVersion(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	t, err := s.reg.RetireTechnician(c.Request.Context(), actorOf(c), c.Param("id"), version)
	one(s, c, http.StatusOK, t, err, toTechnicianJSON, t.Version)
}

// assignTechnicians handles POST /visits/{id}/technicians: the body
// {"technician_ids": [...], "version": n} (or If-Match) replaces the
// visit's technicians; an empty list clears them.
func (s *Server) assignTechnicians(c *gin.Context) {
	o, err := s.readObject(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	var ids []string
	if p := o.strings("technician_ids"); p != nil {
		ids = *p
	} else if _, sent := o.raw["technician_ids"]; !sent {
		o.bad("technician_ids", "is required (send [] to clear the assignment)")
	}
	version, err := s.version(c, o, false)
	if err == nil {
		err = o.done()
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	v, err := s.reg.AssignTechnicians(c.Request.Context(), actorOf(c), c.Param("id"), version, ids)
	one(s, c, http.StatusOK, v, err, toVisitJSON, v.Version)
}
