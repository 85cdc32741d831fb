package httpapi

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/calibd/calibd/devices"
)

func validVenueKind(v string) bool { return devices.VenueKind(v).Valid() }

func (s *Server) listVenues(c *gin.Context) {
	q := newQuery(c, "kind", "region_code", "operator_org_id", "include_retired")
	f := devices.VenueFilter{
		Kind:           devices.VenueKind(q.enum("kind", validVenueKind, joinStrings(devices.VenueKinds))),
		RegionCode:     strings.ToUpper(q.str("region_code")),
		OperatorOrgID:  q.id("operator_org_id"),
		IncludeRetired: q.bool("include_retired"),
	}
	p := q.page()
	if err := q.done(); err != nil {
		s.fail(c, err)
		return
	}
	items, next, err := s.reg.ListVenues(c.Request.Context(), actorOf(c), f, p)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, list(items, next, toVenueJSON))
}

func (s *Server) createVenue(c *gin.Context) {
	o, err := s.readObject(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	v := devices.Venue{
		Name:       deref(o.str("name")),
		Kind:       devices.VenueKind(deref(o.str("kind"))),
		Address:    deref(o.str("address")),
		RegionCode: deref(o.str("region_code")),
		TimeZone:   deref(o.str("time_zone")),
	}
	v.Lat = deref(o.nullableFloat("lat"))
	v.Lon = deref(o.nullableFloat("lon"))
	ct := o.sub("contact")
	if ct != nil {
		v.Contact = devices.Contact{Name: deref(ct.str("name")), Phone: deref(ct.str("phone")), Email: deref(ct.str("email"))}
	}
	if err := o.done(ct); err != nil {
		s.fail(c, err)
		return
	}
	err = s.reg.CreateVenue(c.Request.Context(), actorOf(c), &v)
	if rep, ok := replayOf(c, err); ok {
		v, err = s.reg.GetVenue(c.Request.Context(), actorOf(c), rep.ID)
	}
	if err == nil {
		c.Header("Location", "/api/v1/venues/"+v.ID)
	}
	one(s, c, http.StatusCreated, v, err, toVenueJSON, v.Version)
}

func (s *Server) getVenue(c *gin.Context) {
	v, err := s.reg.GetVenue(c.Request.Context(), actorOf(c), c.Param("id"))
	one(s, c, http.StatusOK, v, err, toVenueJSON, v.Version)
}

func (s *Server) updateVenue(c *gin.Context) {
	o, err := s.readObject(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	p := devices.VenuePatch{
		Name:       o.str("name"),
		Address:    o.str("address"),
		RegionCode: o.str("region_code"),
		Lat:        o.nullableFloat("lat"),
		Lon:        o.nullableFloat("lon"),
		TimeZone:   o.str("time_zone"),
	}
	if k := o.str("kind"); k != nil {
		kind := devices.VenueKind(*k)
		p.Kind = &kind
	}
	ct := o.sub("contact")
	if ct != nil {
		p.ContactName, p.ContactPhone, p.ContactEmail = ct.str("name"), ct.str("phone"), ct.str("email")
	}
	version, err := s.version(c, o, true)
	if err == nil {
		err = o.done(ct)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	v, err := s.reg.UpdateVenue(c.Request.Context(), actorOf(c), c.Param("id"), version, p)
	one(s, c, http.StatusOK, v, err, toVenueJSON, v.Version)
}

func (s *Server) retireVenue(c *gin.Context) {
	version, err := s.optionalVersion(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	v, err := s.reg.RetireVenue(c.Request.Context(), actorOf(c), c.Param("id"), version)
	one(s, c, http.StatusOK, v, err, toVenueJSON, v.Version)
}

func joinStrings[T ~string](xs []T) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = string(x)
	}
	return strings.Join(s, ", ")
}
