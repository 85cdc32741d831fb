#!/usr/bin/env bash
# make bench: calibd's full HTTP stack against a bare gin+gorm server doing
# the same indexed queries, on PostgreSQL with 100,000 and 1,000,000
# thermometers, load from a second process on loopback at 2 and 50
# connections; then a 10,000-row CSV import; and at each size a scheduler
# tick (plan + visits) with 10,000 thermometers due. Writes the results section of
# docs/BENCHMARKS.md (method and analysis there are hand-written).
#
# Knobs (environment):
#   BENCH_DURATION  measured seconds per load run      (default 10s)
#   BENCH_WARMUP    unmeasured warm-up per load run    (default 2s)
#   BENCH_REPEAT    repetitions of every configuration (default 3; medians are reported)
#   BENCH_SIZES     device counts, ascending           (default "100000 1000000")
#   BENCH_PG        PostgreSQL server URL, loopback    (default postgres://postgres@127.0.0.1:5432)
#   BENCH_DUE       thermometers due in the scheduler tick (default 10000)
#   BENCH_KEEP_DB=1 keep the calibd_bench database afterwards (for profiling)
#   BENCH_DOC       where to write the results         (default docs/BENCHMARKS.md)
#
# With the defaults a run takes about 12-15 minutes on a quiet 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
REPEAT=${BENCH_REPEAT:-3}
DUE=${BENCH_DUE:-10000}
SIZES=${BENCH_SIZES:-"100000 1000000"}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
DOC=${BENCH_DOC:-docs/BENCHMARKS.md}
DB=calibd_bench
DBURL="$PG/$DB?sslmode=disable"
CALIBD_ADDR=127.0.0.1:18080
BARE_ADDR=127.0.0.1:18081
CALIBD_URL="http://$CALIBD_ADDR/api/v1"
BARE_URL="http://$BARE_ADDR"
BOOT=cdt_bench_bootstrap_regulator_admin_0123456789abcdef
OUT=bin/bench
BENCH=bin/calibd-bench

log() { printf '\n== %s  %s\n' "$(date -u +%H:%M:%S)" "$*"; }

case "$PG" in
  postgres://*@127.0.0.1:*|postgres://*@localhost:*|postgres://127.0.0.1:*|postgres://localhost:*) ;;
  *) echo "BENCH_PG must point at PostgreSQL on 127.0.0.1" >&2; exit 1 ;;
esac

log "building calibd and calibd-bench"
mkdir -p "$OUT"
go build -ldflags "-X main.version=$(git describe --always --dirty 2>/dev/null || echo dev)" -o bin/calibd ./cmd/calibd
go build -o "$BENCH" ./cmd/calibd-bench
rm -f "$OUT"/results.jsonl "$OUT"/import.json "$OUT"/meta.txt "$OUT"/seed.json "$OUT"/schedule.jsonl

pg_isready -h 127.0.0.1 -p "${PG##*:}" -q || { echo "PostgreSQL is not up on 127.0.0.1; see ARCHITECTURE.md" >&2; exit 1; }
psql_admin() { psql "$PG/postgres?sslmode=disable" -v ON_ERROR_STOP=1 -qAtc "$1"; }

CALIBD_PID=""
BARE_PID=""
stop_servers() {
  for pid in $CALIBD_PID $BARE_PID; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in $CALIBD_PID $BARE_PID; do
    wait "$pid" 2>/dev/null || true
  done
  CALIBD_PID=""
  BARE_PID=""
}
cleanup() {
  stop_servers
  if [ "${BENCH_KEEP_DB:-}" != 1 ]; then
    psql_admin "DROP DATABASE IF EXISTS $DB WITH (FORCE)" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_http() { # url [auth]
  for _ in $(seq 1 100); do
    if curl -sf -o /dev/null ${2:+-H "Authorization: Bearer $2"} "$1"; then return 0; fi
    sleep 0.2
  done
  echo "no answer from $1" >&2
  return 1
}

start_servers() {
  # The server's own scheduler stays idle: the tick is timed apart below.
  ENV=production DATABASE_URL="$DBURL" HTTP_ADDR="$CALIBD_ADDR" LOG_LEVEL=warn \
    SCHEDULE_PLAN=off SCHEDULE_VISITS=off SCHEDULE_OVERDUE=off \
    CALIBD_BOOTSTRAP_TOKEN="$BOOT" MQTT_URL=tcp://127.0.0.1:1883 \
    bin/calibd serve >>"$OUT/calibd.log" 2>&1 &
  CALIBD_PID=$!
  "$BENCH" bare --db "$DBURL" --addr "$BARE_ADDR" >>"$OUT/bare.log" 2>&1 &
  BARE_PID=$!
  wait_http "http://$CALIBD_ADDR/readyz"
  wait_http "$BARE_URL/thermometers?venue_id=00000000-0000-0000-0000-000000000000&status=in_service"
}

meta() { printf '%s: %s\n' "$1" "$2" >>"$OUT/meta.txt"; }
meta "Parameters" "$REPEAT repetitions x (${WARMUP} warm-up + ${DURATION} measured) per configuration; sizes $SIZES"
meta "calibd" "$(bin/calibd version)"

log "creating a fresh database $DB"
psql_admin "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
psql_admin "CREATE DATABASE $DB"

for size in $SIZES; do
  log "seeding to $size thermometers"
  t0=$(date +%s%N)
  "$BENCH" seed --db "$DBURL" --devices "$size" --bootstrap-token "$BOOT" --out "$OUT/seed.json"
  meta "Seeding to $size (migrate, COPY, index rebuild, VACUUM ANALYZE)" "$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f s", (b - a) / 1e9 }')"
  start_servers
  TOKEN=$(jq -r .token "$OUT/seed.json")
  log "checking both servers' answers at $size"
  # calibd's whole cursor chain (every in_service device of the hot venue
  # once, in id order, full pages); the bare server's first pages.
  "$BENCH" load --target "$CALIBD_URL" --seed "$OUT/seed.json" --mode list --verify --duration 1s --warmup 0s --conns 1 | grep verified
  "$BENCH" load --target "$BARE_URL" --seed "$OUT/seed.json" --mode list --verify --verify-pages 3 --duration 1s --warmup 0s --conns 1 | grep verified
  for target in "$CALIBD_URL" "$BARE_URL"; do
    "$BENCH" load --target "$target" --seed "$OUT/seed.json" --mode get --verify --duration 1s --warmup 0s --conns 1 | grep verified
  done
  meta "Load average before $size runs" "$(cut -d' ' -f1-3 /proc/loadavg)"
  for rep in $(seq 1 "$REPEAT"); do
    # Alternate which server goes first, so drift in the machine's load
    # does not favour one of them.
    if [ $((rep % 2)) -eq 1 ]; then order="calibd bare"; else order="bare calibd"; fi
    for mode in get list; do
      for conns in 2 50; do
        for server in $order; do
          if [ "$server" = calibd ]; then target=$CALIBD_URL pid=$CALIBD_PID; else target=$BARE_URL pid=$BARE_PID; fi
          "$BENCH" load --target "$target" --server "$server" --pid "$pid" --seed "$OUT/seed.json" --token "$TOKEN" \
            --mode "$mode" --conns "$conns" --duration "$DURATION" --warmup "$WARMUP" --rep "$rep" \
            --json-out "$OUT/results.jsonl"
        done
      done
    done
  done
  meta "Load average after $size runs" "$(cut -d' ' -f1-3 /proc/loadavg)"
  # The tick rewrites every due date and drops tasks and visits (the
  # servers stay up but idle: their schedulers are off), before the
  # import adds devices, so it runs on exactly $size.
  log "timing the scheduler tick at $size ($DUE due)"
  "$BENCH" schedule --db "$DBURL" --due "$DUE" --runs "$REPEAT" --json-out "$OUT/schedule.jsonl"
  if [ "$size" != "${SIZES##* }" ]; then stop_servers; fi
done

log "timing the CSV import of 10,000 rows (3 runs, fresh venues)"
import_args=()
if "$BENCH" import --target "$CALIBD_URL" --seed "$OUT/seed.json" --rows 10000 --runs 3 --json-out "$OUT/import.json"; then
  import_args=(--import "$OUT/import.json")
else
  meta "Import" "FAILED, see the log above; not measured"
fi
meta "Load average at the end" "$(cut -d' ' -f1-3 /proc/loadavg)"
stop_servers

log "results"
"$BENCH" report --results "$OUT/results.jsonl" "${import_args[@]}" --schedule "$OUT/schedule.jsonl" --meta "$OUT/meta.txt" --db "$DBURL" --doc "$DOC"
