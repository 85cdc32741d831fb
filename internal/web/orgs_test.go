package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestOrganizationPages: the regulator adds an organization and issues it
// a token through the pages, shown once; that token signs in as the new
// organization; an operator's admin manages only its own tokens, and
// another operator's page answers 404.
func TestOrganizationPages(t *testing.T) {
	eachSite(t, func(t *testing.T, s *site) {
		f := s.fixture()
		reg := s.signIn(f.reg)
		body, _ := reg.post("/organizations", url.Values{"name": {""}, "kind": {"venue_operator"}, "region_code": {"310115"}},
			http.StatusUnprocessableEntity)
		if !strings.Contains(body, `id="name-err"`) {
			t.Errorf("no error next to the name:\n%s", trimHTML(body))
		}
		_, to := reg.post("/organizations", url.Values{"name": {"Shanghai Metro"}, "kind": {"venue_operator"}, "region_code": {"310115"},
			"contact_email": {"ops@metro.example.org"}}, http.StatusSeeOther)
		if !strings.HasPrefix(to, "/organizations/") {
			t.Fatalf("created, sent to %q", to)
		}
		org := strings.TrimPrefix(strings.SplitN(to, "?", 2)[0], "/organizations/")
		body, _ = reg.post("/organizations/"+org+"/tokens", url.Values{"name": {"Li Na"}, "role": {"admin"}}, http.StatusCreated)
		m := regexp.MustCompile(`id="new-token" type="text" readonly value="(cdt_[^"]+)"`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("the new token is not shown:\n%s", trimHTML(body))
		}
		if page := reg.get("/organizations/"+org, 200); strings.Contains(page, m[1]) || !strings.Contains(page, "Li Na") {
			t.Errorf("the token's page after issuing shows the secret again, or not the token:\n%s", trimHTML(page))
		}
		metro := s.signIn(m[1])
		if page := metro.get("/", 200); !strings.Contains(page, "venue operator") {
			t.Errorf("the new token does not sign in as the operator:\n%s", trimHTML(page))
		}
		metro.get("/organizations/"+org, 200)
		metro.post("/organizations", url.Values{"name": {"X"}, "kind": {"regulator"}}, http.StatusForbidden)

		// Operator A: its own organization and tokens; not Metro's.
		a := s.signIn(f.opA)
		if page := a.get("/organizations/"+f.opAID, 200); !strings.Contains(page, "Issue a token") {
			t.Errorf("operator A's admin cannot issue its tokens:\n%s", trimHTML(page))
		}
		if page := a.get("/organizations/"+org, http.StatusNotFound); strings.Contains(page, "Shanghai Metro") {
			t.Error("operator A's 404 names the other operator")
		}
		a.post("/organizations/"+org+"/tokens", url.Values{"name": {"x"}, "role": {"admin"}}, http.StatusNotFound)
		// The institute is in the public directory: A sees it, not its tokens.
		if page := a.get("/organizations/"+f.instID, 200); strings.Contains(page, "Issue a token") {
			t.Error("operator A may issue the institute's tokens")
		}
		a.post("/organizations/"+f.instID+"/tokens", url.Values{"name": {"x"}, "role": {"admin"}}, http.StatusForbidden)
	})
}
