# Shared by bench/engine.sh and bench/callbacks.sh (sourced, not run). Provides:
#   BIN        the release binary (built here)
#   start_cluster          a private cluster in $DIR (unix socket, fsync=off), as the postgres
#                          OS user when root; cleaned up by the EXIT trap with every process
#                          registered through `track PID`
#   new_db NAME            an empty migrated database; prints its DATABASE_URL conninfo
#                          (NEW_DB_SQL, if set, runs in it after migrating: schema experiments)
#   load_messages URL PROVIDER N [STATE]   N messages (+ bodies) for PROVIDER in one campaign,
#                          bulk-inserted with SQL (pending, due now; or STATE 'accepted' with a
#                          provider_message_id 'SM…' and accepted_at)
#   free_port, wait_port PORT, timed FILE CMD…, peak_rss_mb FILE, now_s
set -euo pipefail
export PATH="/opt/swift/usr/bin:$PATH"

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$PGBIN/initdb" ] || { echo "PostgreSQL server binaries missing: apt-get install -y postgresql" >&2; exit 1; }
PSQL="$PGBIN/psql"
PGBENCH="$PGBIN/pgbench"
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null 2>&1 || true

build_release() {
  swift build -c release --product dispatcher 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]|^Building|^Build complete|^Compiling|^Write' || true
  test "${PIPESTATUS[0]}" -eq 0
  BIN=$(swift build -c release --show-bin-path)/dispatcher
}

PIDS=()
track() { PIDS+=("$1"); }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
PGUSER_NAME=$([ "$(id -u)" = 0 ] && echo postgres || id -un)
DIR=$(mktemp -d /tmp/dispatcher-bench.XXXXXX)
chmod 755 "$DIR"
[ "$(id -u)" = 0 ] && chown postgres: "$DIR"
cleanup() {
  for p in "${PIDS[@]:-}"; do
    [ -n "$p" ] && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
  done
  as_pg "$PGBIN/pg_ctl" stop -D "$DIR/data" -m immediate >/dev/null 2>&1 || true
  # KEEP_PG_LOG=FILE keeps the server's log (with PG_EXTRA_OPTS="-c shared_preload_libraries=auto_explain ...")
  if [ -n "${KEEP_PG_LOG:-}" ]; then cp "$DIR/server.log" "$KEEP_PG_LOG" 2>/dev/null || true; fi
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_cluster() {
  as_pg "$PGBIN/initdb" -D "$DIR/data" -U "$PGUSER_NAME" --auth=trust --encoding=UTF8 --no-locale --no-sync >/dev/null
  # fsync off: a benchmark of the worker's and the server's CPU, not of this machine's disk.
  as_pg "$PGBIN/pg_ctl" start -w -D "$DIR/data" -l "$DIR/server.log" \
    -o "-c listen_addresses='' -k '$DIR' -p 5432 -c fsync=off -c max_wal_size=4GB -c shared_buffers=256MB -c max_connections=200 ${PG_EXTRA_OPTS:-}" >/dev/null
  export PGHOST="$DIR" PGPORT=5432 PGUSER="$PGUSER_NAME"
}

new_db() {
  "$PSQL" -qAt -d postgres -c "CREATE DATABASE $1" >/dev/null
  local url="host=$DIR port=5432 dbname=$1 user=$PGUSER_NAME"
  DATABASE_URL="$url" "$BIN" migrate >/dev/null
  if [ -n "${NEW_DB_SQL:-}" ]; then "$PSQL" -qAt "$url" -c "$NEW_DB_SQL" >/dev/null; fi
  echo "$url"
}

load_messages() {
  local url=$1 provider=$2 n=$3 state=${4:-pending}
  "$PSQL" -qAt -v ON_ERROR_STOP=1 -d "$url" >/dev/null <<SQL
SET client_min_messages = warning;
INSERT INTO campaigns (name, provider, from_number) VALUES ('bench-$provider', '$provider', '+12435678910');
-- +1 303-555-xxxx: no sandbox test number (those are +1 202-555-01xx)
INSERT INTO messages (id, campaign_id, external_id, state, provider, from_number, to_number, segments,
                      due_at, next_attempt_at, provider_message_id, accepted_at, attempts, first_attempt_at)
SELECT i, (SELECT id FROM campaigns WHERE name = 'bench-$provider'), 'm-' || i, '$state', '$provider',
       '+12435678910', '+1303555' || lpad((i % 10000)::text, 4, '0'), 1, now(), now(),
       CASE WHEN '$state' = 'accepted' THEN 'SM' || md5(i::text) END,
       CASE WHEN '$state' = 'accepted' THEN now() END,
       CASE WHEN '$state' = 'accepted' THEN 1 ELSE 0 END,
       CASE WHEN '$state' = 'accepted' THEN now() END
  FROM generate_series(1, $n) AS i;
INSERT INTO message_bodies (message_id, body)
SELECT i, 'Hi Patient ' || i || ', reminder: Elm St appointment Tue 10:30. Reply CONFIRM to confirm, STOP to opt out.'
  FROM generate_series(1, $n) AS i;
SELECT setval(pg_get_serial_sequence('messages', 'id'), $n);
VACUUM ANALYZE;
CHECKPOINT;
SQL
}

# Knobs that end up in SQL text or arithmetic must be whole numbers: `require_int NAME...`
# stops the script with a clear message otherwise.
require_int() { local n; for n in "$@"; do [[ ${!n} =~ ^[0-9]+$ ]] || { echo "$n must be a whole number, not '${!n}'" >&2; exit 64; }; done; }
sql() { local url=$1; shift; "$PSQL" -qAt -v ON_ERROR_STOP=1 -d "$url" -c "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_port() { for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 did not open" >&2; return 1; }
now_s() { date +%s.%N; }
timed() { local f=$1; shift; if [ -x /usr/bin/time ]; then /usr/bin/time -v -o "$f" "$@"; else : >"$f"; "$@"; fi; }
peak_rss_mb() { awk -F': ' '/Maximum resident set size/ {v=$2} END {if (v) printf "%.1f", v / 1024; else print "unknown"}' "$1"; }
# rss_mb PID: peak RSS so far of a running process (VmHWM), for workers stopped by signal.
rss_mb() { awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$1/status" 2>/dev/null || echo unknown; }
cpu_s() { awk -F': ' '/User time|System time/ {t+=$2; n++} END {if (n) printf "%.1f", t; else print "unknown"}' "$1"; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "" && a != "n/a") printf "%.0f", a / b; else print "n/a" }'; }
# settle DB: drops DB (a finished part's) and takes a checkpoint, so the next part starts on a
# quiet server.
settle() { "$PSQL" -qAt -d postgres -c "DROP DATABASE IF EXISTS $1" >/dev/null 2>&1 || true; "$PSQL" -qAt -d postgres -c "CHECKPOINT" >/dev/null; }
median() { printf "%s\n" "$@" | grep -v '^n/a$' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "n/a" && b != "n/a") printf "%.2f", a / b; else print "n/a" }'; }
# cpu_snap: "busy total" jiffies of the whole machine (/proc/stat); machine_busy A B: the
# share of both cores busy between two snaps, in %. proc_cpu_s PID: user+system s of PID.
cpu_snap() { awk '/^cpu / {t=0; for (i=2;i<=NF;i++) t+=$i; print t-$5-$6, t}' /proc/stat; }
machine_busy() { awk -v a="$1" -v b="$2" 'BEGIN { split(a,x," "); split(b,y," "); if (y[2]>x[2]) printf "%.0f", 100*(y[1]-x[1])/(y[2]-x[2]); else print "n/a" }'; }
proc_cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14+$15)/hz}' "/proc/$1/stat" 2>/dev/null || echo n/a; }
# start_sandbox LOG ARGS…: `dispatcher sandbox ARGS…` on a free loopback port (under $SB_WRAP
# if set, e.g. a profiler); sets SB_PORT and SB_PID and waits until it listens.
start_sandbox() {
  SB_PORT=$(free_port)
  ${SB_WRAP:-} "$BIN" sandbox --listen 127.0.0.1:"$SB_PORT" "${@:2}" >"$1" 2>&1 &
  SB_PID=$!
  track "$SB_PID"
  wait_port "$SB_PORT"
}
# With PGSS=1 (and PG_EXTRA_OPTS="-c shared_preload_libraries=pg_stat_statements"):
# pgss_enable URL before a part, pgss_top URL after it (the statements that took longest).
pgss_enable() { if [ -n "${PGSS:-}" ]; then sql "$1" "CREATE EXTENSION pg_stat_statements" >/dev/null; fi; }
pgss_top() {
  if [ -n "${PGSS:-}" ]; then
    sql "$1" "SELECT calls, round(total_exec_time::numeric) AS exec_ms, round(total_plan_time::numeric) AS plan_ms, rows,
                     left(regexp_replace(query, '\s+', ' ', 'g'), 80) FROM pg_stat_statements
               WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
               ORDER BY total_exec_time + total_plan_time DESC LIMIT 12"
  fi
}
