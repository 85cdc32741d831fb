package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
	"github.com/calibd/calibd/migrations"
)

// migrationVersions lists the migration numbers dialect should have, from
// the embedded files themselves.
func migrationVersions(t *testing.T, dialect string) []int64 {
	t.Helper()
	fsys, err := migrations.FS(dialect)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		n, err := strconv.ParseInt(strings.SplitN(e.Name(), "_", 2)[0], 10, 64)
		if err != nil {
			t.Fatalf("migration %s has no number: %v", e.Name(), err)
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// emptyStore opens a store of st's dialect on a new, unmigrated database.
func emptyStore(t *testing.T, st *store.Store) *store.Store {
	t.Helper()
	ctx := context.Background()
	var dsn string
	switch st.Dialect() {
	case migrations.SQLite:
		dsn = filepath.Join(t.TempDir(), "empty.db")
	case migrations.Postgres:
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		name := "calibd_mig_" + hex.EncodeToString(b)
		if _, err := st.SQLDB().ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
			t.Fatalf("create empty database: %v", err)
		}
		t.Cleanup(func() {
			if _, err := st.SQLDB().ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
				t.Logf("drop %s: %v", name, err)
			}
		})
		u, err := url.Parse(os.Getenv("TEST_DATABASE_URL"))
		if err != nil {
			t.Fatal(err)
		}
		u.Path = "/" + name
		dsn = u.String()
	default:
		t.Fatalf("unknown dialect %q", st.Dialect())
	}
	fresh, err := store.Open(ctx, store.Config{URL: dsn}, testenv.Logger())
	if err != nil {
		t.Fatalf("open empty %s store: %v", st.Dialect(), err)
	}
	t.Cleanup(func() { _ = fresh.Close() })
	return fresh
}

// TestMigrations: on each dialect every migration applies to an empty
// database, the status lists each as applied, and migrating again is a
// no-op.
func TestMigrations(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		want := migrationVersions(t, st.Dialect())
		if len(want) < 2 {
			t.Fatalf("%s has %d migrations, want at least 2", st.Dialect(), len(want))
		}
		fresh := emptyStore(t, st)

		before, err := fresh.MigrationStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(before) != len(want) {
			t.Errorf("status of an empty database lists %d migrations, want %d", len(before), len(want))
		}
		for _, m := range before {
			if m.AppliedAt != nil {
				t.Errorf("migration %d applied on an empty database", m.Version)
			}
		}

		n, err := fresh.Migrate(ctx)
		if err != nil || n != len(want) {
			t.Fatalf("Migrate(empty) = %d, %v; want %d", n, err, len(want))
		}
		for _, s := range []*store.Store{fresh, st} {
			n, err = s.Migrate(ctx)
			if err != nil || n != 0 {
				t.Errorf("Migrate(migrated) = %d, %v; want 0", n, err)
			}
			status, err := s.MigrationStatus(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, m := range status {
				got = append(got, m.Version)
				if m.AppliedAt == nil {
					t.Errorf("migration %d (%s) not applied after Migrate", m.Version, m.Name)
				}
				other := migrations.Postgres
				if st.Dialect() == migrations.Postgres {
					other = migrations.SQLite
				}
				if strings.Contains(m.Name, "."+other+".") {
					t.Errorf("%s ran the %s migration %s", st.Dialect(), other, m.Name)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("status versions = %v, want %v", got, want)
			}
		}

		// The migrated empty database is a working store.
		if sec, err := fresh.Bootstrap(ctx, ""); err != nil || sec == "" {
			t.Errorf("Bootstrap(freshly migrated) = %q, %v", sec, err)
		}
		if ps, err := fresh.ListProfiles(ctx); err != nil || len(ps) == 0 {
			t.Errorf("ListProfiles(freshly migrated) = %d, %v", len(ps), err)
		}
	})
}
