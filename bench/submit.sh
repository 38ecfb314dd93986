#!/usr/bin/env bash
# Benchmark of `dispatcher submit` (issue 3); prints figures, asserts nothing.
# Generates a ROWS-row appointment CSV + manifest, then in one run:
#   (1) times `dispatcher submit` (release build) into a fresh database, with its peak RSS;
#   (2) times `psql \copy` of equivalent rows (same columns of messages + message_bodies)
#       into the same tables of another fresh database;
# and prints rows/s for both and the ratio. Targets: submit <= 2x psql, peak RSS < 150 MB.
# Usage: bench/submit.sh   (env: ROWS=1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000000}
OUT=$(mktemp -d /tmp/dispatcher-bench-XXXXXX)
chmod 755 "$OUT"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
[ -x /usr/bin/time ] || { apt-get install -y -qq time >/dev/null 2>&1 || true; }

swift build -c release --product dispatcher >/dev/null
BIN=$(swift build -c release --show-bin-path)/dispatcher

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() { as_pg "$PGBIN/pg_ctl" stop -D "$OUT/data" -m immediate >/dev/null 2>&1 || true; rm -rf "$OUT"; }
trap cleanup EXIT
[ "$(id -u)" = 0 ] && chown postgres "$OUT"
USER_NAME=$([ "$(id -u)" = 0 ] && echo postgres || id -un)
as_pg "$PGBIN/initdb" -D "$OUT/data" -U "$USER_NAME" --auth=trust --no-locale -E UTF8 >/dev/null
as_pg "$PGBIN/pg_ctl" start -w -D "$OUT/data" -l "$OUT/server.log" \
  -o "-c listen_addresses='' -k $OUT -c shared_buffers=512MB -c max_wal_size=4GB -c checkpoint_timeout=30min" >/dev/null
PSQL="$PGBIN/psql -h $OUT -U $USER_NAME -v ON_ERROR_STOP=1 -q"
for db in submit_bench copy_bench; do
  $PSQL -d postgres -c "CREATE DATABASE $db"
  DATABASE_URL="host=$OUT dbname=$db user=$USER_NAME" "$BIN" migrate >/dev/null
done

echo "generating $ROWS rows..."
python3 - "$OUT" "$ROWS" <<'PY'
import sys
out, rows = sys.argv[1], int(sys.argv[2])
with open(f"{out}/reminders.csv", "w") as f, open(f"{out}/copy_messages.csv", "w") as m, open(f"{out}/copy_bodies.csv", "w") as b:
    f.write("id,to,first_name,clinic,appt_time\n")
    for i in range(rows):
        num = f"202555{i % 10000:04d}"
        f.write(f"appt-{i},{num},Patient {i},Elm St,Tue 10:30\n")
        body = f"Hi Patient {i}, reminder: Elm St appointment Tue 10:30. Reply CONFIRM to confirm, STOP to opt out."
        m.write(f"{i+1},1,appt-{i},pending,plum,+12435678910,+1{num},1,2026-11-23 14:00:00+00,2026-11-23 14:00:00+00\n")
        b.write(f"{i+1},\"{body}\"\n")
with open(f"{out}/reminders.json", "w") as f:
    f.write('{"campaign": "bench", "from": "2435678910", "provider": "plum", "csv": "reminders.csv", '
            '"template": "Hi {{first_name}}, reminder: {{clinic}} appointment {{appt_time}}. Reply CONFIRM to confirm, STOP to opt out."}\n')
PY
ls -la "$OUT"/*.csv | awk '{print "  " $5 " bytes  " $9}'

echo "dispatcher submit..."
start=$(date +%s.%N)
DATABASE_URL="host=$OUT dbname=submit_bench user=$USER_NAME" /usr/bin/time -v -o "$OUT/time.txt" "$BIN" submit "$OUT/reminders.json" > "$OUT/submit.out"
end=$(date +%s.%N)
submit_s=$(echo "$end - $start" | bc -l)
rss_kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /,"",$2); print $2}' "$OUT/time.txt")
cat "$OUT/submit.out"

echo "psql \\copy..."
$PSQL -d copy_bench -c "INSERT INTO campaigns (id, name, provider, from_number) OVERRIDING SYSTEM VALUE VALUES (1, 'bench', 'plum', '+12435678910')"
start=$(date +%s.%N)
$PSQL -d copy_bench <<SQL
BEGIN;
\copy messages (id, campaign_id, external_id, state, provider, from_number, to_number, segments, due_at, next_attempt_at) FROM '$OUT/copy_messages.csv' CSV
\copy message_bodies (message_id, body) FROM '$OUT/copy_bodies.csv' CSV
COMMIT;
SQL
end=$(date +%s.%N)
copy_s=$(echo "$end - $start" | bc -l)

printf '\n%-34s %10s %12s\n' "" "seconds" "rows/s"
printf '%-34s %10.2f %12.0f\n' "dispatcher submit (release)" "$submit_s" "$(echo "$ROWS / $submit_s" | bc -l)"
printf '%-34s %10.2f %12.0f\n' "psql \\copy (messages + bodies)" "$copy_s" "$(echo "$ROWS / $copy_s" | bc -l)"
printf 'ratio submit/psql: %.2f (target <= 2)\n' "$(echo "$submit_s / $copy_s" | bc -l)"
printf 'peak RSS of submit: %.1f MB (target < 150)\n' "$(echo "$rss_kb / 1024" | bc -l)"
