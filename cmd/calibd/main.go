// Command calibd runs the calibration-scheduling and device-registry
// service. Subcommands: serve (default), migrate [up|status], token create,
// broker export, simulate, version.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // IANA zones even on hosts without /usr/share/zoneinfo

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/app"
	"github.com/calibd/calibd/internal/config"
	"github.com/calibd/calibd/internal/store"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "calibd:", err)
		os.Exit(1)
	}
}

const usage = `calibd: calibration scheduling and device registry

Usage:
  calibd [serve]                          run the service (default)
  calibd migrate [up|status]              apply or list database migrations
  calibd token create --org ID [--role admin|member] [--name NAME] [--expires 720h]
                                          issue a token for an organization (admin recovery)
  calibd broker export --passwd FILE --acl FILE [--ingest-user calibd-ingest]
                                          write a Mosquitto password file of every current
                                          device login (and the ingest's, from MQTT_PASSWORD)
                                          and the ACL that keeps devices to their own topics
  calibd simulate [flags]                 publish a simulated fleet of devices over MQTT (or
                                          provision one through the API, or count what a broker
                                          delivers); calibd simulate -h lists the flags
  calibd version                          print the version

Configuration comes from environment variables; see README.md.
`

// serveGCPercent is calibd serve's GOGC unless the environment sets one.
const serveGCPercent = 200

// simulateGCPercent is calibd simulate's GOGC unless the environment sets
// one. The simulator is a load generator: with one MQTT connection per
// device its live heap is large (about 115 MB and 55 MB of goroutine
// stacks for 10,000 devices), and at Go's default of 100 it collected every
// 6 s at 10,000 messages/s, each mark phase taking 130-220 ms of both
// cores. The checks stamped during a mark reached the broker late, and
// that showed as the publish-to-commit latency of the service under test
// (docs/BENCHMARKS.md). 400 makes those phases a quarter as frequent.
const simulateGCPercent = 400

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	if cmd == "version" {
		fmt.Fprintln(stdout, buildVersion())
		return nil
	}
	if cmd == "help" || cmd == "-h" || cmd == "--help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log := newLogger(cfg, stderr)
	switch cmd {
	case "serve":
		if len(args) > 0 {
			return fmt.Errorf("serve takes no arguments\n\n%s", usage)
		}
		// The ingest allocates per message; at Go's default GOGC of 100
		// the collector took about a fifth of calibd's CPU under load
		// (docs/BENCHMARKS.md). 200 trades heap headroom for that CPU;
		// GOGC set in the environment wins.
		if getenv("GOGC") == "" {
			debug.SetGCPercent(serveGCPercent)
		}
		return app.Run(ctx, cfg, buildVersion(), log, stdout)
	case "migrate":
		return migrate(ctx, cfg, log, args, stdout)
	case "token":
		return token(ctx, cfg, log, args, stdout)
	case "broker":
		return brokerExport(ctx, cfg, log, args, getenv, stdout)
	case "simulate":
		if getenv("GOGC") == "" {
			debug.SetGCPercent(simulateGCPercent)
		}
		return simulateCmd(ctx, args, getenv, log, stdout)
	}
	return fmt.Errorf("unknown command %q\n\n%s", cmd, usage)
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(h)
}

func openStore(ctx context.Context, cfg config.Config, log *slog.Logger) (*store.Store, error) {
	return store.Open(ctx, store.Config{URL: cfg.DatabaseURL, MaxOpenConns: 2}, log.With("component", "store"))
}

func migrate(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, out io.Writer) error {
	sub := "up"
	if len(args) > 0 {
		sub = args[0]
	}
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	switch sub {
	case "up":
		n, err := st.Migrate(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "applied %d migration(s)\n", n)
		return nil
	case "status":
		list, err := st.MigrationStatus(ctx)
		if err != nil {
			return err
		}
		for _, m := range list {
			state := "pending"
			if m.AppliedAt != nil {
				state = "applied " + m.AppliedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(out, "%05d  %-45s %s\n", m.Version, m.Name, state)
		}
		return nil
	}
	return fmt.Errorf("migrate: unknown subcommand %q (up or status)", sub)
}

func token(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("token: usage: calibd token create --org ID [--role admin|member] [--name NAME] [--expires 720h]")
	}
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	org := fs.String("org", "", "organization id")
	role := fs.String("role", "admin", "admin or member")
	name := fs.String("name", "recovery", "a name to recognise the token by")
	expires := fs.Duration("expires", 0, "lifetime, e.g. 720h (0: no expiry)")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("token create: %w", err)
	}
	if *org == "" {
		return errors.New("token create: --org is required")
	}
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	req := devices.TokenRequest{Name: *name, Role: devices.Role(*role)}
	if *expires > 0 {
		t := time.Now().Add(*expires).UTC()
		req.ExpiresAt = &t
	}
	tok, secret, err := st.IssueToken(ctx, devices.SystemActor(), *org, req)
	if err != nil {
		return fmt.Errorf("token create: %w", err)
	}
	fmt.Fprintf(out, "token id %s for organization %s (role %s); shown only once:\n%s\n", tok.ID, tok.OrgID, tok.Role, secret)
	return nil
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return "dev"
}

// brokerExport writes a Mosquitto password file and ACL file for brokers
// without an HTTP auth plugin; run it again (and reload Mosquitto with
// SIGHUP) after issuing, rotating or revoking device secrets.
func brokerExport(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, getenv func(string) string, out io.Writer) error {
	if len(args) == 0 || args[0] != "export" {
		return errors.New("broker: usage: calibd broker export --passwd FILE --acl FILE [--ingest-user calibd-ingest]")
	}
	fs := flag.NewFlagSet("broker export", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	passwd := fs.String("passwd", "", "Mosquitto password file to write")
	acl := fs.String("acl", "", "Mosquitto ACL file to write")
	ingestUser := fs.String("ingest-user", "calibd-ingest", "the login calibd's ingest uses (its password comes from MQTT_PASSWORD)")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("broker export: %w", err)
	}
	if *passwd == "" || *acl == "" {
		return errors.New("broker export: --passwd and --acl are required")
	}
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	logins, err := st.BrokerLogins(ctx)
	if err != nil {
		return fmt.Errorf("broker export: %w", err)
	}
	var pw strings.Builder
	if p := getenv("MQTT_PASSWORD"); p != "" && *ingestUser != "" {
		h, err := devices.MosquittoHash(p)
		if err != nil {
			return fmt.Errorf("broker export: %w", err)
		}
		fmt.Fprintf(&pw, "%s:%s\n", *ingestUser, h)
	}
	for _, l := range logins {
		fmt.Fprintf(&pw, "%s:%s\n", l.Username, l.MosquittoHash)
	}
	if err := writeFileAtomic(*passwd, pw.String(), 0o600); err != nil {
		return fmt.Errorf("broker export: %w", err)
	}
	if err := writeFileAtomic(*acl, devices.MosquittoACL(*ingestUser), 0o644); err != nil {
		return fmt.Errorf("broker export: %w", err)
	}
	fmt.Fprintf(out, "wrote %d device login(s) to %s and the ACL to %s; reload Mosquitto (SIGHUP) to apply\n", len(logins), *passwd, *acl)
	return nil
}

// writeFileAtomic replaces path with data in one rename, so a broker that
// reloads meanwhile reads the old file or the new one, never half of one.
func writeFileAtomic(path, data string, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".calibd-export-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
