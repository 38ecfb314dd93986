#!/usr/bin/env bash
# Benchmark of bulk enqueueing; prints figures, asserts nothing.
#  (1) `dispatcher bench-copy`: N message rows through Store's binary COPY (`copyFrom`),
#      values generated in the process, as `submit` will do;
#  (2) `psql \copy` of the same N rows from a CSV written beforehand (outside the timing),
#      into the same table and columns; then the ratio Store/psql (target ≤ 1.5).
# Both load into the migrated `messages` table with all its indexes, its foreign key and
# its callback_token default: the server's share of the work is the same for both.
# Runs on a private throwaway cluster it starts itself (unix socket in a temp dir), removed
# on exit. Usage: bench/copy.sh   (env: ROWS=1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
ROWS=${ROWS:-1000000}
OUT=bench/out
mkdir -p "$OUT"

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$PGBIN/initdb" ] || { echo "PostgreSQL server binaries missing: apt-get install -y postgresql" >&2; exit 1; }
PSQL=$(command -v psql || echo "$PGBIN/psql")
TIME=/usr/bin/time   # GNU time, for peak RSS and CPU: apt-get install -y time
[ -x "$TIME" ] || { apt-get install -y -qq time >/dev/null 2>&1 || echo "no /usr/bin/time: no peak RSS or CPU figures" >&2; }

swift build -c release --product dispatcher 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]' || true
test "${PIPESTATUS[0]}" -eq 0
BIN=$(swift build -c release --show-bin-path)/dispatcher

# --- a private cluster: initdb as the postgres OS user when root ------------------------
DIR=$(mktemp -d /tmp/dispatcher-bench-copy.XXXXXX)
chmod 755 "$DIR"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
PGUSER_NAME=$([ "$(id -u)" = 0 ] && echo postgres || id -un)
[ "$(id -u)" = 0 ] && chown postgres: "$DIR"
cleanup() {
  as_pg "$PGBIN/pg_ctl" stop -D "$DIR/data" -m immediate >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT
as_pg "$PGBIN/initdb" -D "$DIR/data" -U "$PGUSER_NAME" --auth=trust --encoding=UTF8 --no-locale --no-sync >/dev/null
# Durable settings left at their defaults except fsync (a benchmark of the client, not the disk).
as_pg "$PGBIN/pg_ctl" start -w -D "$DIR/data" -l "$DIR/server.log" \
  -o "-c listen_addresses='' -k '$DIR' -p 5432 -c fsync=off -c max_wal_size=4GB -c shared_buffers=256MB" >/dev/null
export PGHOST="$DIR" PGPORT=5432 PGUSER="$PGUSER_NAME" PGDATABASE=bench
as_pg "$PGBIN/createdb" -h "$DIR" -U "$PGUSER_NAME" bench
export DATABASE_URL="host=$DIR port=5432 dbname=bench user=$PGUSER_NAME"

"$BIN" migrate
CAMPAIGN=$("$PSQL" -qAt -c "INSERT INTO campaigns (name, provider, from_number) VALUES ('bench-copy', 'plum', '+12435678910') RETURNING id")
COLUMNS=campaign_id,external_id,provider,from_number,to_number,segments,due_at,next_attempt_at

seconds_now() { date +%s.%N; }
# timed FILE CMD…: runs CMD under /usr/bin/time -v (peak RSS, CPU) when available.
timed() { local f=$1; shift; if [ -x "$TIME" ]; then "$TIME" -v -o "$f" "$@"; else : >"$f"; "$@"; fi; }
peak_rss_kb() { awk -F': ' '/Maximum resident set size/ {v=$2} END {print v ? v : "unknown"}' "$1"; }
cpu_s() { awk -F': ' '/User time|System time/ {t+=$2; n++} END {print n ? t : "unknown"}' "$1"; }

# The CSV for (2), written now and not timed.
"$BIN" bench-copy --rows "$ROWS" --campaign-id "$CAMPAIGN" --csv "$DIR/messages.csv"
reset_table() { "$PSQL" -qAt -c "SET client_min_messages = warning" -c "TRUNCATE messages CASCADE" -c "VACUUM messages" -c "CHECKPOINT"; }

# Warm-up, untimed: the first load into a new cluster also creates its WAL segment files
# (later loads recycle them), which would tax whichever side runs first.
echo "warm-up: one untimed psql \\copy load"
"$PSQL" -qAt -v ON_ERROR_STOP=1 -c "\\copy messages ($COLUMNS) FROM '$DIR/messages.csv' WITH (FORMAT csv)"
reset_table

echo
echo "== (1) Store binary COPY: dispatcher bench-copy --rows $ROWS"
t0=$(seconds_now)
timed "$OUT/bench-copy.time" "$BIN" bench-copy --rows "$ROWS" --campaign-id "$CAMPAIGN"
t1=$(seconds_now)
RSS_KB=$(peak_rss_kb "$OUT/bench-copy.time")
STORE_CPU=$(cpu_s "$OUT/bench-copy.time")
STORE_S=$(echo "$t1 - $t0" | bc -l)
STORE_COUNT=$("$PSQL" -qAt -c "SELECT count(*) FROM messages")

echo
echo "== (2) psql \\copy of the same $ROWS rows (CSV written beforehand, not timed)"
reset_table
t0=$(seconds_now)
timed "$OUT/psql-copy.time" "$PSQL" -qAt -v ON_ERROR_STOP=1 -c "\\copy messages ($COLUMNS) FROM '$DIR/messages.csv' WITH (FORMAT csv)"
t1=$(seconds_now)
PSQL_CPU=$(cpu_s "$OUT/psql-copy.time")
PSQL_S=$(echo "$t1 - $t0" | bc -l)
PSQL_COUNT=$("$PSQL" -qAt -c "SELECT count(*) FROM messages")

echo
echo "== results ($ROWS rows into messages; wall time of the whole client process)"
printf "Store copyFrom (bench-copy)  %8.2f s  %10.0f rows/s  (%s rows loaded; client CPU %s s, peak RSS %s KiB)\n" \
  "$STORE_S" "$(echo "$STORE_COUNT / $STORE_S" | bc -l)" "$STORE_COUNT" "$STORE_CPU" "$RSS_KB"
printf "psql \\\\copy (CSV)             %8.2f s  %10.0f rows/s  (%s rows loaded; client CPU %s s)\n" \
  "$PSQL_S" "$(echo "$PSQL_COUNT / $PSQL_S" | bc -l)" "$PSQL_COUNT" "$PSQL_CPU"
printf "ratio Store/psql             %8.2f   (target ≤ 1.5)\n" "$(echo "$STORE_S / $PSQL_S" | bc -l)"
