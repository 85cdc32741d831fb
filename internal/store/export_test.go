package store

import (
	"context"

	"gorm.io/gorm"
)

// Replica returns a Store on the same database as s with none of s's
// in-process caches, as another replica of calibd would have: tests of
// what replicas share go through it.
func (s *Store) Replica() *Store {
	r := &Store{db: s.db, sqlDB: s.sqlDB, dialect: s.dialect, now: s.now, log: s.log, dueHorizon: s.dueHorizon, maxCycle: s.maxCycle,
		urgent: s.urgent, drift: s.drift, thresholds: s.thresholds}
	r.deadLetters.Store(s.deadLetters.Load())
	return r
}

// MigrateDownTo undoes the migrations above version, for tests of what a
// migration does to rows written before it.
func (s *Store) MigrateDownTo(ctx context.Context, version int64) error {
	p, err := s.provider()
	if err != nil {
		return err
	}
	_, err = p.DownTo(ctx, version)
	return err
}

// SetExportPage changes how many readings an export reads at a time.
func (s *Store) SetExportPage(n int) { s.exportPage.Store(int64(n)) }

// TxForTest runs fn as the store runs its transactions (tx), retries
// included.
func (s *Store) TxForTest(ctx context.Context, fn func(*gorm.DB) error) error { return s.tx(ctx, fn) }
