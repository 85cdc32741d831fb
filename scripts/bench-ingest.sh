#!/usr/bin/env bash
# make bench-ingest: the MQTT ingest end to end on this machine.
#
#   calibd simulate -> Mosquitto (private, generated config) -> calibd serve -> PostgreSQL
#   calibd simulate -> calibd's embedded broker (mochi)      -> calibd serve -> PostgreSQL
#
# A fleet of BENCH_DEVICES thermometers is registered through the API (CSV
# import, one MQTT secret each); every check is a calibration-mode check, so
# each stored one updates its thermometer's drift detectors in the same
# transaction; every message is QoS 1 and calibd acknowledges it only after
# its batch committed. Each run publishes for DURATION seconds:
#
#   1. raw ceiling: the same publisher, unpaced, into a subscriber that only
#      counts (no calibd), through each broker;
#   2. calibd's sustained rate: the publisher unpaced with calibd
#      subscribed: readings committed per second while overdriven, then
#      while draining the broker's backlog; through each broker;
#   4. at BENCH_RATE (10,000/s) with one out-of-tolerance check injected
#      every BENCH_PROBE_EVERY: what was PUBACKed, stored and lost, and
#      publish-to-commit and publish-to-alert latencies; through each broker
#      (through the embedded one the publisher's PUBACK comes after the commit);
#   5. the same at 80 % of (2)'s sustained rate through Mosquitto: zero loss expected
#      (PUBACKed valid messages against distinct stored readings), and latencies at a load
#      calibd keeps up with;
#   6. calibd's memory (VmHWM, VmRSS) with the fleet, per broker.
#
# After a run, calibd gets at most BENCH_DRAIN seconds to finish the
# backlog; what is left then is discarded (calibd stopped, its broker
# session dropped, calibd started again) so the next run starts clean,
# and counts as not stored.
#
# Prints a markdown block of figures, also written to $BENCH_OUT/results.md.
# Method and how to read the figures: docs/BENCHMARKS.md, "Ingest benchmark".
#
# Knobs (environment):
#   DURATION           seconds each run publishes            (default 60; DURATION=10 for a smoke run)
#   BENCH_DEVICES      thermometers in the fleet             (default 10000)
#   BENCH_RATE         the fixed rate of run 4, msgs/s       (default 10000)
#   BENCH_CONNECTIONS  the publisher's MQTT connections in the Mosquitto runs: 0 = one per
#                      device, logged in as the device (default; the embedded broker needs
#                      that), K = the fleet multiplexed over K anonymous connections
#   BENCH_NOISE        check noise σ in °C                   (default 0.02; see the docs)
#   BENCH_WINDOW       Mosquitto max_inflight_messages        (default 5000; the embedded
#                      broker hands messages to calibd in process)
#   BENCH_PROBE_EVERY  out-of-tolerance injection interval   (default 1s)
#   BENCH_DRAIN        seconds calibd may drain after a run  (default 2 × DURATION, at least 30)
#   BENCH_PG           PostgreSQL server URL, loopback       (default postgres://postgres@127.0.0.1:5432)
#   BENCH_OUT          where logs and results go             (default bin/bench-ingest)
#   BENCH_KEEP_DB=1    keep the database afterwards (its name is printed)
#   BENCH_PPROF=1      serve calibd's pprof and save a CPU profile of each overdriven run
#   MOSQUITTO          the mosquitto binary                  (default: from PATH, else /usr/sbin/mosquitto)
#   INGEST_WORKERS, INGEST_BATCH, INGEST_BATCH_WAIT, INGEST_QUEUE, DB_MAX_CONNS, GOGC reach calibd as set.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-60}
DEVICES=${BENCH_DEVICES:-10000}
FIXED_RATE=${BENCH_RATE:-10000}
CONNECTIONS=${BENCH_CONNECTIONS:-0}
NOISE=${BENCH_NOISE:-0.02}
WINDOW=${BENCH_WINDOW:-5000}
PROBE_EVERY=${BENCH_PROBE_EVERY:-1s}
DRAIN=${BENCH_DRAIN:-$(( 2 * DURATION > 30 ? 2 * DURATION : 30 ))}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
OUT=${BENCH_OUT:-bin/bench-ingest}
MOSQUITTO=${MOSQUITTO:-$(command -v mosquitto || echo /usr/sbin/mosquitto)}
DB=calibd_bench_ingest_$$
DBURL="$PG/$DB?sslmode=disable"
BOOT=cdt_bench_ingest_regulator_admin_0123456789abcdef
CLIENT_ID=calibd-bench-ingest
SEED=20261129
WARM=$(( DURATION / 5 > 2 ? DURATION / 5 : 2 )) # seconds of an overdriven run left out of its rate

log() {
  local line
  line=$(printf '== %s  %s' "$(date -u +%H:%M:%S)" "$*")
  echo "$line" >&2
  if [ -d "$OUT" ]; then echo "$line" >>"$OUT/bench.log"; fi
}
die() { log "$*"; exit 1; }

case "$PG" in
  postgres://*@127.0.0.1:*|postgres://*@localhost:*|postgres://127.0.0.1:*|postgres://localhost:*) ;;
  *) die "BENCH_PG must point at PostgreSQL on this machine (127.0.0.1)" ;;
esac
[ -x "$MOSQUITTO" ] || die "mosquitto is not installed (apt-get install mosquitto), or set MOSQUITTO"
for tool in curl jq psql pg_isready awk go; do
  command -v "$tool" >/dev/null || die "$tool is required"
done
[ "$DURATION" -ge 5 ] || die "DURATION must be at least 5 seconds"
pg_isready -h 127.0.0.1 -p "${PG##*:}" -q || die "PostgreSQL is not up on 127.0.0.1 (see ARCHITECTURE.md)"

mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/*.log "$OUT"/*.txt "$OUT"/*.csv "$OUT"/*.conf "$OUT"/results.md
BIN=bin/calibd
log "building calibd"
go build -ldflags "-X main.version=$(git describe --always --dirty 2>/dev/null || echo dev)" -o "$BIN" ./cmd/calibd

# --- processes, ports, cleanup -------------------------------------------------------------

CALIBD_PID="" CALIBD_MODE="" MOSQ_PID="" BG_PIDS=""
stop_pid() { # TERM, up to 30 s, then KILL
  local pid=$1
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  set +e
  for pid in $BG_PIDS; do stop_pid "$pid"; done
  stop_pid "$CALIBD_PID"
  stop_pid "$MOSQ_PID"
  if [ "${BENCH_KEEP_DB:-}" = 1 ]; then
    log "kept database $DB"
  else
    psql "$PG/postgres?sslmode=disable" -qAtc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
USED_PORTS=""
free_port() { # below the ephemeral range (32768 and up), which the fleet's connections use
  local p
  for _ in $(seq 1 200); do
    p=$(( 20000 + RANDOM % 12000 ))
    if ! port_taken "$p" && [[ " $USED_PORTS " != *" $p "* ]]; then
      USED_PORTS="$USED_PORTS $p"
      echo "$p"
      return
    fi
  done
  die "no free port found"
}
MPORT=$(free_port); HPORT=$(free_port); EPORT=$(free_port); CPORT=$(free_port); PPORT=$(free_port)
API="http://127.0.0.1:$HPORT"
MQ="tcp://127.0.0.1:$MPORT"
EMB="tcp://127.0.0.1:$EPORT"

wait_for() { # seconds what command...
  local secs=$1 what=$2
  shift 2
  for _ in $(seq 1 $((secs * 10))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  die "timed out waiting for $what"
}
in_log() { grep -q "$2" "$1"; }

start_mosquitto() {
  # What lossless operation needs (README, docs/design-ingest.md): calibd
  # acknowledges after commit, so its in-flight window and queue must be wide.
  cat >"$OUT/mosquitto.conf" <<EOF
listener $MPORT 127.0.0.1
allow_anonymous true
max_inflight_messages $WINDOW
max_queued_messages 100000
persistence false
log_dest stderr
log_type error
log_type warning
EOF
  "$MOSQUITTO" -c "$OUT/mosquitto.conf" >>"$OUT/mosquitto.log" 2>&1 &
  MOSQ_PID=$!
  wait_for 10 "mosquitto on port $MPORT" port_taken "$MPORT"
}

start_calibd() { # mosquitto | embedded
  local mqtt=(MQTT_URL="$MQ")
  [ "$1" = mosquitto ] || mqtt=(MQTT_URL= MQTT_EMBEDDED_ADDR="127.0.0.1:$EPORT")
  env DATABASE_URL="$DBURL" HTTP_ADDR="127.0.0.1:$HPORT" CALIBD_BOOTSTRAP_TOKEN="$BOOT" MQTT_CLIENT_ID="$CLIENT_ID" \
    "${mqtt[@]}" LOG_LEVEL=warn MIGRATE_ON_START=false PPROF_ADDR="${BENCH_PPROF:+127.0.0.1:$PPORT}" \
    SCHEDULE_PLAN=off SCHEDULE_VISITS=off SCHEDULE_OVERDUE=off SCHEDULE_LIFTS=off SCHEDULE_SILENT=off \
    "$BIN" serve >>"$OUT/calibd-$1.log" 2>&1 &
  CALIBD_PID=$! CALIBD_MODE=$1
  wait_for 60 "calibd /readyz" curl -sf "$API/readyz"
  # Its memory every second, to see when peaks happen.
  (while kill -0 "$CALIBD_PID" 2>/dev/null; do
    echo "$(date -u +%H:%M:%S) $(awk '/^VmRSS/ { print $2 }' "/proc/$CALIBD_PID/status" 2>/dev/null)"
    sleep 1
  done >>"$OUT/calibd-$1-rss.log") &
  BG_PIDS="$BG_PIDS $!"
}
# stop_calibd records the process's peak and current memory first (in
# HWM_<mode> as the largest peak of that mode's processes, and RSS_<mode>).
HWM_mosquitto=0 HWM_embedded=0 RSS_mosquitto=0 RSS_embedded=0
stop_calibd() {
  if [ -n "$CALIBD_PID" ]; then
    local hwm peak="HWM_$CALIBD_MODE"
    hwm=$(mem_mib "$CALIBD_PID" VmHWM)
    if [ "$hwm" -gt "${!peak}" ]; then printf -v "$peak" '%s' "$hwm"; fi
    printf -v "RSS_$CALIBD_MODE" '%s' "$(mem_mib "$CALIBD_PID" VmRSS)"
  fi
  stop_pid "$CALIBD_PID"
  CALIBD_PID=""
}

# --- measuring -----------------------------------------------------------------------------

sql() { psql "$DBURL" -v ON_ERROR_STOP=1 -qAt -F ' ' "$@"; }
metrics() { curl -sf -m 30 "$API/metrics" || die "calibd did not answer /metrics"; }
metric() { # the sum of a calibd metric's series
  metrics | awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $NF } END { printf "%.0f\n", s }'
}
handled() { # messages calibd is done with: stored, skipped as duplicates, dead-lettered
  metrics | awk '$1 == "calibd_ingest_messages_stored_total" || $1 == "calibd_ingest_messages_duplicate_total" ||
    index($1, "calibd_ingest_messages_dead_lettered_total{") == 1 { s += $NF } END { printf "%.0f\n", s }'
}
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"$1\", ($2) }"; }
TCK=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
mem_mib() { awk -v k="$2:" '$1 == k { printf "%.0f\n", $2 / 1024 }' "/proc/$1/status"; }
jqn() { jq -r "$1" "$2"; }

# drain: until calibd's handled count stops growing for 3 s with its queue
# empty, or BENCH_DRAIN seconds. Sets DRAIN_LAST (epoch seconds of the last
# growth) and DISCARDED (1 when BENCH_DRAIN ran out: calibd is then stopped,
# which commits what its own queue holds, and started again without its
# broker session, so the next run starts clean).
drain() {
  local last cur since t deadline
  last=$(handled) since=$(now) DRAIN_LAST=$(now) DISCARDED=0
  deadline=$(calc '%.0f' "$(now) + $DRAIN")
  while [ "$(calc '%d' "$(now) < $deadline")" = 1 ]; do
    sleep 0.5
    cur=$(handled) t=$(now)
    echo "$t $cur $(metric calibd_ingest_queue_depth)" >>"$OUT/drain.log"
    if [ "$cur" != "$last" ]; then
      last=$cur since=$t DRAIN_LAST=$t
    elif [ "$(metric calibd_ingest_queue_depth)" = 0 ] && [ "$(calc '%d' "$t - $since >= 3")" = 1 ]; then
      return 0
    fi
  done
  local mode=$CALIBD_MODE
  log "calibd still busy after ${DRAIN}s; discarding its backlog"
  stop_calibd
  if [ "$mode" = mosquitto ]; then
    # A clean-session login under calibd's client id drops its session and queue.
    "$BIN" simulate -count-only -broker "$MQ" -client-id "$CLIENT_ID" -duration 1s >/dev/null 2>>"$OUT/discard.log"
  fi
  DISCARDED=1
  start_calibd "$mode"
}

# histogram_q before after name q: the upper bound of the bucket holding
# quantile q of a calibd histogram's observations between two snapshots.
histogram_q() {
  awk -v n="$3_bucket" -v q="$4" '
    FNR == NR { if (index($1, n "{") == 1) before[$1] = $NF; next }
    index($1, n "{") == 1 { le = $1; sub(/.*le="/, "", le); sub(/".*/, "", le); b[++k] = le; c[k] = $NF - before[$1] }
    END {
      if (k == 0 || c[k] <= 0) { print "n/a"; exit }
      for (i = 1; i <= k; i++) if (c[i] >= q * c[k]) { print (b[i] == "+Inf" ? "> 60 s" : "≤ " b[i] * 1000 " ms"); exit }
    }' "$1" "$2"
}

# sim label broker_url args...: one publishing run; its summary lands in
# $OUT/$label.json. Each label has a seed of its own, so each run injects
# its out-of-tolerance checks into other thermometers (a device's alert of
# an earlier run would still be open).
sim() {
  local label=$1 url=$2
  shift 2
  "$BIN" simulate -credentials "$OUT/fleet.csv" -broker "$url" -seed "$((SEED + $(cksum <<<"$label" | cut -d' ' -f1)))" \
    -noise "$NOISE" -faults 0 \
    -summary-json "$OUT/$label.json" "$@" >"$OUT/$label.txt" 2>"$OUT/$label.log"
}

# raw label broker_url connections [counter flags...]: the publisher
# unpaced into a counting subscriber. Sets RAW (msgs/s the counter
# received) and RAW_GOT ("received of PUBACKed").
raw() {
  local label=$1 url=$2 conns=$3
  shift 3
  "$BIN" simulate -count-only -summary-json "$OUT/$label-count.json" "$@" \
    >"$OUT/$label-count.txt" 2>"$OUT/$label-count.log" &
  local cpid=$!
  BG_PIDS="$BG_PIDS $cpid"
  wait_for 30 "the counting subscriber" in_log "$OUT/$label-count.log" "counter subscribed"
  sim "$label" "$url" -rate 0 -duration "${DURATION}s" -connections "$conns"
  sleep 3 # what the broker still holds for the counter
  kill -INT "$cpid"
  wait "$cpid"
  RAW=$(jqn '.rate | floor' "$OUT/$label-count.json")
  RAW_GOT="$(n "$(jqn .messages "$OUT/$label-count.json")") of $(n "$(jqn .acked "$OUT/$label.json")")"
}

# overdriven label broker_url connections: the publisher unpaced with
# calibd subscribed. Sets LOAD_RATE (readings committed/s while publishing,
# after WARM s), DRAIN_RATE (committed/s on the backlog afterwards),
# BACKLOG, LOST (PUBACKed, never stored), CPU (calibd, % of one core).
overdriven() {
  local label=$1 url=$2 conns=$3 r0 r2 r3 s1 s2 t0 t1 t2 c0 c1
  r0=$(sql -c "SELECT count(*) FROM readings") c0=$(cpu_ticks "$CALIBD_PID") t0=$(now)
  sim "$label" "$url" -rate 0 -duration "${DURATION}s" -connections "$conns" &
  local spid=$!
  BG_PIDS="$BG_PIDS $spid"
  wait_for 120 "the fleet to connect" in_log "$OUT/$label.log" "fleet connected"
  sleep "$WARM"
  # BENCH_PPROF=1: a CPU profile of calibd while overdriven (go tool pprof).
  if [ -n "${BENCH_PPROF:-}" ]; then
    curl -s -m $((DURATION + 30)) -o "$OUT/$label.cpu.pprof" \
      "http://127.0.0.1:$PPORT/debug/pprof/profile?seconds=$((DURATION > 4 ? DURATION - 3 : 1))" &
  fi
  s1=$(metric calibd_ingest_messages_stored_total) t1=$(now)
  wait "$spid"
  s2=$(metric calibd_ingest_messages_stored_total) t2=$(now) c1=$(cpu_ticks "$CALIBD_PID")
  r2=$(sql -c "SELECT count(*) FROM readings")
  CPU=$(calc '%.0f' "100 * ($c1 - $c0) / $TCK / ($t2 - $t0)")
  drain
  r3=$(sql -c "SELECT count(*) FROM readings")
  LOAD_RATE=$(calc '%.0f' "($s2 - $s1) / ($t2 - $t1)")
  BACKLOG=$(( r3 - r2 ))
  DRAIN_RATE=n/a
  if [ "$(calc '%d' "$DRAIN_LAST - $t2 > 1")" = 1 ]; then
    DRAIN_RATE=$(calc '%.0f' "$BACKLOG / ($DRAIN_LAST - $t2)")
  fi
  LOST=$(( $(jqn .acked_valid "$OUT/$label.json") - (r3 - r0) ))
}

# paced label broker_url rate connections: a run at a fixed rate with an
# out-of-tolerance check every BENCH_PROBE_EVERY, watched for through the
# API. Sets P_RATE P_ACKED P_STORED P_LOST P_RX50 P_RX99 P_ACK50 P_ACK99
# P_COMMIT50 P_PROBES P_ALERT_N P_ALERT50 P_ALERT99 P_SEEN P_SEEN50
# P_SEEN99 P_CPU P_RSS P_AGE50 P_AGE99 P_PUBACK50 P_PUBACK99 P_HELD50 P_HELD99.
paced() {
  local label=$1 url=$2 rate=$3 conns=$4 c0 t0 start stop
  metrics >"$OUT/$label-metrics-before.txt"
  c0=$(cpu_ticks "$CALIBD_PID") t0=$(now)
  sim "$label" "$url" -rate "$rate" -duration "${DURATION}s" -connections "$conns" \
    -inject-oot-every "$PROBE_EVERY" -watch-alerts -api "$API" -token "$BOOT" -probe-log "$OUT/$label-probes.csv" \
    -drain-timeout 30s
  P_CPU=$(calc '%.0f' "100 * ($(cpu_ticks "$CALIBD_PID") - $c0) / $TCK / ($(now) - $t0)")
  P_RSS=$(mem_mib "$CALIBD_PID" VmRSS)
  metrics >"$OUT/$label-metrics-after.txt" # before draining: the histograms of the run itself
  drain
  start=$(jqn .started "$OUT/$label.json") stop=$(jqn .stopped "$OUT/$label.json")
  P_RATE=$(jqn '.rate | floor' "$OUT/$label.json") P_ACKED=$(jqn .acked_valid "$OUT/$label.json")
  P_PROBES=$(jqn .probes "$OUT/$label.json") P_SEEN=$(jqn .probe_alerts_seen "$OUT/$label.json")
  P_SEEN50=$(jqn '.probe_alert_p50_ms * 10 | round / 10' "$OUT/$label.json")
  P_SEEN99=$(jqn '.probe_alert_p99_ms * 10 | round / 10' "$OUT/$label.json")
  # Distinct stored: (device_id, seq) is the key, and every reading of
  # this run carries a ts inside its publishing window.
  read -r P_STORED P_RX50 P_RX99 < <(sql -c "
    SELECT count(*),
      coalesce(round((1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM received_at - ts)))::numeric, 1)::text, 'n/a'),
      coalesce(round((1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM received_at - ts)))::numeric, 1)::text, 'n/a')
    FROM readings WHERE ts BETWEEN '$start' AND '$stop'")
  P_LOST=$(( P_ACKED - P_STORED ))
  read -r P_ALERT_N P_ALERT50 P_ALERT99 < <(sql <<EOF
CREATE TEMP TABLE probes (device_id uuid, seq bigint, published_at timestamptz, acked_at text,
  alert_seen_at text, alert_created_at text, alert_existed text);
\copy probes FROM '$OUT/$label-probes.csv' WITH (FORMAT csv, HEADER true)
SELECT count(*),
  coalesce(round((1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM a.created_at - p.published_at)))::numeric, 1)::text, 'n/a'),
  coalesce(round((1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM a.created_at - p.published_at)))::numeric, 1)::text, 'n/a')
FROM probes p JOIN alerts a ON a.device_id = p.device_id AND a.kind = 'out_of_tolerance' AND a.first_at = p.published_at;
EOF
  )
  P_ACK50=$(histogram_q "$OUT/$label-metrics-before.txt" "$OUT/$label-metrics-after.txt" calibd_ingest_ack_latency_seconds 0.5)
  P_ACK99=$(histogram_q "$OUT/$label-metrics-before.txt" "$OUT/$label-metrics-after.txt" calibd_ingest_ack_latency_seconds 0.99)
  P_COMMIT50=$(histogram_q "$OUT/$label-metrics-before.txt" "$OUT/$label-metrics-after.txt" calibd_ingest_commit_duration_seconds 0.5)
  P_AGE50=$(histogram_q "$OUT/$label-metrics-before.txt" "$OUT/$label-metrics-after.txt" calibd_ingest_reading_age_seconds 0.5)
  P_AGE99=$(histogram_q "$OUT/$label-metrics-before.txt" "$OUT/$label-metrics-after.txt" calibd_ingest_reading_age_seconds 0.99)
  P_HELD50=$(histogram_q "$OUT/$label-metrics-before.txt" "$OUT/$label-metrics-after.txt" calibd_ingest_receipt_to_commit_seconds 0.5)
  P_HELD99=$(histogram_q "$OUT/$label-metrics-before.txt" "$OUT/$label-metrics-after.txt" calibd_ingest_receipt_to_commit_seconds 0.99)
  # The publisher's own publish → PUBACK: the broker answers it without
  # waiting for calibd, so this is the floor the machine puts under any
  # publish → commit figure.
  P_PUBACK50=$(jqn '.ack_p50_ms * 10 | round / 10' "$OUT/$label.json")
  P_PUBACK99=$(jqn '.ack_p99_ms * 10 | round / 10' "$OUT/$label.json")
}

n() { # thousands separators; anything not a number as is
  if [[ $1 =~ ^-?[0-9]+$ ]]; then
    awk -v x="$1" 'BEGIN { s = x < 0 ? "-" : ""; x = x < 0 ? -x : x; o = ""; while (x >= 1000) { o = sprintf(",%03d", x % 1000) o; x = int(x / 1000) } print s x o }'
  else
    echo "$1"
  fi
}

# --- the runs ------------------------------------------------------------------------------

MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
META_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
META_MACHINE="$(nproc) × ${MODEL:-unknown CPU}, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM, Linux $(uname -r)"
META_GO=$(go env GOVERSION)
META_MOSQ=$( ("$MOSQUITTO" -h 2>/dev/null || true) | awk 'NR == 1 { print $3 }')
META_PG=$(psql "$PG/postgres?sslmode=disable" -qAtc 'SHOW server_version' | awk '{ print $1 }')
META_CALIBD=$("$BIN" version)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
T_BEGIN=$(now)

log "creating database $DB and migrating it"
psql "$PG/postgres?sslmode=disable" -v ON_ERROR_STOP=1 -qAtc "CREATE DATABASE $DB" >/dev/null
DATABASE_URL="$DBURL" "$BIN" migrate up >>"$OUT/calibd-migrate.log" 2>&1

log "provisioning $DEVICES thermometers through the API (CSV import, a secret each)"
start_calibd embedded
t0=$(now)
"$BIN" simulate -provision -provision-only -api "$API" -token "$BOOT" -devices "$DEVICES" -lifts 0 \
  -credentials "$OUT/fleet.csv" >"$OUT/provision.txt" 2>"$OUT/provision.log"
PROVISION_S=$(calc '%.0f' "$(now) - $t0")
stop_calibd

log "1. raw ceiling through Mosquitto"
start_mosquitto
raw raw-mosquitto "$MQ" "$CONNECTIONS" -broker "$MQ"
RAW_MQ=$RAW RAW_MQ_GOT=$RAW_GOT

log "1. raw ceiling through the embedded broker (mochi with calibd's device logins, forwarding to the counter; devices from the credentials file)"
raw raw-embedded "tcp://127.0.0.1:$CPORT" 0 -embedded "127.0.0.1:$CPORT" -credentials "$OUT/fleet.csv"
RAW_EMB=$RAW RAW_EMB_GOT=$RAW_GOT

log "2. calibd on Mosquitto, overdriven"
start_calibd mosquitto
overdriven max-mosquitto "$MQ" "$CONNECTIONS"
MAX_MQ=$LOAD_RATE DRAIN_MQ=$DRAIN_RATE BACKLOG_MQ=$BACKLOG LOST_MAX_MQ=$LOST CPU_MAX_MQ=$CPU

log "4. calibd on Mosquitto at $FIXED_RATE/s, an out-of-tolerance check every $PROBE_EVERY"
paced fixed "$MQ" "$FIXED_RATE" "$CONNECTIONS"
F=("$P_RATE" "$P_ACKED" "$P_STORED" "$P_LOST" "$P_RX50" "$P_RX99" "$P_ACK50" "$P_ACK99" "$P_COMMIT50" "$P_PROBES"
  "$P_ALERT_N" "$P_ALERT50" "$P_ALERT99" "$P_SEEN" "$P_SEEN50" "$P_SEEN99" "$P_CPU" "$P_RSS" "$DISCARDED"
  "$P_AGE50" "$P_AGE99" "$P_PUBACK50" "$P_PUBACK99" "$P_HELD50" "$P_HELD99")

# calibd's rate for run 5 is its sustained rate in (2), with the publisher
# running: run 5 has the publisher running too. (The drain rate, with the
# publisher idle, is higher; 80 % of it overloaded calibd once the
# publisher shared the cores: 117,000 messages past Mosquitto's queue in
# the 60 s run of 2026-11-30.)
CALIBD_MQ=$MAX_MQ
RATE80=$(( CALIBD_MQ * 8 / 10 ))
[ "$RATE80" -ge 1 ] || RATE80=1
log "5. calibd on Mosquitto at 80 % of its rate in (2), $(n "$CALIBD_MQ")/s: $RATE80/s"
paced eighty "$MQ" "$RATE80" "$CONNECTIONS"
E=("$P_RATE" "$P_ACKED" "$P_STORED" "$P_LOST" "$P_RX50" "$P_RX99" "$P_ACK50" "$P_ACK99" "$P_COMMIT50" "$P_PROBES"
  "$P_ALERT_N" "$P_ALERT50" "$P_ALERT99" "$P_SEEN" "$P_SEEN50" "$P_SEEN99" "$P_CPU" "$P_RSS" "$DISCARDED"
  "$P_AGE50" "$P_AGE99" "$P_PUBACK50" "$P_PUBACK99" "$P_HELD50" "$P_HELD99")
stop_calibd
stop_pid "$MOSQ_PID"
MOSQ_PID=""

log "2. calibd on its embedded broker, overdriven (one connection per device)"
start_calibd embedded
overdriven max-embedded "$EMB" 0
MAX_EMB=$LOAD_RATE DRAIN_EMB=$DRAIN_RATE BACKLOG_EMB=$BACKLOG LOST_MAX_EMB=$LOST CPU_MAX_EMB=$CPU

log "4. calibd on its embedded broker at $FIXED_RATE/s, an out-of-tolerance check every $PROBE_EVERY"
paced fixed-embedded "$EMB" "$FIXED_RATE" 0
FE=("$P_RATE" "$P_ACKED" "$P_STORED" "$P_LOST" "$P_RX50" "$P_RX99" "$P_ACK50" "$P_ACK99" "$P_COMMIT50" "$P_PROBES"
  "$P_ALERT_N" "$P_ALERT50" "$P_ALERT99" "$P_SEEN" "$P_SEEN50" "$P_SEEN99" "$P_CPU" "$P_RSS" "$DISCARDED"
  "$P_AGE50" "$P_AGE99" "$P_PUBACK50" "$P_PUBACK99" "$P_HELD50" "$P_HELD99")
stop_calibd
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
TOTAL_MIN=$(calc '%.0f' "($(now) - $T_BEGIN) / 60")

# --- report --------------------------------------------------------------------------------

pct() { if [[ $1 =~ ^[0-9]+$ && $2 =~ ^[0-9]+$ && $2 -gt 0 ]]; then calc '%.0f %%' "100 * $1 / $2"; else echo n/a; fi; }
loss() { if [ "$1" = 0 ]; then echo "none"; else echo "**$(n "$1")**"; fi; }
discarded() { # a run's loss, when its backlog was discarded
  if [ "$1" != 0 ] && [ "$2" != 0 ]; then echo " (calibd had not caught up ${DRAIN} s after the run; the rest was discarded)"; fi
}
conns_text="one MQTT connection per device"
[ "$CONNECTIONS" = 0 ] || conns_text="the fleet over $CONNECTIONS anonymous connections to Mosquitto, one per device to the embedded broker"
ingest_env=""
for v in INGEST_WORKERS INGEST_BATCH INGEST_BATCH_WAIT INGEST_QUEUE DB_MAX_CONNS GOGC; do
  [ -z "${!v:-}" ] || ingest_env="$ingest_env $v=${!v}"
done
row() { echo "| $1 | $2 | $3 | $4 |"; }
# fig array what: one cell of a paced run's figures (array F, E or FE; - for none).
fig() {
  [ "$1" != - ] || return 0
  local -n A=$1
  case $2 in
    acked) echo "$(n "${A[0]}"); $(n "${A[1]}"); $(n "${A[2]}"); $(loss "${A[3]}")$(discarded "${A[18]}" "${A[3]}")" ;;
    age) echo "${A[19]} / ${A[20]}" ;;
    held) echo "${A[23]} / ${A[24]}" ;;
    puback) echo "${A[21]} / ${A[22]} ms" ;;
    rx) echo "${A[4]} / ${A[5]} ms" ;;
    ack) echo "${A[6]} / ${A[7]}" ;;
    commit) echo "${A[8]}" ;;
    alert) echo "${A[11]} / ${A[12]} ms (${A[10]} of ${A[9]})" ;;
    seen) echo "${A[14]} / ${A[15]} ms (${A[13]} of ${A[9]})" ;;
    cpu) echo "${A[16]} %; ${A[17]} MiB" ;;
  esac
}
{
  echo "### Ingest benchmark, $META_DATE"
  echo
  echo "$META_MACHINE; Go $META_GO; Mosquitto $META_MOSQ; PostgreSQL $META_PG; calibd $META_CALIBD."
  echo "Load average before $LOAD_BEFORE, after $LOAD_AFTER (a shared machine); $TOTAL_MIN minutes in all."
  echo "Fleet: $(n "$DEVICES") thermometers registered through the API in $PROVISION_S s (CSV import, one MQTT secret"
  echo "each); $conns_text; QoS 1; calibration-mode checks, noise σ $NOISE °C, no bad payloads;"
  echo "$DURATION s of publishing per run. calibd: ingest settings${ingest_env:- at their defaults}; schedulers off."
  echo
  row "#" "measurement" "Mosquitto $META_MOSQ" "embedded broker"
  row "---" "---" "---" "---"
  row 1 "raw ceiling: publisher → broker → counting subscriber, msgs/s" "$(n "$RAW_MQ")" "$(n "$RAW_EMB")"
  row 1 "messages the counter received, of those PUBACKed" "$RAW_MQ_GOT" "$RAW_EMB_GOT"
  row 2 "calibd overdriven: readings committed/s (after the first $WARM s); of raw" "$(n "$MAX_MQ"); $(pct "$MAX_MQ" "$RAW_MQ")" "$(n "$MAX_EMB"); $(pct "$MAX_EMB" "$RAW_EMB")"
  row 2 "calibd draining the backlog afterwards: readings committed/s (backlog)" "$(n "$DRAIN_MQ") ($(n "$BACKLOG_MQ"))" "$(n "$DRAIN_EMB") ($(n "$BACKLOG_EMB"))"
  row 2 "calibd CPU while overdriven (100 % = one core)" "$CPU_MAX_MQ %" "$CPU_MAX_EMB %"
  row 2 "PUBACKed but not stored (dropped by the broker while overdriven, or discarded)" "$(n "$LOST_MAX_MQ")" "$(n "$LOST_MAX_EMB")"
  for run in F E; do
    emb=-
    if [ "$run" = F ]; then k=4 what="at $(n "$FIXED_RATE")/s offered" emb=FE; else k=5 what="at 80 % of $(n "$CALIBD_MQ")/s, $(n "$RATE80")/s offered"; fi
    row "$k" "$what: PUBACKed/s; valid PUBACKed; distinct stored; lost" "$(fig $run acked)" "$(fig $emb acked)"
    row "$k" "publish → commit (calibd_ingest_reading_age_seconds), p50 / p99 (histogram bucket)" "$(fig $run age)" "$(fig $emb age)"
    row "$k" "calibd's part: receipt → commit (calibd_ingest_receipt_to_commit_seconds), p50 / p99 (histogram bucket)" "$(fig $run held)" "$(fig $emb held)"
    row "$k" "the publisher's publish → PUBACK, p50 / p99 (Mosquitto answers without calibd; the embedded broker after the commit)" "$(fig $run puback)" "$(fig $emb puback)"
    row "$k" "publish → batch start (readings.received_at − ts), p50 / p99" "$(fig $run rx)" "$(fig $emb rx)"
    row "$k" "calibd receipt → acknowledgement after commit, p50 / p99 (histogram bucket)" "$(fig $run ack)" "$(fig $emb ack)"
    row "$k" "batch commit, p50 (histogram bucket)" "$(fig $run commit)" "$(fig $emb commit)"
    row "$k" "publish → alert row (alerts.created_at − ts), p50 / p99 (probes with an alert row, of probes)" "$(fig $run alert)" "$(fig $emb alert)"
    row "$k" "publish → alert visible through the API (polled every 10 ms), p50 / p99 (seen, of probes)" "$(fig $run seen)" "$(fig $emb seen)"
    row "$k" "calibd CPU (100 % = one core); VmRSS at the end" "$(fig $run cpu)" "$(fig $emb cpu)"
  done
  row 6 "calibd memory with the fleet: VmHWM (peak) / VmRSS at the end" "$HWM_mosquitto / $RSS_mosquitto MiB" "$HWM_embedded / $RSS_embedded MiB"
} >"$OUT/results.md"
cat "$OUT/results.md"
