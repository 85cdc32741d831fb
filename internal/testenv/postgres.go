package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Postgres is a PostgreSQL cluster of the test's own: initdb into a temp
// dir, trust auth, listening on a free loopback port, so the test may stop
// and restart it. The shared server of TEST_DATABASE_URL must never be
// restarted: other tests use it.
//
// initdb and pg_ctl refuse to run as root; as root they run as the
// postgres OS user, in a directory it owns.
type Postgres struct {
	tb    testing.TB
	pgCtl string
	dir   string // owned by the server's user: data/, the socket, the log
	data  string
	log   string
	port  int
	cred  *syscall.Credential
}

// StartPostgres creates and starts a private cluster, stopped (immediate
// mode) and removed at cleanup. Without initdb and pg_ctl (on PATH or in
// /usr/lib/postgresql/*/bin) the test skips, or fails under CI=true.
func StartPostgres(tb testing.TB) *Postgres {
	tb.Helper()
	initdb := lookBinary(tb, "initdb", "apt-get install postgresql")
	p := &Postgres{tb: tb, pgCtl: lookBinary(tb, "pg_ctl", "apt-get install postgresql")}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			missing(tb, "running as root and there is no postgres OS user to run initdb as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	// Not t.TempDir: its parent is private to root, and the server may
	// run as postgres.
	dir, err := os.MkdirTemp("", "calibd-pg-")
	if err != nil {
		tb.Fatal(err)
	}
	p.dir, p.data, p.log = dir, filepath.Join(dir, "data"), filepath.Join(dir, "postgres.log")
	tb.Cleanup(func() { _ = os.RemoveAll(dir) })
	if p.cred != nil {
		if err := os.Chown(dir, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
			tb.Fatal(err)
		}
	}
	logTailOnFailure(tb, "postgres", p.log)
	out, err := p.run(initdb, "-D", p.data, "-U", "postgres", "--auth=trust", "--no-sync", "--no-locale", "-E", "UTF8")
	if err != nil {
		tb.Fatalf("initdb: %v\n%s", err, out)
	}
	tb.Cleanup(p.stopNow)
	for attempt := 0; attempt < 3; attempt++ {
		p.port = FreePort(tb)
		// Later lines of postgresql.conf override earlier ones.
		if err = p.appendConf(fmt.Sprintf("port = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = %s\n"+
			"fsync = off\nfull_page_writes = off\nshared_buffers = 16MB\nmax_connections = 50\n", p.port, quoteConf(p.dir))); err != nil {
			tb.Fatal(err)
		}
		if err = p.start(); err == nil {
			return p
		}
	}
	tb.Fatalf("start postgres: %v\n%s", err, tail(p.log, 20))
	return nil
}

func (p *Postgres) appendConf(s string) error {
	f, err := os.OpenFile(filepath.Join(p.data, "postgresql.conf"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString("\n# testenv.StartPostgres\n" + s); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// run runs a PostgreSQL program as the server's user.
func (p *Postgres) run(bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "PGTZ=UTC")
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (p *Postgres) start() error {
	if out, err := p.run(p.pgCtl, "-D", p.data, "-l", p.log, "-w", "-t", "60", "start"); err != nil {
		return fmt.Errorf("pg_ctl start: %v: %s", err, strings.TrimSpace(out))
	}
	return nil
}

// Start starts the stopped cluster again on the same port.
func (p *Postgres) Start() {
	p.tb.Helper()
	if err := p.start(); err != nil {
		p.tb.Fatalf("%v\n%s", err, tail(p.log, 20))
	}
}

// Stop stops the cluster in fast mode (clients are disconnected, open
// transactions roll back) and waits until it is down.
func (p *Postgres) Stop() {
	p.tb.Helper()
	if out, err := p.run(p.pgCtl, "-D", p.data, "-m", "fast", "-w", "-t", "60", "stop"); err != nil {
		p.tb.Fatalf("pg_ctl stop: %v: %s\n%s", err, out, tail(p.log, 20))
	}
}

func (p *Postgres) stopNow() {
	_, _ = p.run(p.pgCtl, "-D", p.data, "-m", "immediate", "-w", "-t", "30", "stop")
}

// URL is the URL of database name on this cluster, as the postgres user.
func (p *Postgres) URL(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.port, name)
}

// CreateDatabase creates an empty database and returns its URL. The
// caller migrates it (store.Open and Migrate, as calibd does).
func (p *Postgres) CreateDatabase(name string) string {
	p.tb.Helper()
	db, err := sql.Open("pgx", p.URL("postgres"))
	if err != nil {
		p.tb.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		p.tb.Fatalf("create database %s: %v", name, err)
	}
	return p.URL(name)
}
