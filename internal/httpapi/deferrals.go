package httpapi

import (
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/calibd/calibd/devices"
)

type deferralEffectJSON struct {
	ThermometersDeferred int `json:"thermometers_deferred"`
	ThermometersRestored int `json:"thermometers_restored"`
	TasksCancelled       int `json:"tasks_cancelled"`
	TasksReopened        int `json:"tasks_reopened"`
	VisitsCancelled      int `json:"visits_cancelled"`
}

type deferralJSON struct {
	ID                   string              `json:"id"`
	DeclaredByOrgID      string              `json:"declared_by_org_id"`
	Name                 string              `json:"name"`
	Reason               string              `json:"reason"`
	Types                []string            `json:"types"`
	RegionCodes          []string            `json:"region_codes"`
	VenueIDs             []string            `json:"venue_ids"`
	WindowFrom           string              `json:"window_from"`
	WindowTo             string              `json:"window_to"`
	ExtendDays           int                 `json:"extend_days"`
	State                string              `json:"state"`
	ThermometersDeferred int                 `json:"thermometers_deferred"`
	LiftedAt             *time.Time          `json:"lifted_at"`
	LiftReason           string              `json:"lift_reason"`
	Version              int                 `json:"version"`
	CreatedAt            time.Time           `json:"created_at"`
	UpdatedAt            time.Time           `json:"updated_at"`
	Effect               *deferralEffectJSON `json:"effect,omitempty"`
}

func toDeferralJSON(d devices.Deferral) deferralJSON {
	types := make([]string, len(d.Types))
	for i, t := range d.Types {
		types[i] = string(t)
	}
	return deferralJSON{ID: d.ID, DeclaredByOrgID: d.DeclaredByOrg, Name: d.Name, Reason: d.Reason, Types: types,
		RegionCodes: nonNil(d.RegionCodes), VenueIDs: nonNil(d.VenueIDs), WindowFrom: d.WindowFrom, WindowTo: d.WindowTo,
		ExtendDays: d.ExtendDays, State: string(d.State), ThermometersDeferred: d.Deferred, LiftedAt: d.LiftedAt,
		LiftReason: d.LiftReason, Version: d.Version, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func toEffectJSON(r devices.DeferralReport) *deferralEffectJSON {
	return &deferralEffectJSON{ThermometersDeferred: r.Deferred, ThermometersRestored: r.Restored,
		TasksCancelled: r.TasksCancelled, TasksReopened: r.TasksReopened, VisitsCancelled: r.VisitsCancelled}
}

// declareDeferral: the regulator declares an emergency deferral; the due
// dates in scope move in the same transaction and the answer says what
// moved.
func (s *Server) declareDeferral(c *gin.Context) {
	o, err := s.readObject(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	d := devices.Deferral{Name: deref(o.str("name")), Reason: deref(o.str("reason")), WindowFrom: deref(o.str("window_from")),
		WindowTo: deref(o.str("window_to")), ExtendDays: devices.DefaultDeferralExtendDays}
	if n := o.int("extend_days"); n != nil {
		d.ExtendDays = *n
	}
	for _, t := range deref(o.strings("types")) {
		d.Types = append(d.Types, devices.ThermometerType(t))
	}
	d.RegionCodes = slices.Clone(deref(o.strings("region_codes")))
	d.VenueIDs = slices.Clone(deref(o.strings("venue_ids")))
	if err := o.done(); err != nil {
		s.fail(c, err)
		return
	}
	rep, err := s.reg.DeclareDeferral(c.Request.Context(), actorOf(c), &d)
	if rp, ok := replayOf(c, err); ok {
		d, err = s.reg.GetDeferral(c.Request.Context(), actorOf(c), rp.ID)
		if err == nil {
			c.Header("Location", "/api/v1/deferrals/"+d.ID)
		}
		one(s, c, http.StatusCreated, d, err, toDeferralJSON, d.Version)
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	out := toDeferralJSON(d)
	out.Effect = toEffectJSON(rep)
	c.Header("Location", "/api/v1/deferrals/"+d.ID)
	setETag(c, d.Version)
	c.JSON(http.StatusCreated, out)
}

func (s *Server) listDeferrals(c *gin.Context) {
	q := newQuery(c, "state")
	state := q.enum("state", func(v string) bool {
		return v == string(devices.DeferralActive) || v == string(devices.DeferralLifted)
	}, "active or lifted")
	p := q.page()
	if err := q.done(); err != nil {
		s.fail(c, err)
		return
	}
	items, next, err := s.reg.ListDeferrals(c.Request.Context(), actorOf(c), devices.DeferralState(state), p)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, list(items, next, toDeferralJSON))
}

func (s *Server) getDeferral(c *gin.Context) {
	d, err := s.reg.GetDeferral(c.Request.Context(), actorOf(c), c.Param("id"))
	one(s, c, http.StatusOK, d, err, toDeferralJSON, d.Version)
}

// liftDeferral: {"reason", "version"?} (or If-Match); every due date it
// held comes back and the answer says what moved.
func (s *Server) liftDeferral(c *gin.Context) {
	version, f, err := s.actionBody(c, "reason")
	if err != nil {
		s.fail(c, err)
		return
	}
	d, rep, err := s.reg.LiftDeferral(c.Request.Context(), actorOf(c), c.Param("id"), version, f["reason"])
	if err != nil {
		s.fail(c, err)
		return
	}
	out := toDeferralJSON(d)
	out.Effect = toEffectJSON(rep)
	setETag(c, d.Version)
	c.JSON(http.StatusOK, out)
}
