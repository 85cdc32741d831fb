// Package testenv gives tests real services: a fresh migrated database per
// test on SQLite always and on PostgreSQL when TEST_DATABASE_URL is set, and
// the MQTT broker named by TEST_MQTT_URL. Under CI=true a service that is not
// configured or not reachable fails the test instead of skipping it.
package testenv

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver for admin statements

	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/migrations"
)

// InCI reports whether missing services must fail rather than skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// Logger discards unless -v; tests that want logs pass their own.
func Logger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// missing skips, or fails under CI.
func missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		tb.Fatalf("CI=true and %s", msg)
	}
	tb.Skip(msg)
}

// Dialects are the databases a storage test runs on: sqlite always,
// postgres when TEST_DATABASE_URL is set (and always under CI, where its
// absence fails).
func Dialects() []string {
	if os.Getenv("TEST_DATABASE_URL") != "" || InCI() {
		return []string{migrations.SQLite, migrations.Postgres}
	}
	return []string{migrations.SQLite}
}

// EachStore runs fn as a subtest on a fresh migrated store per dialect.
func EachStore(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	t.Helper()
	for _, d := range Dialects() {
		t.Run(d, func(t *testing.T) {
			fn(t, Store(t, d))
		})
	}
}

// Store opens a fresh migrated store of dialect, closed at cleanup.
func Store(tb testing.TB, dialect string) *store.Store {
	tb.Helper()
	st, err := store.Open(context.Background(), store.Config{URL: DatabaseURL(tb, dialect), MaxOpenConns: 8}, Logger())
	if err != nil {
		tb.Fatalf("open %s store: %v", dialect, err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		tb.Fatalf("migrate %s: %v", dialect, err)
	}
	return st
}

// DatabaseURL returns the URL of a fresh, empty-but-migratable database: a
// SQLite file in a temp dir, or a new PostgreSQL database (created from a
// migrated template, dropped at cleanup). The caller migrates; migrating a
// template-made database is a no-op.
func DatabaseURL(tb testing.TB, dialect string) string {
	tb.Helper()
	if dialect == migrations.SQLite {
		return filepath.Join(tb.TempDir(), "calibd.db")
	}
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		missing(tb, "TEST_DATABASE_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)")
	}
	admin, err := adminDB(base)
	if err != nil {
		missing(tb, "PostgreSQL at TEST_DATABASE_URL is not reachable: %v", err)
	}
	tmpl, err := template(base, admin)
	if err != nil {
		tb.Fatalf("prepare PostgreSQL template database: %v", err)
	}
	name := "calibd_t_" + randomHex(6)
	if err := createFromTemplate(admin, name, tmpl); err != nil {
		tb.Fatalf("create test database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Logf("drop test database %s: %v", name, err)
		}
	})
	return withTimeouts(withDatabase(base, name))
}

// withTimeouts makes a statement that waits or runs for minutes fail with
// PostgreSQL's own message (naming what it waited for) instead of hanging
// the test binary until go test's timeout, whose goroutine dump does not
// say which query was stuck. Every test statement takes milliseconds.
func withTimeouts(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Set("statement_timeout", "120000")
	q.Set("lock_timeout", "60000")
	u.RawQuery = q.Encode()
	return u.String()
}

var (
	adminOnce sync.Once
	adminConn *sql.DB
	adminErr  error

	tmplMu   sync.Mutex
	tmplName string
)

func adminDB(base string) (*sql.DB, error) {
	adminOnce.Do(func() {
		adminConn, adminErr = sql.Open("pgx", base)
		if adminErr != nil {
			return
		}
		adminConn.SetMaxOpenConns(4)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		adminErr = adminConn.PingContext(ctx)
	})
	return adminConn, adminErr
}

// template returns a migrated template database named after the
// migrations' content, made once per content across every test process.
func template(base string, admin *sql.DB) (string, error) {
	tmplMu.Lock()
	defer tmplMu.Unlock()
	if tmplName != "" {
		return tmplName, nil
	}
	sum, err := migrationsHash()
	if err != nil {
		return "", err
	}
	name := "calibd_tmpl_" + sum
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := admin.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	// Test binaries of several packages run at once: one builds the
	// template while the others wait on this lock.
	key := int64(binary.BigEndian.Uint64(must(hex.DecodeString(sum))[:8]))
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		return "", err
	}
	defer conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1)", key) //nolint:errcheck
	var exists bool
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if !exists {
		building := name + "_b" + randomHex(3)
		if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+building); err != nil {
			return "", err
		}
		st, err := store.Open(ctx, store.Config{URL: withDatabase(base, building)}, Logger())
		if err != nil {
			return "", err
		}
		_, merr := st.Migrate(ctx)
		_ = st.Close()
		if merr != nil {
			_, _ = conn.ExecContext(ctx, "DROP DATABASE "+building+" WITH (FORCE)")
			return "", merr
		}
		if _, err := conn.ExecContext(ctx, "ALTER DATABASE "+building+" RENAME TO "+name); err != nil {
			return "", err
		}
	}
	tmplName = name
	return name, nil
}

func createFromTemplate(admin *sql.DB, name, tmpl string) error {
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err = admin.ExecContext(ctx, "CREATE DATABASE "+name+" TEMPLATE "+tmpl)
		cancel()
		// "source database is being accessed by other users": another
		// process is copying it at this moment.
		if err == nil || !strings.Contains(err.Error(), "being accessed") {
			return err
		}
		time.Sleep(time.Duration(50+attempt*25) * time.Millisecond)
	}
	return err
}

func migrationsHash() (string, error) {
	h := sha256.New()
	fsys, err := migrations.FS(migrations.Postgres)
	if err != nil {
		return "", err
	}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return "", err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return "", err
		}
		h.Write([]byte(n))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func withDatabase(base, name string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	u.Path = "/" + name
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// MQTTURL returns TEST_MQTT_URL after checking the broker answers.
func MQTTURL(tb testing.TB) string {
	tb.Helper()
	raw := os.Getenv("TEST_MQTT_URL")
	if raw == "" {
		missing(tb, "TEST_MQTT_URL is not set (e.g. tcp://127.0.0.1:1883)")
	}
	u, err := url.Parse(raw)
	if err != nil {
		tb.Fatalf("TEST_MQTT_URL: %v", err)
	}
	c, err := net.DialTimeout("tcp", u.Host, 3*time.Second)
	if err != nil {
		missing(tb, "MQTT broker at TEST_MQTT_URL is not reachable: %v", err)
	}
	_ = c.Close()
	return raw
}
