package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/migrations"
)

// TokenPrefix starts every API token, so a leaked one is easy to grep for.
const TokenPrefix = "cdt_"

// newSecret returns a token secret with 256 bits of randomness.
func newSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("token randomness: %w", err)
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// HashSecret is how a token secret is stored: SHA-256 suffices, since the
// secret is 256 random bits and not a password to brute-force.
func HashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// IssueToken implements devices.TokenStore.
func (s *Store) IssueToken(ctx context.Context, a devices.Actor, orgID string, r devices.TokenRequest) (devices.Token, string, error) {
	var (
		tok    devices.Token
		secret string
	)
	err := s.once(ctx, a, devices.ResourceToken, func(tx *gorm.DB) (outcome, error) {
		var err error
		tok, secret, err = s.issueToken(tx, a, orgID, r, "")
		return outcome{id: tok.ID}, err
	})
	return tok, secret, err
}

func (s *Store) issueToken(tx *gorm.DB, a devices.Actor, orgID string, r devices.TokenRequest, secret string) (devices.Token, string, error) {
	org, err := s.getOrg(tx, a, orgID)
	if err != nil {
		return devices.Token{}, "", err
	}
	if !a.CanManageTokens(orgID) {
		return devices.Token{}, "", devices.Forbidden("only an admin of the organization or a regulator admin issues tokens")
	}
	if org.Retired {
		return devices.Token{}, "", devices.Conflict("retired", "organization %s is retired", orgID)
	}
	now := s.now()
	if err := r.Validate(now); err != nil {
		return devices.Token{}, "", err
	}
	if secret == "" {
		if secret, err = newSecret(); err != nil {
			return devices.Token{}, "", err
		}
	}
	row := tokenRow{ID: newID(), OrgID: orgID, Name: r.Name, Role: string(r.Role), SecretHash: HashSecret(secret),
		ExpiresAt: utcPtr(r.ExpiresAt), CreatedAt: now, CreatedBy: strPtr(a.TokenID)}
	if err := tx.Create(&row).Error; err != nil {
		return devices.Token{}, "", translate(err, "token")
	}
	ch := created(map[string]any{"org_id": orgID, "name": r.Name, "role": r.Role})
	if r.ExpiresAt != nil {
		ch["expires_at"] = devices.Change{To: r.ExpiresAt.UTC()}
	}
	if err := s.audit(tx, a, devices.ActionTokenIssue, devices.ResourceToken, row.ID, ch); err != nil {
		return devices.Token{}, "", err
	}
	return row.toToken(), secret, nil
}

// ListTokens implements devices.TokenStore.
func (s *Store) ListTokens(ctx context.Context, a devices.Actor, orgID string, p devices.Page) ([]devices.Token, string, error) {
	db := s.db.WithContext(ctx)
	if _, err := s.getOrg(db, a, orgID); err != nil {
		return nil, "", err
	}
	if !a.CanManageTokens(orgID) {
		return nil, "", devices.Forbidden("only an admin of the organization or a regulator admin lists its tokens")
	}
	q, err := pageQuery(db.Where("org_id = ?", orgID), "api_tokens", &p, false)
	if err != nil {
		return nil, "", err
	}
	var rows []tokenRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, "", translate(err, "tokens")
	}
	rows, next := cutPage(rows, p.Limit, func(r tokenRow) string { return r.ID })
	out := make([]devices.Token, len(rows))
	for i, r := range rows {
		out[i] = r.toToken()
	}
	return out, next, nil
}

// RevokeToken implements devices.TokenStore.
func (s *Store) RevokeToken(ctx context.Context, a devices.Actor, orgID, tokenID string) (devices.Token, error) {
	var out devices.Token
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if _, err := s.getOrg(tx, a, orgID); err != nil {
			return err
		}
		if !devices.IsUUID(tokenID) {
			return fmt.Errorf("token %q: %w", tokenID, devices.ErrNotFound)
		}
		var row tokenRow
		if err := tx.Where("id = ? AND org_id = ?", tokenID, orgID).Take(&row).Error; err != nil {
			return translate(err, "token")
		}
		if !a.CanManageTokens(orgID) {
			return devices.Forbidden("only an admin of the organization or a regulator admin revokes its tokens")
		}
		if row.RevokedAt != nil {
			out = row.toToken()
			return nil
		}
		now := s.now()
		if err := tx.Model(&tokenRow{}).Where("id = ?", tokenID).Update("revoked_at", now).Error; err != nil {
			return translate(err, "token")
		}
		row.RevokedAt = &now
		out = row.toToken()
		return s.audit(tx, a, devices.ActionTokenRevoke, devices.ResourceToken, tokenID, devices.Changes{"revoked_at": {To: now}})
	})
	return out, err
}

// Authenticate implements devices.TokenStore.
func (s *Store) Authenticate(ctx context.Context, secret string) (devices.Actor, error) {
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 200 {
		return devices.Actor{}, devices.ErrUnauthenticated
	}
	var row struct {
		ID         string
		OrgID      string
		Role       string
		ExpiresAt  *time.Time
		RevokedAt  *time.Time
		OrgKind    string
		OrgRetired bool
	}
	err := s.db.WithContext(ctx).Table("api_tokens").
		Select("api_tokens.id, api_tokens.org_id, api_tokens.role, api_tokens.expires_at, api_tokens.revoked_at, "+
			"organizations.kind AS org_kind, organizations.retired AS org_retired").
		Joins("JOIN organizations ON organizations.id = api_tokens.org_id").
		Where("api_tokens.secret_hash = ?", HashSecret(secret)).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return devices.Actor{}, devices.ErrUnauthenticated
	}
	if err != nil {
		return devices.Actor{}, fmt.Errorf("authenticate: %w", err)
	}
	if row.RevokedAt != nil || row.OrgRetired || (row.ExpiresAt != nil && !row.ExpiresAt.After(s.now())) {
		return devices.Actor{}, devices.ErrUnauthenticated
	}
	return devices.Actor{OrgID: row.OrgID, OrgKind: devices.OrgKind(row.OrgKind), Role: devices.Role(row.Role),
		TokenID: row.ID, TokenExpiresAt: utcPtr(row.ExpiresAt)}, nil
}

// bootstrapLockKey is the PostgreSQL advisory lock Bootstrap holds.
const bootstrapLockKey int64 = 0x63616c6962640001 // "calibd" + 1

// Bootstrap implements devices.TokenStore.
func (s *Store) Bootstrap(ctx context.Context, secret string) (string, error) {
	if secret != "" && (!strings.HasPrefix(secret, TokenPrefix) || len(secret) < len(TokenPrefix)+32) {
		return "", fmt.Errorf("bootstrap token must start with %q and carry at least 32 characters after it", TokenPrefix)
	}
	var out string
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if s.dialect == migrations.Postgres {
			// Replicas bootstrapping at once take turns, so the count
			// below sees the organization a concurrent one committed.
			if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", bootstrapLockKey).Error; err != nil {
				return fmt.Errorf("bootstrap lock: %w", err)
			}
		}
		var n int64
		if err := tx.Model(&orgRow{}).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		sys := devices.SystemActor()
		now := s.now()
		org := orgRow{ID: newID(), Name: "Regulator", Kind: string(devices.KindRegulator), Version: 1, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&org).Error; err != nil {
			return translate(err, "organization")
		}
		if err := s.audit(tx, sys, devices.ActionCreate, devices.ResourceOrganization, org.ID,
			created(map[string]any{"name": org.Name, "kind": org.Kind, "bootstrap": true})); err != nil {
			return err
		}
		_, sec, err := s.issueToken(tx, sys, org.ID, devices.TokenRequest{Name: "bootstrap", Role: devices.RoleAdmin}, secret)
		out = sec
		return err
	})
	return out, err
}
