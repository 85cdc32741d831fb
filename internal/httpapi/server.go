// Package httpapi is calibd's REST API on gin: routes.go lists every
// endpoint, errors.go maps every error to an RFC 9457 problem, and the
// handlers translate JSON to domain calls. Access rules are not decided
// here: every handler passes the request's Actor to the store, which
// applies them in its queries.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/calibd/calibd/devices"
)

// Config holds the API's limits.
type Config struct {
	MaxBodyBytes   int64         // JSON bodies; default 1 MiB
	MaxImportBytes int64         // CSV uploads; default 32 MiB
	AuthCacheTTL   time.Duration // 0 disables the token cache
	Version        string        // reported by /healthz
	Jobs           JobRunner     // the scheduler; nil: its endpoints answer 503
	// BrokerAuthToken is the bearer token an external MQTT broker's auth
	// hook sends to /broker/auth and /broker/acl; empty: they answer 404.
	BrokerAuthToken string
	// BrokerConnected tells /readyz whether the ingest is connected to
	// its MQTT broker; nil: not checked.
	BrokerConnected func() bool
	// UI serves every path outside the API's own (/api/, /feeds/,
	// /broker/ and the probes): the dashboard. nil: those paths 404.
	UI http.Handler
}

// Server serves the API.
type Server struct {
	reg     devices.Registry
	log     *slog.Logger
	cfg     Config
	auth    *authCache
	metrics *metrics
	prom    http.Handler
	engine  *gin.Engine
}

func init() { gin.SetMode(gin.ReleaseMode) }

// New builds the API. Metrics register on promReg, which /metrics serves.
func New(reg devices.Registry, log *slog.Logger, cfg Config, promReg *prometheus.Registry) (*Server, error) {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.MaxImportBytes <= 0 {
		cfg.MaxImportBytes = 32 << 20
	}
	m, err := newMetrics(promReg)
	if err != nil {
		return nil, err
	}
	s := &Server{reg: reg, log: log, cfg: cfg, auth: newAuthCache(cfg.AuthCacheTTL), metrics: m,
		prom: promhttp.HandlerFor(promReg, promhttp.HandlerOpts{Registry: promReg})}
	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.ContextWithFallback = true
	e.Use(withRequestID, s.accessLog, s.recovery, m.handle)
	e.NoRoute(func(c *gin.Context) {
		if p := c.Request.URL.Path; s.cfg.UI != nil && !strings.HasPrefix(p, "/api/") && !strings.HasPrefix(p, "/feeds/") &&
			!strings.HasPrefix(p, "/broker/") {
			// gin has set 404 for an unmatched route; the dashboard
			// answers for itself, and a handler that never calls
			// WriteHeader means 200.
			c.Status(http.StatusOK)
			s.cfg.UI.ServeHTTP(c.Writer, c.Request)
			return
		}
		s.fail(c, statusError(http.StatusNotFound, "no_route", "no endpoint %s %s; see /api/v1/openapi.json", c.Request.Method, c.Request.URL.Path))
	})
	e.NoMethod(func(c *gin.Context) {
		s.fail(c, statusError(http.StatusMethodNotAllowed, "method_not_allowed", "%s is not allowed on %s", c.Request.Method, c.Request.URL.Path))
	})
	s.routes(e)
	s.engine = e
	return s, nil
}

// Handler is the http.Handler to serve.
func (s *Server) Handler() http.Handler { return s.engine }

// Routes lists every registered route (the OpenAPI test checks them).
func (s *Server) Routes() gin.RoutesInfo { return s.engine.Routes() }

func (s *Server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok", "version": s.cfg.Version})
}

func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := s.reg.Ping(ctx); err != nil {
		s.log.WarnContext(ctx, "not ready", "error", err)
		s.fail(c, statusError(http.StatusServiceUnavailable, "database_unreachable", "the database does not answer"))
		return
	}
	if s.cfg.BrokerConnected != nil && !s.cfg.BrokerConnected() {
		s.fail(c, statusError(http.StatusServiceUnavailable, "broker_unreachable", "the ingest is not connected to the MQTT broker"))
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}
