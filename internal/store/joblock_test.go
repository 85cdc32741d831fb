package store_test

import (
	"context"
	"testing"

	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
	"github.com/calibd/calibd/migrations"
)

// TestJobLock: a scheduler job's lock is held by one holder at a time (on
// PostgreSQL across stores, as across replicas), other jobs' locks are
// independent, and unlocking lets the next holder in.
func TestJobLock(t *testing.T) {
	t.Parallel()
	for _, dialect := range testenv.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			url := testenv.DatabaseURL(t, dialect)
			open := func() *store.Store {
				st, err := store.Open(ctx, store.Config{URL: url, MaxOpenConns: 4}, testenv.Logger())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = st.Close() })
				return st
			}
			a := open()
			b := a // SQLite: one process serves the file, so one store
			if dialect == migrations.Postgres {
				b = open()
			}
			unlock, ok, err := a.TryLock(ctx, "plan")
			if err != nil || !ok {
				t.Fatalf("first TryLock(plan) = %v, %v", ok, err)
			}
			if _, ok, err := b.TryLock(ctx, "plan"); err != nil || ok {
				t.Errorf("second TryLock(plan) while held = %v, %v; want not ok", ok, err)
			}
			unlockV, ok, err := b.TryLock(ctx, "visits")
			if err != nil || !ok {
				t.Errorf("TryLock(visits) while plan is held = %v, %v; want ok", ok, err)
			} else {
				unlockV()
			}
			unlock()
			unlock() // a second call is harmless
			unlock2, ok, err := b.TryLock(ctx, "plan")
			if err != nil || !ok {
				t.Fatalf("TryLock(plan) after unlock = %v, %v", ok, err)
			}
			unlock2()
		})
	}
}
