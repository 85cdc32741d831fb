package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/calibd/calibd/devices"
)

type idempotencyRow struct {
	OrgID        string `gorm:"primaryKey"`
	Key          string `gorm:"primaryKey"`
	RequestHash  string
	Resource     string
	ResourceID   string
	CreatedCount int
	CreatedAt    time.Time
}

func (idempotencyRow) TableName() string { return "idempotency_keys" }

// outcome is what a create reports to once: the object it made, or for an
// import the venue and how many objects.
type outcome struct {
	id    string
	count int
}

// errKeyTaken: a concurrent request with the same key committed first.
var errKeyTaken = errors.New("idempotency key taken by a concurrent request")

// once runs a create in a transaction. When ctx carries an idempotency key
// of a tenant's request, the key is recorded in the same transaction as the
// create, so a retry (even one racing the first request) creates nothing
// and gets a *devices.ReplayError naming the first result; a key reused
// for a different request gets devices.ErrIdempotencyKeyReused.
func (s *Store) once(ctx context.Context, a devices.Actor, resource string, fn func(tx *gorm.DB) (outcome, error)) error {
	k, ok := devices.IdempotencyKeyFrom(ctx)
	if !ok || a.OrgID == "" {
		return s.tx(ctx, func(tx *gorm.DB) error {
			_, err := fn(tx)
			return err
		})
	}
	if err := s.replay(ctx, a, k, resource); err != nil {
		return err
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		c, err := fn(tx)
		if err != nil {
			return err
		}
		now := s.now()
		// An expired record of the same key gives way to this one.
		if err := tx.Where("org_id = ? AND key = ? AND created_at < ?", a.OrgID, k.Key, now.Add(-devices.IdempotencyTTL)).
			Delete(&idempotencyRow{}).Error; err != nil {
			return err
		}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&idempotencyRow{
			OrgID: a.OrgID, Key: k.Key, RequestHash: k.Hash, Resource: resource,
			ResourceID: c.id, CreatedCount: c.count, CreatedAt: now,
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errKeyTaken
		}
		return nil
	})
	// A concurrent request with the same key may have won: either on the
	// key itself or on a unique column of what both were creating.
	if errors.Is(err, errKeyTaken) || errors.Is(err, devices.ErrConflict) {
		if rerr := s.replay(ctx, a, k, resource); rerr != nil {
			return rerr
		}
	}
	return err
}

// replay returns the outcome of an earlier request under k, or nil if k is
// unused (or expired).
func (s *Store) replay(ctx context.Context, a devices.Actor, k devices.IdempotencyKey, resource string) error {
	var rows []idempotencyRow
	err := s.db.WithContext(ctx).
		Where("org_id = ? AND key = ? AND created_at >= ?", a.OrgID, k.Key, s.now().Add(-devices.IdempotencyTTL)).
		Limit(1).Find(&rows).Error
	if err != nil || len(rows) == 0 {
		return err
	}
	r := rows[0]
	if r.RequestHash != k.Hash || r.Resource != resource {
		return devices.ErrIdempotencyKeyReused
	}
	return &devices.ReplayError{Resource: r.Resource, ID: r.ResourceID, Created: r.CreatedCount}
}

// PurgeIdempotencyKeys deletes keys recorded before cutoff and reports how
// many; the service runs it periodically.
func (s *Store) PurgeIdempotencyKeys(ctx context.Context, cutoff time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Where("created_at < ?", cutoff).Delete(&idempotencyRow{})
	return res.RowsAffected, res.Error
}
