package httpapi

import (
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/calibd/calibd/devices"
)

func (s *Server) listProfiles(c *gin.Context) {
	if err := newQuery(c).done(); err != nil {
		s.fail(c, err)
		return
	}
	ps, err := s.reg.ListProfiles(c.Request.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, list(ps, "", toProfileJSON))
}

func (s *Server) getProfile(c *gin.Context) {
	p, err := s.reg.GetProfile(c.Request.Context(), c.Param("code"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, toProfileJSON(p))
}

var (
	auditResources = devices.AuditResources
	auditActions   = devices.AuditActions
)

func (s *Server) listAudit(c *gin.Context) {
	q := newQuery(c, "org_id", "resource", "resource_id", "action", "since", "until")
	f := devices.AuditFilter{
		OrgID:      q.id("org_id"),
		Resource:   q.enum("resource", func(v string) bool { return slices.Contains(auditResources, v) }, joinStrings(auditResources)),
		ResourceID: q.id("resource_id"),
		Action:     q.enum("action", func(v string) bool { return slices.Contains(auditActions, v) }, joinStrings(auditActions)),
		Since:      q.time("since"),
		Until:      q.time("until"),
	}
	p := q.page()
	if err := q.done(); err != nil {
		s.fail(c, err)
		return
	}
	items, next, err := s.reg.ListAudit(c.Request.Context(), actorOf(c), f, p)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, list(items, next, toAuditJSON))
}
