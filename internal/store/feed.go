package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/calibd/calibd/devices"
)

// FeedPrefix starts every feed secret.
const FeedPrefix = "cdf_"

// ResourceFeed names calendar feeds in the audit log.
const ResourceFeed = devices.ResourceFeed

type feedRow struct {
	ID         string
	OrgID      string
	Kind       string
	SubjectID  string
	Name       string
	SecretHash string
	CreatedAt  time.Time
	CreatedBy  *string
	RevokedAt  *time.Time
}

func (feedRow) TableName() string { return "calendar_feeds" }

func (r feedRow) toFeed() devices.Feed {
	f := devices.Feed{ID: r.ID, OrgID: r.OrgID, Kind: devices.FeedKind(r.Kind), SubjectID: r.SubjectID, Name: r.Name,
		CreatedAt: r.CreatedAt.UTC(), RevokedAt: utcPtr(r.RevokedAt)}
	if r.CreatedBy != nil {
		f.CreatedBy = *r.CreatedBy
	}
	return f
}

// CreateFeed implements devices.FeedStore: an institute subscribes to its
// own visits or one of its technicians', a venue operator to a venue of its
// own; the regulator to any. Members may create feeds (they are read-only
// views).
func (s *Store) CreateFeed(ctx context.Context, a devices.Actor, f *devices.Feed) (string, error) {
	if err := f.Validate(); err != nil {
		return "", err
	}
	f.SubjectID = strings.ToLower(f.SubjectID)
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	secret := FeedPrefix + base64.RawURLEncoding.EncodeToString(b)
	err := s.tx(ctx, func(tx *gorm.DB) error {
		switch f.Kind {
		case devices.FeedInstitute:
			if _, err := s.instituteFor(tx, a, f.SubjectID); err != nil {
				return err
			}
			if !a.IsRegulator() && a.OrgID != f.SubjectID {
				return fmt.Errorf("institute %q: %w", f.SubjectID, devices.ErrNotFound)
			}
		case devices.FeedVenue:
			v, err := s.getVenue(tx, a, f.SubjectID)
			if err != nil {
				return err
			}
			if !a.IsRegulator() && a.OrgID != v.OperatorOrgID {
				return devices.Forbidden("only the venue's operator subscribes to its calendar")
			}
		case devices.FeedTechnician:
			// Only the technician's institute and the regulator see it.
			if _, err := s.getTechnician(tx, a, f.SubjectID); err != nil {
				return err
			}
		}
		now := s.now()
		row := feedRow{ID: newID(), OrgID: a.OrgID, Kind: string(f.Kind), SubjectID: f.SubjectID, Name: f.Name,
			SecretHash: HashSecret(secret), CreatedAt: now}
		if a.OrgID == "" {
			return devices.Forbidden("feeds belong to an organization's token")
		}
		if a.TokenID != "" {
			row.CreatedBy = &a.TokenID
		}
		if err := tx.Create(&row).Error; err != nil {
			return translate(err, "feed")
		}
		*f = row.toFeed()
		return s.audit(tx, a, devices.ActionCreate, ResourceFeed, row.ID, created(map[string]any{
			"kind": row.Kind, "subject_id": row.SubjectID, "name": row.Name}))
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// ListFeeds implements devices.FeedStore: an organization's own feeds
// (the regulator's: every feed).
func (s *Store) ListFeeds(ctx context.Context, a devices.Actor, p devices.Page) ([]devices.Feed, string, error) {
	q := s.db.WithContext(ctx).Model(&feedRow{})
	if !a.IsRegulator() {
		q = q.Where("calendar_feeds.org_id = ?", a.OrgID)
	}
	q, err := pageQuery(q, "calendar_feeds", &p, false)
	if err != nil {
		return nil, "", err
	}
	var rows []feedRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, "", err
	}
	rows, next := cutPage(rows, p.Limit, func(r feedRow) string { return r.ID })
	out := make([]devices.Feed, len(rows))
	for i, r := range rows {
		out[i] = r.toFeed()
	}
	return out, next, nil
}

// RevokeFeed implements devices.FeedStore: its organization's admins (or
// the token that made it) and regulator admins revoke a feed; the URL
// answers 404 from then on.
func (s *Store) RevokeFeed(ctx context.Context, a devices.Actor, id string) (devices.Feed, error) {
	var out devices.Feed
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var row feedRow
		if !devices.IsUUID(id) {
			return fmt.Errorf("feed %q: %w", id, devices.ErrNotFound)
		}
		q := tx.Where("id = ?", id)
		if !a.IsRegulator() {
			q = q.Where("org_id = ?", a.OrgID)
		}
		if err := q.Take(&row).Error; err != nil {
			return translate(err, "feed")
		}
		if !a.IsAdmin() && (row.CreatedBy == nil || *row.CreatedBy != a.TokenID) {
			return devices.Forbidden("only an admin or the token that created the feed revokes it")
		}
		if row.RevokedAt == nil {
			now := s.now()
			if err := tx.Model(&feedRow{}).Where("id = ?", id).Update("revoked_at", now).Error; err != nil {
				return err
			}
			row.RevokedAt = &now
			if err := s.audit(tx, a, devices.ActionRevoke, ResourceFeed, id, devices.Changes{"revoked_at": {To: now}}); err != nil {
				return err
			}
		}
		out = row.toFeed()
		return nil
	})
	return out, err
}

// FeedBySecret implements devices.FeedStore.
func (s *Store) FeedBySecret(ctx context.Context, secret string) (devices.Feed, []devices.FeedVisit, error) {
	q := s.db.WithContext(ctx)
	if !strings.HasPrefix(secret, FeedPrefix) || len(secret) > 200 {
		return devices.Feed{}, nil, fmt.Errorf("feed: %w", devices.ErrNotFound)
	}
	var row feedRow
	if err := q.Where("secret_hash = ? AND revoked_at IS NULL", HashSecret(secret)).Take(&row).Error; err != nil {
		return devices.Feed{}, nil, translate(err, "feed")
	}
	since := calendarDate(s.now().AddDate(0, 0, -devices.FeedPastDays).Format(dateLayout))
	var rows []visitRow
	vq := q.Model(&visitRow{}).Where("visits.day >= ?", since)
	switch devices.FeedKind(row.Kind) {
	case devices.FeedInstitute:
		vq = vq.Where("visits.institute_id = ?", row.SubjectID)
	case devices.FeedVenue:
		vq = vq.Where("visits.venue_id = ?", row.SubjectID)
	case devices.FeedTechnician:
		vq = vq.Where("visits.id IN (SELECT vt.visit_id FROM visit_technicians vt WHERE vt.technician_id = ?)", row.SubjectID)
	default:
		return devices.Feed{}, nil, fmt.Errorf("feed %s of unknown kind %q", row.ID, row.Kind)
	}
	if err := vq.Order("visits.day, visits.id").Limit(5000).Find(&rows).Error; err != nil {
		return devices.Feed{}, nil, err
	}
	venueIDs := map[string]bool{}
	for _, r := range rows {
		venueIDs[r.VenueID] = true
	}
	visits, err := s.visitsOf(q, rows)
	if err != nil {
		return devices.Feed{}, nil, err
	}
	var venues []venueRow
	if len(venueIDs) > 0 {
		if err := q.Where("id IN ?", slices.Collect(maps.Keys(venueIDs))).Find(&venues).Error; err != nil {
			return devices.Feed{}, nil, err
		}
	}
	byID := map[string]venueRow{}
	for _, v := range venues {
		byID[v.ID] = v
	}
	out := make([]devices.FeedVisit, len(rows))
	for i, vis := range visits {
		v := byID[vis.VenueID]
		out[i] = devices.FeedVisit{Visit: vis, VenueName: v.Name, VenueAddress: v.Address}
	}
	return row.toFeed(), out, nil
}
