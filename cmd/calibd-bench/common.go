package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
)

// Default secrets of the benchmark database. They only ever exist in the
// throw-away calibd_bench database on loopback.
const (
	defaultBootstrapToken = "cdt_bench_bootstrap_regulator_admin_0123456789abcdef"
	defaultOperatorToken  = "cdt_bench_venue_operator_admin_0123456789abcdef"
)

// SeedInfo is the seed file: what load and import need to know about the
// seeded database.
type SeedInfo struct {
	Devices         int      `json:"devices"`
	Venues          int      `json:"venues"`
	RegulatorOrgID  string   `json:"regulator_org_id"`
	OperatorOrgID   string   `json:"operator_org_id"`
	InstituteOrgID  string   `json:"institute_org_id"`
	Token           string   `json:"token"`
	HotVenueID      string   `json:"hot_venue_id"`
	HotStatus       string   `json:"hot_status"`
	HotVenueDevices int      `json:"hot_venue_devices"`
	HotStatusCount  int      `json:"hot_status_devices"`
	IDs             []string `json:"ids"`
}

func readSeed(path string) (SeedInfo, error) {
	var s SeedInfo
	b, err := os.ReadFile(path)
	if err != nil {
		return s, fmt.Errorf("read seed file: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("seed file %s: %w", path, err)
	}
	return s, nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// appendJSONLine appends v as one line to path (JSON Lines).
func appendJSONLine(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%s: %w", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected arguments %q", fs.Name(), fs.Args())
	}
	return nil
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkLoopbackURL refuses to send benchmark traffic anywhere but loopback.
func checkLoopbackURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("target %q must be an http:// URL on 127.0.0.1", raw)
	}
	if !isLoopbackHost(u.Hostname()) {
		return fmt.Errorf("target %q is not a loopback address; calibd-bench only talks to 127.0.0.1", raw)
	}
	return nil
}

// checkLoopbackDB accepts postgres URLs on loopback (or a Unix socket).
func checkLoopbackDB(raw string) error {
	if !strings.HasPrefix(raw, "postgres://") && !strings.HasPrefix(raw, "postgresql://") {
		return fmt.Errorf("--db must be a postgres:// URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("--db: %w", err)
	}
	if u.Hostname() == "" || isLoopbackHost(u.Hostname()) {
		return nil
	}
	return fmt.Errorf("--db host %q is not a loopback address", u.Hostname())
}

func addrIsLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--addr %q: %w", addr, err)
	}
	if !isLoopbackHost(host) {
		return fmt.Errorf("--addr %q must listen on 127.0.0.1", addr)
	}
	return nil
}
