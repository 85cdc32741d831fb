package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

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
	if out, err := run1("migrate", "up"); err != nil || !strings.Contains(out, "applied 2 migration(s)") {
		t.Fatalf("migrate up: %q %v", out, err)
	}
	out, err := run1("migrate", "status")
	if err != nil || strings.Count(out, "applied") != 2 {
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
