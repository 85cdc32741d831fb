// Command calibd-bench is the tooling behind `make bench` (scripts/bench.sh,
// figures in docs/BENCHMARKS.md):
//
//	seed    migrate a PostgreSQL database with calibd's own migrations and
//	        grow it to N thermometers with COPY; write a seed file (token,
//	        sample ids, the hot venue) for the other subcommands
//	bare    the baseline: a minimal gin + gorm server doing the same indexed
//	        queries as calibd, with no auth, tenancy, logging or metrics
//	load    an HTTP load generator (one keep-alive connection per goroutine)
//	        reporting requests/s, exact latency percentiles and errors
//	import  time 10,000-row CSV imports through calibd's HTTP API
//	schedule time a scheduler tick (plan, then visits: calibd's own store
//	        code) with a chosen number of thermometers due
//	report  turn the collected results into the table in BENCHMARKS.md
//
// It only ever talks to loopback addresses.
//
// The bare server deliberately imports gin and gorm outside httpapi and
// store (STYLE.md §2): it must not share calibd's code to be a baseline.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `calibd-bench: benchmark tooling for calibd (see docs/BENCHMARKS.md)

Usage:
  calibd-bench seed   --db URL --devices N [--out seed.json] [--token T] [--bootstrap-token T]
  calibd-bench bare   --db URL [--addr 127.0.0.1:18081]
  calibd-bench load   --target BASE_URL (--mode get|list --seed seed.json | --url-file FILE)
                      [--token T] [--conns 2] [--duration 10s] [--warmup 2s] [--max-requests N]
                      [--server NAME] [--json-out results.jsonl] [--verify]
  calibd-bench import --target BASE_URL --token T [--venue ID] [--rows 10000] [--runs 3] [--json-out FILE]
  calibd-bench schedule --db URL [--due 10000] [--runs 3] [--json-out FILE]
  calibd-bench report --results results.jsonl [--import import.json] [--db URL] [--doc docs/BENCHMARKS.md]

BASE_URL is http://127.0.0.1:PORT/api/v1 for calibd and http://127.0.0.1:PORT for the bare server.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "calibd-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("a subcommand is required")
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "seed":
		return seedCmd(ctx, args, stdout, stderr)
	case "bare":
		return bareCmd(ctx, args, stderr)
	case "load":
		return loadCmd(ctx, args, stdout)
	case "import":
		return importCmd(ctx, args, stdout)
	case "schedule":
		return scheduleCmd(ctx, args, stdout)
	case "report":
		return reportCmd(ctx, args, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown subcommand %q\n\n%s", cmd, usage)
}
