package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/calibd/calibd/devices"
)

type signInData struct {
	Next string
}

func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "signin", page{Title: "Sign in", Data: signInData{Next: safeNext(r.URL.Query().Get("next"))}})
}

// safeNext keeps a post-sign-in redirect on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return "/"
	}
	return next
}

func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	token := strings.TrimSpace(r.PostFormValue("token"))
	next := safeNext(r.PostFormValue("next"))
	if token == "" {
		s.render(w, r, http.StatusUnprocessableEntity, "signin", page{Title: "Sign in", Errors: map[string]string{"token": "Paste your API token."},
			Data: signInData{Next: next}})
		return
	}
	secret, ws, err := s.st.StartWebSession(r.Context(), token, s.cfg.SessionTTL)
	if errors.Is(err, devices.ErrUnauthenticated) {
		s.render(w, r, http.StatusUnauthorized, "signin", page{Title: "Sign in",
			Errors: map[string]string{"token": "This token is not valid: it may be mistyped, revoked or expired."}, Data: signInData{Next: next}})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: secret, Path: "/", Expires: ws.ExpiresAt, HttpOnly: true, Secure: s.secure(r),
		SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(CookieName); err == nil {
		if err := s.st.EndWebSession(r.Context(), c.Value); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.clearCookie(w, r)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}
