package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/calibd/calibd/migrations"
)

// migrationCount is how many SQLite migrations the binary embeds.
func migrationCount(t *testing.T) int {
	t.Helper()
	fsys, err := migrations.FS(migrations.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil || len(entries) == 0 {
		t.Fatalf("embedded migrations: %d, %v", len(entries), err)
	}
	return len(entries)
}

func TestCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "c.db")
	getenv := func(k string) string { return map[string]string{"DATABASE_URL": db}[k] }
	run1 := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		err := run(context.Background(), args, getenv, &out, &errb)
		return out.String(), err
	}
	if out, err := run1("version"); err != nil || strings.TrimSpace(out) == "" {
		t.Fatalf("version: %q %v", out, err)
	}
	n := migrationCount(t)
	if out, err := run1("migrate", "up"); err != nil || !strings.Contains(out, fmt.Sprintf("applied %d migration(s)", n)) {
		t.Fatalf("migrate up: %q %v; want %d applied", out, err, n)
	}
	if out, err := run1("migrate", "up"); err != nil || !strings.Contains(out, "applied 0 migration(s)") {
		t.Fatalf("second migrate up: %q %v; want 0 applied", out, err)
	}
	out, err := run1("migrate", "status")
	if err != nil || strings.Count(out, "applied") != n {
		t.Fatalf("migrate status: %q %v", out, err)
	}
	if _, err := run1("token", "create"); err == nil {
		t.Error("token create without --org succeeded")
	}
	if _, err := run1("token", "create", "--org", "01a21038-4d4e-77d9-8a01-0a3b65050903"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("token create for a missing org: %v", err)
	}
	if _, err := run1("frobnicate"); err == nil {
		t.Error("unknown command accepted")
	}
	prod := func(k string) string { return map[string]string{"ENV": "production"}[k] }
	var sink bytes.Buffer
	if err := run(context.Background(), []string{"serve"}, prod, &sink, &sink); err == nil || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Errorf("ENV=production on SQLite: %v", err)
	}
}
