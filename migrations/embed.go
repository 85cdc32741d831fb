// Package migrations holds calibd's versioned SQL schema, embedded in the
// binary. A migration is NNNNN_name.sql when one file serves both databases,
// or a pair NNNNN_name.postgres.sql and NNNNN_name.sqlite.sql where the
// dialects differ. Never edit a migration that has run; add a new one.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

//go:embed *.sql
var files embed.FS

// Dialects that have migrations.
const (
	Postgres = "postgres"
	SQLite   = "sqlite"
)

// FS returns the migrations for one dialect: the shared files and that
// dialect's variants, with the other dialect's hidden.
func FS(dialect string) (fs.FS, error) {
	if dialect != Postgres && dialect != SQLite {
		return nil, fmt.Errorf("migrations: unknown dialect %q", dialect)
	}
	return dialectFS{dialect: dialect}, nil
}

type dialectFS struct{ dialect string }

func (d dialectFS) other() string {
	if d.dialect == Postgres {
		return SQLite
	}
	return Postgres
}

func (d dialectFS) hidden(name string) bool {
	return strings.HasSuffix(path.Base(name), "."+d.other()+".sql")
}

func (d dialectFS) Open(name string) (fs.File, error) {
	if d.hidden(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return files.Open(name)
}

func (d dialectFS) ReadDir(name string) ([]fs.DirEntry, error) {
	all, err := files.ReadDir(name)
	if err != nil {
		return nil, err
	}
	out := all[:0:0]
	for _, e := range all {
		if !d.hidden(e.Name()) {
			out = append(out, e)
		}
	}
	return out, nil
}
