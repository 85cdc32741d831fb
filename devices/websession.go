package devices

import (
	"context"
	"time"
)

// WebSession is a browser signed in to the dashboard: it acts as the API
// token it signed in with, carries its CSRF token, and ends at ExpiresAt.
type WebSession struct {
	Actor     Actor
	CSRF      string
	ExpiresAt time.Time
}

// WebSessionStore keeps dashboard sessions.
type WebSessionStore interface {
	// StartWebSession signs in with an API token (ErrUnauthenticated for
	// a bad one) and returns the cookie's secret.
	StartWebSession(ctx context.Context, token string, ttl time.Duration) (string, WebSession, error)
	// LookupWebSession finds a live session: not past its end, not idle
	// for longer than idle, its token still valid.
	LookupWebSession(ctx context.Context, secret string, idle time.Duration) (WebSession, error)
	// EndWebSession signs out.
	EndWebSession(ctx context.Context, secret string) error
}
