package web

import (
	"net/http"
	"time"

	"github.com/calibd/calibd/devices"
)

// Organizations and their API tokens: how a regulator brings the other
// parties in (an organization, then a token to hand its people, who sign
// in with it), and how each organization's admins issue and revoke their
// own tokens. The same rules as the API: only a regulator admin creates
// organizations; an admin issues its organization's tokens.

type orgsData struct {
	Orgs      []devices.Organization
	Next      string
	Kinds     []devices.OrgKind
	Form      map[string]string
	CanCreate bool
}

func (s *Server) orgsPage(w http.ResponseWriter, r *http.Request, status int, form, errs map[string]string) {
	a := actorOf(r)
	list, next, err := s.st.ListOrganizations(r.Context(), a, devices.OrganizationFilter{}, devices.Page{Limit: 100,
		Cursor: r.URL.Query().Get("cursor")})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if form == nil {
		form = map[string]string{}
	}
	s.render(w, r, status, "orgs", page{Title: "Organizations", Errors: errs, Data: orgsData{Orgs: list, Next: next,
		Kinds: devices.OrgKinds, Form: form, CanCreate: a.IsRegulator() && a.Role == devices.RoleAdmin}})
}

func (s *Server) orgs(w http.ResponseWriter, r *http.Request) {
	s.orgsPage(w, r, http.StatusOK, nil, nil)
}

func (s *Server) createOrg(w http.ResponseWriter, r *http.Request) {
	f := formOf(r, "name", "kind", "region_code", "contact_email")
	o := devices.Organization{Name: f["name"], Kind: devices.OrgKind(f["kind"]), RegionCode: f["region_code"], ContactEmail: f["contact_email"]}
	if err := s.st.CreateOrganization(r.Context(), actorOf(r), &o); err != nil {
		if errs, ok := fieldErrors(err); ok {
			s.orgsPage(w, r, http.StatusUnprocessableEntity, f, errs)
			return
		}
		s.fail(w, r, err)
		return
	}
	redirectDone(w, r, "/organizations/"+o.ID, o.Name+" created. Issue it a token below and hand it to its administrator.")
}

type orgData struct {
	Org      devices.Organization
	Tokens   []devices.Token
	Next     string
	CanIssue bool
	Form     map[string]string
	// Secret is a token just issued: shown on this answer only.
	Secret string
	Issued devices.Token
}

func (s *Server) orgPage(w http.ResponseWriter, r *http.Request, status int, d orgData, errs map[string]string) {
	a, ctx := actorOf(r), r.Context()
	o, err := s.st.GetOrganization(ctx, a, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Org = o
	d.CanIssue = a.Role == devices.RoleAdmin && (a.OrgID == o.ID || a.IsRegulator())
	if d.CanIssue {
		d.Tokens, d.Next, err = s.st.ListTokens(ctx, a, o.ID, devices.Page{Limit: 100, Cursor: r.URL.Query().Get("cursor")})
		if err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if d.Form == nil {
		d.Form = map[string]string{"role": string(devices.RoleAdmin)}
	}
	s.render(w, r, status, "org", page{Title: o.Name, Errors: errs, Data: d})
}

func (s *Server) org(w http.ResponseWriter, r *http.Request) {
	s.orgPage(w, r, http.StatusOK, orgData{}, nil)
}

func (s *Server) issueToken(w http.ResponseWriter, r *http.Request) {
	f := formOf(r, "name", "role", "expires_on")
	req := devices.TokenRequest{Name: f["name"], Role: devices.Role(f["role"])}
	if f["expires_on"] != "" {
		t, err := time.Parse(time.DateOnly, f["expires_on"])
		if err != nil {
			s.orgPage(w, r, http.StatusUnprocessableEntity, orgData{Form: f}, map[string]string{"expires_at": "must be a date such as 2027-06-30"})
			return
		}
		req.ExpiresAt = &t
	}
	tok, secret, err := s.st.IssueToken(r.Context(), actorOf(r), r.PathValue("id"), req)
	if err != nil {
		if errs, ok := fieldErrors(err); ok {
			s.orgPage(w, r, http.StatusUnprocessableEntity, orgData{Form: f}, errs)
			return
		}
		s.fail(w, r, err)
		return
	}
	// The secret is in this answer only (no redirect: it must not land
	// in a URL or the history).
	s.orgPage(w, r, http.StatusCreated, orgData{Secret: secret, Issued: tok}, nil)
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	if _, err := s.st.RevokeToken(r.Context(), actorOf(r), r.PathValue("id"), r.PathValue("token")); err != nil {
		s.fail(w, r, err)
		return
	}
	redirectDone(w, r, "/organizations/"+r.PathValue("id"), "Token revoked: it no longer signs in or calls the API, and its dashboard sessions ended.")
}
