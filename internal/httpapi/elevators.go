package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/calibd/calibd/devices"
)

func (s *Server) listElevators(c *gin.Context) {
	q := newQuery(c, "venue_id", "status", "maintenance_firm_id", "operator_org_id", "include_retired")
	f := devices.ElevatorFilter{
		VenueID: q.id("venue_id"),
		Status: devices.ElevatorStatus(q.enum("status", func(v string) bool { return devices.ElevatorStatus(v).Valid() },
			joinStrings(devices.ElevatorStatuses))),
		MaintenanceFirmID: q.id("maintenance_firm_id"),
		OperatorID:        q.id("operator_org_id"),
		IncludeRetired:    q.bool("include_retired"),
	}
	p := q.page()
	if err := q.done(); err != nil {
		s.fail(c, err)
		return
	}
	items, next, err := s.reg.ListElevators(c.Request.Context(), actorOf(c), f, p)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, list(items, next, toElevatorJSON))
}

func (s *Server) createElevator(c *gin.Context) {
	o, err := s.readObject(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	e := devices.Elevator{
		RegistrationCode:  deref(o.str("registration_code")),
		VenueID:           deref(o.str("venue_id")),
		MaintenanceFirmID: deref(o.nullableStr("maintenance_firm_id")),
		Manufacturer:      deref(o.str("manufacturer")),
		Model:             deref(o.str("model")),
		CommissioningDate: deref(o.nullableDate("commissioning_date")),
		Status:            devices.ElevatorStatus(deref(o.str("status"))),
	}
	if e.VenueID == "" {
		o.bad("venue_id", "is required")
	}
	if err := o.done(); err != nil {
		s.fail(c, err)
		return
	}
	if !devices.IsUUID(e.VenueID) {
		s.fail(c, devices.Invalid("venue_id", "must be a UUID"))
		return
	}
	err = s.reg.CreateElevator(c.Request.Context(), actorOf(c), &e)
	if rep, ok := replayOf(c, err); ok {
		e, err = s.reg.GetElevator(c.Request.Context(), actorOf(c), rep.ID)
	}
	if err == nil {
		c.Header("Location", "/api/v1/elevators/"+e.ID)
	}
	one(s, c, http.StatusCreated, e, err, toElevatorJSON, e.Version)
}

func (s *Server) getElevator(c *gin.Context) {
	e, err := s.reg.GetElevator(c.Request.Context(), actorOf(c), c.Param("id"))
	one(s, c, http.StatusOK, e, err, toElevatorJSON, e.Version)
}

func (s *Server) updateElevator(c *gin.Context) {
	o, err := s.readObject(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	p := devices.ElevatorPatch{
		RegistrationCode:  o.str("registration_code"),
		VenueID:           o.str("venue_id"),
		MaintenanceFirmID: o.nullableStr("maintenance_firm_id"),
		Manufacturer:      o.str("manufacturer"),
		Model:             o.str("model"),
		CommissioningDate: o.nullableDate("commissioning_date"),
	}
	if v := o.str("status"); v != nil {
		st := devices.ElevatorStatus(*v)
		p.Status = &st
	}
	version, err := s.version(c, o, true)
	if err == nil {
		err = o.done()
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	e, err := s.reg.UpdateElevator(c.Request.Context(), actorOf(c), c.Param("id"), version, p)
	one(s, c, http.StatusOK, e, err, toElevatorJSON, e.Version)
}

func (s *Server) retireElevator(c *gin.Context) {
	version, err := s.optionalVersion(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	e, err := s.reg.RetireElevator(c.Request.Context(), actorOf(c), c.Param("id"), version)
	one(s, c, http.StatusOK, e, err, toElevatorJSON, e.Version)
}
