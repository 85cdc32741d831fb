package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/calibd/calibd/devices"
)

const (
	ctxRequestID = "calibd.request_id"
	ctxActor     = "calibd.actor"
)

func requestID(c *gin.Context) string { return c.GetString(ctxRequestID) }

// withRequestID takes a sane X-Request-ID from the caller or makes one, and
// echoes it.
func withRequestID(c *gin.Context) {
	id := c.GetHeader("X-Request-ID")
	if len(id) == 0 || len(id) > 64 || strings.ContainsFunc(id, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		id = hex.EncodeToString(b)
	}
	c.Set(ctxRequestID, id)
	c.Header("X-Request-ID", id)
	c.Next()
}

// accessLog logs one line per request, after it.
func (s *Server) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	status := c.Writer.Status()
	attrs := []any{"request_id", requestID(c), "method", c.Request.Method, "route", c.FullPath(),
		"status", status, "duration_ms", float64(time.Since(start).Microseconds()) / 1000, "bytes", c.Writer.Size()}
	if a, ok := c.Get(ctxActor); ok {
		attrs = append(attrs, "org_id", a.(devices.Actor).OrgID)
	}
	ctx := c.Request.Context()
	switch {
	case status >= 500:
		s.log.ErrorContext(ctx, "request", attrs...)
	case status >= 400:
		s.log.InfoContext(ctx, "request", attrs...)
	default:
		s.log.DebugContext(ctx, "request", attrs...)
	}
}

// recovery turns a panic into a logged 500 problem instead of a dropped
// connection.
func (s *Server) recovery(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			s.fail(c, fmt.Errorf("panic: %v", r))
		}
	}()
	c.Next()
}

// metrics counts requests and their latency by route and status.
type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "calibd_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "calibd_http_request_duration_seconds", Help: "HTTP request latency by route and method.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5},
		}, []string{"route", "method"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register http metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) handle(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, c.Request.Method, strconv.Itoa(c.Writer.Status())).Inc()
	m.latency.WithLabelValues(route, c.Request.Method).Observe(time.Since(start).Seconds())
}

// authCache remembers resolved tokens for a short TTL so that a request
// costs one query, not two. A revocation or retirement through this
// replica drops its entries at once; other replicas notice within the TTL.
type authCache struct {
	ttl time.Duration
	mu  sync.RWMutex
	m   map[string]authEntry
}

type authEntry struct {
	actor devices.Actor
	until time.Time
}

func newAuthCache(ttl time.Duration) *authCache {
	return &authCache{ttl: ttl, m: map[string]authEntry{}}
}

func (a *authCache) get(secret string, now time.Time) (devices.Actor, bool) {
	if a.ttl <= 0 {
		return devices.Actor{}, false
	}
	a.mu.RLock()
	e, ok := a.m[secret]
	a.mu.RUnlock()
	if !ok || !now.Before(e.until) {
		return devices.Actor{}, false
	}
	return e.actor, true
}

func (a *authCache) put(secret string, actor devices.Actor, now time.Time) {
	if a.ttl <= 0 {
		return
	}
	until := now.Add(a.ttl)
	if actor.TokenExpiresAt != nil && actor.TokenExpiresAt.Before(until) {
		until = *actor.TokenExpiresAt
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.m) >= 10000 { // bounded: drop everything rather than grow
		a.m = map[string]authEntry{}
	}
	a.m[secret] = authEntry{actor: actor, until: until}
}

// drop forgets every entry matching fn.
func (a *authCache) drop(fn func(devices.Actor) bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, e := range a.m {
		if fn(e.actor) {
			delete(a.m, k)
		}
	}
}

// authenticate resolves the bearer token into the request's Actor.
func (s *Server) authenticate(c *gin.Context) {
	h := c.GetHeader("Authorization")
	scheme, secret, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
		s.fail(c, devices.ErrUnauthenticated)
		return
	}
	secret = strings.TrimSpace(secret)
	now := time.Now()
	actor, hit := s.auth.get(secret, now)
	if !hit {
		var err error
		actor, err = s.reg.Authenticate(c.Request.Context(), secret)
		if err != nil {
			s.fail(c, err)
			return
		}
		s.auth.put(secret, actor, now)
	}
	c.Set(ctxActor, actor)
	c.Next()
}

func actorOf(c *gin.Context) devices.Actor {
	return c.MustGet(ctxActor).(devices.Actor)
}
