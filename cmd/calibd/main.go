// Command calibd runs the calibration-scheduling and device-registry
// service. Subcommands: serve (default), migrate [up|status], token create,
// version.
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
	"runtime/debug"
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
  calibd version                          print the version

Configuration comes from environment variables; see README.md.
`

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
		return app.Run(ctx, cfg, buildVersion(), log, stdout)
	case "migrate":
		return migrate(ctx, cfg, log, args, stdout)
	case "token":
		return token(ctx, cfg, log, args, stdout)
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
