package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/calibd/calibd/devices"
)

func toModes(ss *[]string) *[]devices.ReadingMode {
	if ss == nil {
		return nil
	}
	out := make([]devices.ReadingMode, len(*ss))
	for i, s := range *ss {
		out[i] = devices.ReadingMode(s)
	}
	return &out
}

// intervalPolicy reads the optional interval_policy object: its absent
// fields take devices.DefaultIntervalPolicy's values, so a create and a
// PATCH both get a whole policy. It returns the nested object for done.
func intervalPolicy(o *object) (*devices.IntervalPolicy, *object) {
	po := o.sub("interval_policy")
	if po == nil {
		return nil, nil
	}
	p := devices.DefaultIntervalPolicy()
	if v := po.str("kind"); v != nil {
		p.Kind = devices.IntervalKind(*v)
	}
	if v := po.int("min_days"); v != nil {
		p.MinDays = *v
	}
	if v := po.int("max_days"); v != nil {
		p.MaxDays = *v
	}
	if v := po.float("lengthen_factor"); v != nil {
		p.LengthenFactor = *v
	}
	if v := po.float("shorten_factor"); v != nil {
		p.ShortenFactor = *v
	}
	return &p, po
}

func (s *Server) listThermometers(c *gin.Context) {
	q := newQuery(c, "venue_id", "type", "status", "institute_id", "operator_org_id", "due_before", "include_retired")
	f := devices.ThermometerFilter{
		VenueID: q.id("venue_id"),
		Type: devices.ThermometerType(q.enum("type", func(v string) bool { return devices.ThermometerType(v).Valid() },
			joinStrings(devices.ThermometerTypes))),
		Status: devices.ThermometerStatus(q.enum("status", func(v string) bool { return devices.ThermometerStatus(v).Valid() },
			joinStrings(devices.ThermometerStatuses))),
		InstituteID:    q.id("institute_id"),
		OperatorID:     q.id("operator_org_id"),
		DueBefore:      q.time("due_before"),
		IncludeRetired: q.bool("include_retired"),
	}
	p := q.page()
	if err := q.done(); err != nil {
		s.fail(c, err)
		return
	}
	items, next, err := s.reg.ListThermometers(c.Request.Context(), actorOf(c), f, p)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, list(items, next, toThermometerJSON))
}

func (s *Server) createThermometer(c *gin.Context) {
	o, err := s.readObject(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	t := devices.Thermometer{
		VenueID:           deref(o.str("venue_id")),
		Type:              devices.ThermometerType(deref(o.str("type"))),
		Manufacturer:      deref(o.str("manufacturer")),
		Model:             deref(o.str("model")),
		Serial:            deref(o.str("serial")),
		LocationNote:      deref(o.str("location_note")),
		RangeMinC:         deref(o.float("range_min_c")),
		RangeMaxC:         deref(o.float("range_max_c")),
		ToleranceProfile:  deref(o.str("tolerance_profile")),
		MPEOverrideC:      deref(o.nullableFloat("mpe_override_c")),
		MPEOverrideReason: deref(o.str("mpe_override_reason")),
		InstituteID:       deref(o.nullableStr("institute_id")),
		Status:            devices.ThermometerStatus(deref(o.str("status"))),
		IntervalDays:      deref(o.int("calibration_interval_days")),
		LastCalibratedAt:  deref(o.nullableTime("last_calibrated_at")),
	}
	if m := toModes(o.strings("modes")); m != nil {
		t.Modes = *m
	}
	policy, po := intervalPolicy(o)
	if policy != nil {
		t.IntervalPolicy = *policy
	}
	if t.VenueID == "" {
		o.bad("venue_id", "is required")
	}
	if err := o.done(po); err != nil {
		s.fail(c, err)
		return
	}
	if !devices.IsUUID(t.VenueID) {
		s.fail(c, devices.Invalid("venue_id", "must be a UUID"))
		return
	}
	err = s.reg.CreateThermometer(c.Request.Context(), actorOf(c), &t)
	if rep, ok := replayOf(c, err); ok {
		t, err = s.reg.GetThermometer(c.Request.Context(), actorOf(c), rep.ID)
	}
	if err == nil {
		c.Header("Location", "/api/v1/thermometers/"+t.ID)
	}
	one(s, c, http.StatusCreated, t, err, toThermometerJSON, t.Version)
}

func (s *Server) getThermometer(c *gin.Context) {
	t, err := s.reg.GetThermometer(c.Request.Context(), actorOf(c), c.Param("id"))
	one(s, c, http.StatusOK, t, err, toThermometerJSON, t.Version)
}

func (s *Server) updateThermometer(c *gin.Context) {
	o, err := s.readObject(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	p := devices.ThermometerPatch{
		VenueID:           o.str("venue_id"),
		Manufacturer:      o.str("manufacturer"),
		Model:             o.str("model"),
		Serial:            o.str("serial"),
		LocationNote:      o.str("location_note"),
		RangeMinC:         o.float("range_min_c"),
		RangeMaxC:         o.float("range_max_c"),
		ToleranceProfile:  o.str("tolerance_profile"),
		MPEOverrideC:      o.nullableFloat("mpe_override_c"),
		MPEOverrideReason: o.str("mpe_override_reason"),
		Modes:             toModes(o.strings("modes")),
		InstituteID:       o.nullableStr("institute_id"),
		IntervalDays:      o.int("calibration_interval_days"),
		LastCalibratedAt:  o.nullableTime("last_calibrated_at"),
	}
	if v := o.str("type"); v != nil {
		t := devices.ThermometerType(*v)
		p.Type = &t
	}
	if v := o.str("status"); v != nil {
		st := devices.ThermometerStatus(*v)
		p.Status = &st
	}
	var po *object
	p.IntervalPolicy, po = intervalPolicy(o)
	version, err := s.version(c, o, true)
	if err == nil {
		err = o.done(po)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	t, err := s.reg.UpdateThermometer(c.Request.Context(), actorOf(c), c.Param("id"), version, p)
	one(s, c, http.StatusOK, t, err, toThermometerJSON, t.Version)
}

func (s *Server) retireThermometer(c *gin.Context) {
	version, err := s.optionalVersion(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	t, err := s.reg.RetireThermometer(c.Request.Context(), actorOf(c), c.Param("id"), version)
	one(s, c, http.StatusOK, t, err, toThermometerJSON, t.Version)
}
