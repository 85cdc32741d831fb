package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/calibd/calibd/devices"
)

// one writes a single object with its ETag.
func one[T, J any](s *Server, c *gin.Context, status int, v T, err error, conv func(T) J, version int) {
	if err != nil {
		s.fail(c, err)
		return
	}
	setETag(c, version)
	c.JSON(status, conv(v))
}

func (s *Server) me(c *gin.Context) {
	a := actorOf(c)
	org, err := s.reg.GetOrganization(c.Request.Context(), a, a.OrgID)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"organization": toOrgJSON(org), "token_id": a.TokenID, "role": a.Role,
		"token_expires_at": a.TokenExpiresAt})
}

func (s *Server) listOrganizations(c *gin.Context) {
	q := newQuery(c, "kind")
	f := devices.OrganizationFilter{Kind: devices.OrgKind(q.enum("kind", func(v string) bool { return devices.OrgKind(v).Valid() },
		"regulator, metrology_institute, maintenance_firm, venue_operator"))}
	p := q.page()
	if err := q.done(); err != nil {
		s.fail(c, err)
		return
	}
	items, next, err := s.reg.ListOrganizations(c.Request.Context(), actorOf(c), f, p)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, list(items, next, toOrgJSON))
}

func (s *Server) createOrganization(c *gin.Context) {
	o, err := s.readObject(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	org := devices.Organization{
		Name:         deref(o.str("name")),
		Kind:         devices.OrgKind(deref(o.str("kind"))),
		RegionCode:   deref(o.str("region_code")),
		ContactEmail: deref(o.str("contact_email")),
	}
	if err := o.done(); err != nil {
		s.fail(c, err)
		return
	}
	err = s.reg.CreateOrganization(c.Request.Context(), actorOf(c), &org)
	if rep, ok := replayOf(c, err); ok {
		org, err = s.reg.GetOrganization(c.Request.Context(), actorOf(c), rep.ID)
	}
	if err == nil {
		c.Header("Location", "/api/v1/organizations/"+org.ID)
	}
	one(s, c, http.StatusCreated, org, err, toOrgJSON, org.Version)
}

func (s *Server) getOrganization(c *gin.Context) {
	org, err := s.reg.GetOrganization(c.Request.Context(), actorOf(c), c.Param("id"))
	one(s, c, http.StatusOK, org, err, toOrgJSON, org.Version)
}

func (s *Server) updateOrganization(c *gin.Context) {
	o, err := s.readObject(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	p := devices.OrganizationPatch{Name: o.str("name"), RegionCode: o.str("region_code"), ContactEmail: o.str("contact_email")}
	version, err := s.version(c, o, true)
	if err == nil {
		err = o.done()
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	org, err := s.reg.UpdateOrganization(c.Request.Context(), actorOf(c), c.Param("id"), version, p)
	one(s, c, http.StatusOK, org, err, toOrgJSON, org.Version)
}

func (s *Server) retireOrganization(c *gin.Context) {
	version, err := s.optionalVersion(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	org, err := s.reg.RetireOrganization(c.Request.Context(), actorOf(c), c.Param("id"), version)
	if err == nil {
		s.auth.drop(func(a devices.Actor) bool { return a.OrgID == org.ID })
	}
	one(s, c, http.StatusOK, org, err, toOrgJSON, org.Version)
}

// optionalVersion reads If-Match or a {"version": n} body when one is sent.
func (s *Server) optionalVersion(c *gin.Context) (int, error) {
	if c.Request.ContentLength == 0 || c.Request.Body == nil || c.Request.Body == http.NoBody {
		return s.version(c, nil, false)
	}
	o, err := s.readObject(c)
	if err != nil {
		return 0, err
	}
	v, err := s.version(c, o, false)
	if err != nil {
		return 0, err
	}
	return v, o.done()
}

func (s *Server) listTokens(c *gin.Context) {
	q := newQuery(c)
	p := q.page()
	if err := q.done(); err != nil {
		s.fail(c, err)
		return
	}
	items, next, err := s.reg.ListTokens(c.Request.Context(), actorOf(c), c.Param("id"), p)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, list(items, next, toTokenJSON))
}

func (s *Server) issueToken(c *gin.Context) {
	o, err := s.readObject(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	r := devices.TokenRequest{Name: deref(o.str("name")), Role: devices.Role(deref(o.str("role")))}
	if r.Role == "" {
		r.Role = devices.RoleMember
	}
	if exp := o.nullableTime("expires_at"); exp != nil {
		r.ExpiresAt = *exp
	}
	if err := o.done(); err != nil {
		s.fail(c, err)
		return
	}
	tok, secret, err := s.reg.IssueToken(c.Request.Context(), actorOf(c), c.Param("id"), r)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := toTokenJSON(tok)
	out.Token = secret
	c.Header("Cache-Control", "no-store")
	c.Header("Location", "/api/v1/organizations/"+tok.OrgID+"/tokens")
	c.JSON(http.StatusCreated, out)
}

func (s *Server) revokeToken(c *gin.Context) {
	tok, err := s.reg.RevokeToken(c.Request.Context(), actorOf(c), c.Param("id"), c.Param("token_id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	s.auth.drop(func(a devices.Actor) bool { return a.TokenID == tok.ID })
	c.JSON(http.StatusOK, toTokenJSON(tok))
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
