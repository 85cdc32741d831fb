package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/calibd/calibd/devices"
)

type visitJSON struct {
	ID            string    `json:"id"`
	InstituteID   string    `json:"institute_id"`
	VenueID       string    `json:"venue_id"`
	OperatorOrgID string    `json:"operator_org_id"`
	Day           string    `json:"day"`
	State         string    `json:"state"`
	Priority      int       `json:"priority"`
	Why           string    `json:"why"`
	CancelReason  string    `json:"cancel_reason"`
	TaskIDs       []string  `json:"task_ids"`
	Technicians   []nameRef `json:"technicians"`
	Version       int       `json:"version"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// nameRef names another object: a visit's technicians.
type nameRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func toVisitJSON(v devices.Visit) visitJSON {
	techs := make([]nameRef, len(v.Technicians))
	for i, t := range v.Technicians {
		techs[i] = nameRef{ID: t.ID, Name: t.Name}
	}
	return visitJSON{ID: v.ID, InstituteID: v.InstituteID, VenueID: v.VenueID, OperatorOrgID: v.OperatorOrgID,
		Day: v.Day, State: string(v.State), Priority: v.Priority, Why: v.Why, CancelReason: v.CancelReason,
		TaskIDs: v.TaskIDs, Technicians: techs, Version: v.Version, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt}
}

func (s *Server) listVisits(c *gin.Context) {
	q := newQuery(c, "institute_id", "venue_id", "technician_id", "state", "from", "to")
	f := devices.VisitFilter{
		InstituteID:  q.id("institute_id"),
		VenueID:      q.id("venue_id"),
		TechnicianID: q.id("technician_id"),
		State: devices.VisitState(q.enum("state", func(v string) bool { return devices.VisitState(v).Valid() },
			joinStrings(devices.VisitStates))),
		From: q.date("from"),
		To:   q.date("to"),
	}
	p := q.page()
	if err := q.done(); err != nil {
		s.fail(c, err)
		return
	}
	items, next, err := s.reg.ListVisits(c.Request.Context(), actorOf(c), f, p)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, list(items, next, toVisitJSON))
}

func (s *Server) getVisit(c *gin.Context) {
	v, err := s.reg.GetVisit(c.Request.Context(), actorOf(c), c.Param("id"))
	one(s, c, http.StatusOK, v, err, toVisitJSON, v.Version)
}

// actOnVisit handles POST /visits/{id}/{confirm,start,complete,cancel}:
// an optional body {"version": n, "reason": "..."} (reason required to
// cancel), or If-Match.
func (s *Server) actOnVisit(action devices.VisitAction) gin.HandlerFunc {
	return func(c *gin.Context) {
		version, f, err := s.actionBody(c, "reason")
		if err != nil {
			s.fail(c, err)
			return
		}
		v, err := s.reg.ActOnVisit(c.Request.Context(), actorOf(c), c.Param("id"), version, action, f["reason"])
		one(s, c, http.StatusOK, v, err, toVisitJSON, v.Version)
	}
}

type calendarJSON struct {
	InstituteID               string   `json:"institute_id"`
	TimeZone                  string   `json:"time_zone"`
	Technicians               int      `json:"technicians"`
	VisitsPerTechnicianPerDay int      `json:"visits_per_technician_per_day"`
	DailyCapacity             int      `json:"daily_capacity"`
	WorkingDays               []string `json:"working_days"`
	Holidays                  []string `json:"holidays"`
	Version                   int      `json:"version"`
}

func toCalendarJSON(instituteID string, cal devices.InstituteCalendar, version int) calendarJSON {
	days := make([]string, len(cal.WorkingDays))
	for i, d := range cal.WorkingDays {
		days[i] = strings.ToLower(d.String())
	}
	hol := cal.Holidays
	if hol == nil {
		hol = []string{}
	}
	return calendarJSON{InstituteID: instituteID, TimeZone: cal.TimeZone, Technicians: cal.Technicians,
		VisitsPerTechnicianPerDay: cal.VisitsPerTechnicianPerDay, DailyCapacity: cal.DailyCapacity(),
		WorkingDays: days, Holidays: hol, Version: version}
}

func (s *Server) getCalendar(c *gin.Context) {
	cal, version, err := s.reg.GetCalendar(c.Request.Context(), actorOf(c), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, toCalendarJSON(c.Param("id"), cal, version))
}

var weekdayNames = map[string]time.Weekday{"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday,
	"wednesday": time.Wednesday, "thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday}

// putCalendar replaces an institute's calendar; every field is required,
// "version" (the one read; 0 for the default) is optional.
func (s *Server) putCalendar(c *gin.Context) {
	o, err := s.readObject(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	cal := devices.InstituteCalendar{
		TimeZone:                  deref(o.str("time_zone")),
		Technicians:               deref(o.int("technicians")),
		VisitsPerTechnicianPerDay: deref(o.int("visits_per_technician_per_day")),
	}
	if days := o.strings("working_days"); days != nil {
		for i, d := range *days {
			wd, ok := weekdayNames[strings.ToLower(strings.TrimSpace(d))]
			if !ok {
				o.bad("working_days["+strconv.Itoa(i)+"]", "must be a day name such as monday")
				continue
			}
			cal.WorkingDays = append(cal.WorkingDays, wd)
		}
	}
	if hol := o.strings("holidays"); hol != nil {
		cal.Holidays = *hol
	}
	version := devices.AnyVersion
	if v := o.int("version"); v != nil {
		if *v < 0 {
			o.bad("version", "must be 0 (the default calendar) or more")
		}
		version = *v
	}
	if err := o.done(); err != nil {
		s.fail(c, err)
		return
	}
	saved, v, err := s.reg.PutCalendar(c.Request.Context(), actorOf(c), c.Param("id"), version, cal)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, toCalendarJSON(c.Param("id"), saved, v))
}

// actionBody reads a workflow action's optional body: the version read
// (or If-Match) and the named string fields; every field is optional here,
// the store says which an action needs.
func (s *Server) actionBody(c *gin.Context, fields ...string) (int, map[string]string, error) {
	out := map[string]string{}
	if c.Request.ContentLength == 0 || c.Request.Body == nil || c.Request.Body == http.NoBody {
		v, err := s.version(c, nil, false)
		return v, out, err
	}
	o, err := s.readObject(c)
	if err != nil {
		return 0, nil, err
	}
	v, err := s.version(c, o, false)
	if err != nil {
		return 0, nil, err
	}
	for _, f := range fields {
		out[f] = deref(o.str(f))
	}
	return v, out, o.done()
}
