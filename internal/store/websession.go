package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/calibd/calibd/devices"
)

type webSessionRow struct {
	IDHash     string
	TokenID    string
	CSRF       string `gorm:"column:csrf"`
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

func (webSessionRow) TableName() string { return "web_sessions" }

// webSessionTouch is how stale last_seen_at may get before a request
// writes it again: one write per session per minute, not per page.
const webSessionTouch = time.Minute

func randomText() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("session randomness: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// StartWebSession signs a browser in with an API token: it returns the
// session secret for the cookie (only its hash is kept) and the session.
// The session ends at ttl or when the token expires, whichever is first;
// idle sessions end after idle. Sessions that ended are swept here.
func (s *Store) StartWebSession(ctx context.Context, token string, ttl time.Duration) (string, devices.WebSession, error) {
	a, err := s.Authenticate(ctx, token)
	if err != nil {
		return "", devices.WebSession{}, err
	}
	secret, err := randomText()
	if err != nil {
		return "", devices.WebSession{}, err
	}
	csrf, err := randomText()
	if err != nil {
		return "", devices.WebSession{}, err
	}
	now := s.now()
	end := now.Add(ttl)
	if a.TokenExpiresAt != nil && a.TokenExpiresAt.Before(end) {
		end = *a.TokenExpiresAt
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("expires_at <= ?", now).Delete(&webSessionRow{}).Error; err != nil {
			return err
		}
		return tx.Create(&webSessionRow{IDHash: HashSecret(secret), TokenID: a.TokenID, CSRF: csrf, CreatedAt: now, LastSeenAt: now,
			ExpiresAt: end}).Error
	})
	if err != nil {
		return "", devices.WebSession{}, err
	}
	return secret, devices.WebSession{Actor: a, CSRF: csrf, ExpiresAt: end}, nil
}

// LookupWebSession finds the session of a cookie's secret; it answers
// ErrUnauthenticated when there is none, it ended (ttl, idle for longer
// than idle), or its token was revoked, expired or its organization
// retired.
func (s *Store) LookupWebSession(ctx context.Context, secret string, idle time.Duration) (devices.WebSession, error) {
	if secret == "" || len(secret) > 100 {
		return devices.WebSession{}, devices.ErrUnauthenticated
	}
	var row struct {
		IDHash     string
		TokenID    string
		CSRF       string `gorm:"column:csrf"`
		LastSeenAt time.Time
		ExpiresAt  time.Time
		OrgID      string
		Role       string
		TExpiresAt *time.Time `gorm:"column:t_expires_at"`
		RevokedAt  *time.Time
		OrgKind    string
		OrgRetired bool
	}
	err := s.db.WithContext(ctx).Table("web_sessions").
		Select("web_sessions.id_hash, web_sessions.token_id, web_sessions.csrf, web_sessions.last_seen_at, web_sessions.expires_at, "+
			"api_tokens.org_id, api_tokens.role, api_tokens.expires_at AS t_expires_at, api_tokens.revoked_at, "+
			"organizations.kind AS org_kind, organizations.retired AS org_retired").
		Joins("JOIN api_tokens ON api_tokens.id = web_sessions.token_id").
		Joins("JOIN organizations ON organizations.id = api_tokens.org_id").
		Where("web_sessions.id_hash = ?", HashSecret(secret)).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return devices.WebSession{}, devices.ErrUnauthenticated
	}
	if err != nil {
		return devices.WebSession{}, fmt.Errorf("web session: %w", err)
	}
	now := s.now()
	if !row.ExpiresAt.After(now) || now.Sub(row.LastSeenAt) > idle || row.RevokedAt != nil || row.OrgRetired ||
		(row.TExpiresAt != nil && !row.TExpiresAt.After(now)) {
		return devices.WebSession{}, devices.ErrUnauthenticated
	}
	if now.Sub(row.LastSeenAt) > webSessionTouch {
		if err := s.db.WithContext(ctx).Model(&webSessionRow{}).Where("id_hash = ?", row.IDHash).Update("last_seen_at", now).Error; err != nil {
			return devices.WebSession{}, err
		}
	}
	return devices.WebSession{Actor: devices.Actor{OrgID: row.OrgID, OrgKind: devices.OrgKind(row.OrgKind), Role: devices.Role(row.Role),
		TokenID: row.TokenID, TokenExpiresAt: utcPtr(row.TExpiresAt)}, CSRF: row.CSRF, ExpiresAt: row.ExpiresAt.UTC()}, nil
}

// EndWebSession signs a browser out.
func (s *Store) EndWebSession(ctx context.Context, secret string) error {
	return s.db.WithContext(ctx).Where("id_hash = ?", HashSecret(secret)).Delete(&webSessionRow{}).Error
}
