package testenv

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// This file holds what the private services (StartMosquitto,
// StartPostgres) share: finding a binary, a free loopback port, waiting
// for a port to answer, and a log file whose tail a failing test prints.

// LookBinary finds a service's binary for a test, as lookBinary.
func LookBinary(tb testing.TB, name, hint string) string {
	tb.Helper()
	return lookBinary(tb, name, hint)
}

// lookBinary finds name on PATH, then in the sbin directories a user's
// PATH may lack (Debian installs mosquitto there), then in the newest
// /usr/lib/postgresql/<version>/bin (Debian keeps initdb and pg_ctl there,
// off PATH). It skips the test, or fails it under CI, when there is none.
func lookBinary(tb testing.TB, name, hint string) string {
	tb.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) > pgVersion(dirs[j]) })
	dirs = append([]string{"/usr/sbin", "/usr/local/sbin", "/sbin"}, dirs...)
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	missing(tb, "the %s binary is not installed (%s)", name, hint)
	return ""
}

// pgVersion reads the version out of /usr/lib/postgresql/<version>/bin.
func pgVersion(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

// FreePort returns a loopback TCP port nobody listened on a moment ago.
// Another process may take it before the caller binds it: callers that
// start a server on it retry with another port when the bind fails.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitPort waits until 127.0.0.1:port accepts a connection, the exited
// channel closes (the server died), or timeout passes.
func waitPort(port int, exited <-chan struct{}, timeout time.Duration) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("the process exited before %s answered", addr)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer within %v: %w", addr, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tail is the last n lines of a log file, for failure messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// logTailOnFailure prints the end of a service's log when the test failed.
func logTailOnFailure(tb testing.TB, what, path string) {
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("last lines of the %s log %s:\n%s", what, path, tail(path, 40))
		}
	})
}

// quoteConf quotes a path for mosquitto.conf or postgresql.conf values.
func quoteConf(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
