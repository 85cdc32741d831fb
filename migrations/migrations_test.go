package migrations

import (
	"io/fs"
	"strconv"
	"strings"
	"testing"
)

// TestEveryVersionResolvesForBothDialects: each migration number has one
// file per dialect (shared, or a .postgres/.sqlite pair), never both kinds
// and never two of one dialect.
func TestEveryVersionResolvesForBothDialects(t *testing.T) {
	all, err := fs.ReadDir(files, ".")
	if err != nil {
		t.Fatal(err)
	}
	versions := map[int64]bool{}
	for _, e := range all {
		if !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		v, err := strconv.ParseInt(strings.SplitN(e.Name(), "_", 2)[0], 10, 64)
		if err != nil {
			t.Fatalf("%s: no numeric version prefix", e.Name())
		}
		versions[v] = true
	}
	if len(versions) == 0 {
		t.Fatal("no migrations embedded")
	}
	for _, d := range []string{Postgres, SQLite} {
		fsys, err := FS(d)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int64]string{}
		entries, err := fs.ReadDir(fsys, ".")
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			v, _ := strconv.ParseInt(strings.SplitN(e.Name(), "_", 2)[0], 10, 64)
			if prev, dup := seen[v]; dup {
				t.Errorf("%s: version %d twice: %s and %s", d, v, prev, e.Name())
			}
			seen[v] = e.Name()
			b, err := fs.ReadFile(fsys, e.Name())
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), "-- +goose Up") {
				t.Errorf("%s has no '-- +goose Up' section", e.Name())
			}
		}
		for v := range versions {
			if seen[v] == "" {
				t.Errorf("%s: version %d has no file", d, v)
			}
		}
	}
	if _, err := FS("mysql"); err == nil {
		t.Error("FS accepted an unknown dialect")
	}
}
