// Package web is the dashboard: server-rendered pages for venue operators,
// metrology institutes, maintenance firms and the regulator (issue 6).
//
// It is a client of the domain, as the API is: every page reads and writes
// through devices.Registry as the actor of the API token the browser signed
// in with, so the pages enforce exactly the API's access rules, and another
// tenant's id answers 404 here too. Templates and assets are embedded; the
// few scripts (htmx, uPlot) are vendored from the npm registry by
// `make web-vendor`, so nothing loads from a CDN.
//
// Sessions: the browser signs in with an API token and gets a random
// session id in an HttpOnly, SameSite=Strict cookie (Secure behind TLS);
// only its hash is stored. Every form carries the session's CSRF token, and
// every POST is refused without it.
package web

import (
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/calibd/calibd/devices"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Store is what the dashboard needs: the registry and its sessions.
type Store interface {
	devices.Registry
	devices.WebSessionStore
}

// Config tunes the dashboard.
type Config struct {
	// SessionTTL is how long a sign-in lasts at most (default 8h).
	SessionTTL time.Duration
	// IdleTimeout ends a session unused for this long (default 1h).
	IdleTimeout time.Duration
	// SecureCookies marks the session cookie Secure even on plain HTTP
	// (behind a TLS-terminating proxy that does not say so).
	SecureCookies bool
	// Version is shown in the footer.
	Version string
}

// Server serves the dashboard.
type Server struct {
	st    Store
	log   *slog.Logger
	cfg   Config
	pages map[string]*template.Template
	mux   *http.ServeMux
}

// CookieName is the session cookie.
const CookieName = "calibd_session"

// New parses the templates and registers the pages.
func New(st Store, log *slog.Logger, cfg Config) (*Server, error) {
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 8 * time.Hour
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = time.Hour
	}
	s := &Server{st: st, log: log, cfg: cfg, mux: http.NewServeMux()}
	if err := s.parse(); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "+
		"frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	s.mux.ServeHTTP(w, r)
}

// Handles reports whether the dashboard serves path (the API owns /api/,
// the probes, /metrics, /feeds and /broker).
func Handles(path string) bool {
	for _, p := range []string{"/api/", "/healthz", "/readyz", "/metrics", "/feeds/", "/broker/"} {
		if path == strings.TrimSuffix(p, "/") || strings.HasPrefix(path, p) {
			return false
		}
	}
	return true
}

func (s *Server) parse() error {
	funcs := template.FuncMap{
		"date": func(t any) string {
			switch v := t.(type) {
			case time.Time:
				if v.IsZero() {
					return ""
				}
				return v.UTC().Format("2006-01-02")
			case *time.Time:
				if v == nil {
					return ""
				}
				return v.UTC().Format("2006-01-02")
			}
			return ""
		},
		"datetime": func(t any) string {
			switch v := t.(type) {
			case time.Time:
				if v.IsZero() {
					return ""
				}
				return v.UTC().Format("2006-01-02 15:04 UTC")
			case *time.Time:
				if v == nil {
					return ""
				}
				return v.UTC().Format("2006-01-02 15:04 UTC")
			}
			return ""
		},
		"deref": func(p *string) string {
			if p == nil {
				return ""
			}
			return *p
		},
		"label": func(v any) string { return label(fmt.Sprint(v)) },
		"query": func(kv ...string) template.URL {
			q := url.Values{}
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i+1] != "" {
					q.Set(kv[i], kv[i+1])
				}
			}
			return template.URL(q.Encode())
		},
		"fieldErr": func(errs map[string]string, field string) string { return errs[field] },
		"field": func(name, label, typ, value string, errs map[string]string, hint string) formField {
			return formField{Name: name, Label: label, Type: typ, Value: value, Err: errs[name], Hint: hint}
		},
		"statusClass": func(s string) string { return "s-" + strings.ReplaceAll(s, " ", "-") },
		"has": func(list []string, v string) bool {
			for _, x := range list {
				if x == v {
					return true
				}
			}
			return false
		},
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return err
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	s.pages = map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimPrefix(n, "templates/")
		if base == "layout.html" || base == "partials.html" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return fmt.Errorf("template %s: %w", base, err)
		}
		s.pages[strings.TrimSuffix(base, ".html")] = t
	}
	return nil
}

// page is what every template gets.
type page struct {
	Title   string
	Session *devices.WebSession
	Nav     []navItem
	Flash   string
	// Errors are field errors by the form field they concern; Problem is
	// the message not tied to a field.
	Errors  map[string]string
	Problem string
	Version string
	Data    any
}

// formField is one labelled input with its hint and error.
type formField struct {
	Name, Label, Type, Value, Err, Hint string
}

type navItem struct {
	Href, Label string
	Current     bool
}

// nav is the menu of an organization kind.
func nav(a devices.Actor, path string) []navItem {
	var items []navItem
	add := func(href, label string) {
		items = append(items, navItem{Href: href, Label: label, Current: path == href || (href != "/" && strings.HasPrefix(path, href))})
	}
	add("/", "Overview")
	switch a.OrgKind {
	case devices.KindVenueOperator:
		add("/venues", "Venues and devices")
		add("/lifts", "Lifts")
		add("/agreements", "Agreements")
		add("/reports", "Inspection reports")
		add("/alerts", "Alerts")
	case devices.KindMetrologyInstitute:
		add("/calendar", "Calendar")
		add("/visits", "Visits")
		add("/devices", "Devices")
		add("/alerts", "Alerts")
	case devices.KindMaintenanceFirm:
		add("/lifts", "Lifts")
		add("/agreements", "Agreements")
		add("/reports", "Inspection reports")
		add("/alerts", "Alerts")
	case devices.KindRegulator:
		add("/organizations", "Organizations")
		add("/coverage", "Coverage")
		add("/alerts", "Alerts")
		add("/deferrals", "Deferrals")
		add("/devices", "Devices")
	}
	if a.OrgKind != devices.KindRegulator && a.Role == devices.RoleAdmin {
		add("/organizations/"+a.OrgID, "Your organization")
	}
	return items
}

// render writes a page with status.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t, ok := s.pages[name]
	if !ok {
		s.log.Error("no such template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if ws := sessionOf(r); ws != nil {
		p.Session = ws
		p.Nav = nav(ws.Actor, r.URL.Path)
	}
	p.Version = s.cfg.Version
	if p.Flash == "" {
		p.Flash = r.URL.Query().Get("done")
	}
	var buf strings.Builder
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		s.log.Error("render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(buf.String()))
}

// fragment renders one named template of a page without the layout (htmx
// swaps).
func (s *Server) fragment(w http.ResponseWriter, name, block string, data any) {
	t, ok := s.pages[name]
	if !ok {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := t.ExecuteTemplate(w, block, data); err != nil {
		s.log.Error("render fragment", "page", name, "block", block, "err", err)
	}
}

// fail shows an error the way the API would answer it: a missing or
// invisible object is 404, a refused action 403, bad input 422 with the
// fields at fault (formPage re-renders the form for those).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, "Something went wrong on our side; it has been logged."
	switch {
	case errors.Is(err, devices.ErrNotFound):
		status, msg = http.StatusNotFound, "There is nothing here, or nothing you may see."
	case errors.Is(err, devices.ErrForbidden):
		status, msg = http.StatusForbidden, err.Error()
	case errors.Is(err, devices.ErrConflict), errors.Is(err, devices.ErrPreconditionFailed):
		status, msg = http.StatusConflict, err.Error()
	case errors.Is(err, devices.ErrIdempotencyKeyReused):
		status, msg = http.StatusUnprocessableEntity, "This form was already sent with different values. Reload the page to start a new one."
	case errors.Is(err, devices.ErrUnauthenticated):
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	case errors.Is(err, devices.ErrBusy):
		w.Header().Set("Retry-After", "1")
		status, msg = http.StatusServiceUnavailable, "The change met others to the same records at the same moment and nothing was saved. Send it again."
	default:
		var ve *devices.ValidationError
		if errors.As(err, &ve) {
			status, msg = http.StatusUnprocessableEntity, ve.Error()
		} else {
			s.log.Error("dashboard", "path", r.URL.Path, "err", err)
		}
	}
	s.render(w, r, status, "error", page{Title: http.StatusText(status), Problem: msg})
}

// fieldErrors maps a validation error's fields to messages for a form;
// ok is false when err is not one.
func fieldErrors(err error) (map[string]string, bool) {
	var ve *devices.ValidationError
	if !errors.As(err, &ve) {
		return nil, false
	}
	out := map[string]string{}
	for _, f := range ve.Fields {
		if _, dup := out[f.Field]; !dup {
			out[f.Field] = f.Reason
		}
	}
	return out, true
}

type ctxKey struct{}

func sessionOf(r *http.Request) *devices.WebSession {
	ws, _ := r.Context().Value(ctxKey{}).(*devices.WebSession)
	return ws
}

func actorOf(r *http.Request) devices.Actor { return sessionOf(r).Actor }

// authed wraps a page that needs a signed-in browser; a POST must carry
// the session's CSRF token (form field csrf, or the X-CSRF-Token header
// htmx sends).
func (s *Server) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(CookieName)
		if err != nil {
			s.toSignIn(w, r)
			return
		}
		ws, err := s.st.LookupWebSession(r.Context(), c.Value, s.cfg.IdleTimeout)
		if err != nil {
			if !errors.Is(err, devices.ErrUnauthenticated) {
				s.fail(w, r, err)
				return
			}
			s.clearCookie(w, r)
			s.toSignIn(w, r)
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
			tok := r.Header.Get("X-CSRF-Token")
			if tok == "" {
				tok = r.PostFormValue("csrf")
			}
			if subtle.ConstantTimeCompare([]byte(tok), []byte(ws.CSRF)) != 1 {
				http.Error(w, "This form has expired or did not come from this site. Go back, reload the page and try again.",
					http.StatusForbidden)
				return
			}
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, &ws)))
	}
}

func (s *Server) toSignIn(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("HX-Redirect", "/signin")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	next := ""
	if r.Method == http.MethodGet && r.URL.Path != "/" {
		next = "?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	http.Redirect(w, r, "/signin"+next, http.StatusSeeOther)
}

func (s *Server) secure(r *http.Request) bool {
	return s.cfg.SecureCookies || r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func (s *Server) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secure(r),
		SameSite: http.SameSiteStrictMode})
}

// redirectDone sends the browser on after a successful POST, with a
// message for the next page.
func redirectDone(w http.ResponseWriter, r *http.Request, to, msg string) {
	sep := "?"
	if strings.Contains(to, "?") {
		sep = "&"
	}
	http.Redirect(w, r, to+sep+"done="+url.QueryEscape(msg), http.StatusSeeOther)
}
