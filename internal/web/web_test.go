package web_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestSignIn: a page without a session sends the browser to sign in and
// back; a bad token is refused next to the field; the cookie is HttpOnly
// and SameSite=Strict; sign-out ends the session.
func TestSignIn(t *testing.T) {
	eachSite(t, func(t *testing.T, s *site) {
		f := s.fixture()
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).
			Get(s.srv.URL + "/venues/" + f.venueA)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/signin?next=%2Fvenues%2F"+f.venueA {
			t.Errorf("no session: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp, err = http.PostForm(s.srv.URL+"/signin", url.Values{"token": {"cdt_wrong"}})
		if err != nil {
			t.Fatal(err)
		}
		body := new(strings.Builder)
		_, _ = io.Copy(body, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body.String(), `id="token-err"`) {
			t.Errorf("bad token: %d\n%s", resp.StatusCode, body)
		}
		resp, err = (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).
			PostForm(s.srv.URL+"/signin", url.Values{"token": {f.opA}, "next": {"/venues"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		c := resp.Cookies()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/venues" || len(c) != 1 || !c[0].HttpOnly ||
			c[0].SameSite != http.SameSiteStrictMode || c[0].Secure {
			t.Errorf("sign in: %d to %q, cookies %+v", resp.StatusCode, resp.Header.Get("Location"), c)
		}
		b := s.signIn(f.opA)
		if page := b.get("/venues", 200); !strings.Contains(page, "Pudong T2") || strings.Contains(page, "Hongqiao") {
			t.Errorf("operator A's venues page:\n%s", trimHTML(page))
		}
		// A POST without the CSRF token is refused, with it accepted.
		b.post("/signout", url.Values{"csrf": {"forged"}}, http.StatusForbidden)
		_, to := b.post("/signout", nil, http.StatusSeeOther)
		if to != "/signin" {
			t.Errorf("sign out went to %q", to)
		}
		resp, err = b.c.Get(s.srv.URL + "/venues")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Errorf("after sign-out: %d", resp.StatusCode)
		}
	})
}
