#!/usr/bin/env bash
# Benchmark of the operator console; prints figures, asserts nothing.
# Loads CAMPAIGNS campaigns with MESSAGES messages between them (bulk INSERT … SELECT
# generate_series, states spread as a day of sending leaves them: mostly delivered, some
# pending, sending, accepted, sent, undelivered, failed, with acceptance and final times),
# serves them with `dispatcher console` (release build, loopback mode), and requests each
# page N times with curl on loopback. For each page: its weight (bytes of HTML) and the
# server's time to the first byte (curl's time_starttransfer: the request parsed, the
# database read, the page rendered), median and p95. Target: under 50 ms per page.
# The campaigns page is served from its last computation for up to 5 s, then recomputed in
# the background, never older than 30 s (ConsoleListCache): its first request shows the cost
# of one computation (the query over every message); the others mostly get the copy.
# Runs on a private throwaway cluster (bench/lib.sh), removed on exit.
# Usage: bench/console.sh   (env: CAMPAIGNS=100 MESSAGES=1000000 N=30 SCATTER=0)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
CAMPAIGNS=${CAMPAIGNS:-100}
MESSAGES=${MESSAGES:-1000000}
N=${N:-30}
SCATTER=${SCATTER:-0}
require_int CAMPAIGNS MESSAGES N SCATTER
command -v curl >/dev/null || { echo "curl missing: apt-get install -y curl" >&2; exit 1; }

build_release
start_cluster
URL=$(new_db console)

echo "loading $CAMPAIGNS campaigns, $MESSAGES messages ..."
load_start=$(now_s)
"$PSQL" -qAt -v ON_ERROR_STOP=1 -d "$URL" >/dev/null <<SQL
SET client_min_messages = warning;
INSERT INTO campaigns (name, provider, from_number, created_at)
SELECT 'bench-campaign-' || lpad(c::text, 3, '0'), 'plum', '+12435678910', now() - make_interval(hours => $CAMPAIGNS - c)
  FROM generate_series(1, $CAMPAIGNS) AS c;
-- the messages of a campaign one after another, as submit's COPY writes them (SCATTER=1: message
-- i in campaign i % CAMPAIGNS, each campaign's rows on as many pages as it has rows: the worst
-- layout); a message's state by i % 100
INSERT INTO messages (id, campaign_id, external_id, state, provider, from_number, to_number, segments, attempts,
                      due_at, next_attempt_at, first_attempt_at, provider_message_id, accepted_at, final_at,
                      error_class, error_code)
SELECT i, (SELECT min(id) FROM campaigns) + CASE WHEN $SCATTER = 1 THEN i % $CAMPAIGNS ELSE (i - 1) * $CAMPAIGNS / $MESSAGES END,
       'm-' || i, s.state, 'plum', '+12435678910',
       '+1303555' || lpad((i % 10000)::text, 4, '0'), 1, CASE WHEN s.state = 'pending' THEN 0 ELSE 1 END,
       now() - interval '2 hours', now() - interval '2 hours',
       CASE WHEN s.state <> 'pending' THEN now() - interval '2 hours' END,
       CASE WHEN s.state IN ('accepted', 'sent', 'delivered', 'undelivered') THEN 'SM' || md5(i::text) END,
       CASE WHEN s.state IN ('accepted', 'sent', 'delivered', 'undelivered')
            THEN now() - interval '2 hours' + make_interval(secs => (i % 7200)) END,
       CASE WHEN s.state IN ('delivered', 'undelivered', 'failed')
            THEN now() - interval '2 hours' + make_interval(secs => (i % 7200) + 3 + i % 11) END,
       CASE s.state WHEN 'undelivered' THEN 'unreachable' WHEN 'failed' THEN 'invalid_number' END,
       CASE s.state WHEN 'undelivered' THEN '30003' WHEN 'failed' THEN '21211' END
  FROM generate_series(1, $MESSAGES) AS i,
       LATERAL (SELECT CASE WHEN i % 100 < 80 THEN 'delivered' WHEN i % 100 < 85 THEN 'undelivered'
                            WHEN i % 100 < 87 THEN 'failed' WHEN i % 100 < 90 THEN 'sent'
                            WHEN i % 100 < 92 THEN 'accepted' WHEN i % 100 < 93 THEN 'sending'
                            ELSE 'pending' END AS state) AS s;
SELECT setval(pg_get_serial_sequence('messages', 'id'), $MESSAGES);
INSERT INTO message_bodies (message_id, body)
SELECT i, 'Hi Patient ' || i || ', reminder: Elm St appointment Tue 10:30. Reply CONFIRM to confirm, STOP to opt out.'
  FROM generate_series(1, $MESSAGES) AS i;
INSERT INTO message_events (message_id, at, kind, source, from_state, to_state, provider_status, http_status, latency_ms)
SELECT 4200, now() - interval '2 hours', 'attempt', 'dispatcher', 'sending', 'accepted', 'queued', 200, 180;
INSERT INTO rate_limits (key, rate, burst) VALUES ('sender:+12435678910', 40, 10), ('provider:plum', 100, 100);
VACUUM ANALYZE;
CHECKPOINT;
SQL
echo "loaded in $(awk -v a="$load_start" -v b="$(now_s)" 'BEGIN { printf "%.0f", b - a }') s"

# HOLD=S: keep the loaded database S seconds for a look with psql (EXPLAIN), then go on
if [ -n "${HOLD:-}" ]; then echo "holding for $HOLD s: psql \"$URL\""; sleep "$HOLD"; fi

PORT=$(free_port)
DATABASE_URL="$URL" DISPATCHER_CONSOLE=loopback "$BIN" console --listen 127.0.0.1:"$PORT" >"$DIR/console.log" 2>&1 &
track $!
wait_port "$PORT"
CAMPAIGN=$(printf 'bench-campaign-%03d' $((CAMPAIGNS / 2)))

# page PATH: one first request (for the campaigns page: computed, nothing cached yet), then N
# more; prints bytes, the first request's time to the first byte, then the median and p95
# of the N others, in ms.
page() {
  local url="http://127.0.0.1:$PORT$1" times=() bytes=0 status first
  first=$(curl -s -o /dev/null -w '%{time_starttransfer}' "$url" | awk '{ printf "%.1f", $1 * 1000 }')
  for _ in $(seq "$N"); do
    read -r status bytes t < <(curl -s -o /dev/null -w '%{http_code} %{size_download} %{time_starttransfer}\n' "$url")
    [ "$status" = 200 ] || { echo "$1: HTTP $status" >&2; return 1; }
    times+=("$(awk -v t="$t" 'BEGIN { printf "%.1f", t * 1000 }')")
  done
  local p95
  p95=$(printf "%s\n" "${times[@]}" | sort -g | awk -v n="$N" '{ v[NR] = $1 } END { i = int(n * 0.95 + 0.999); if (i > NR) i = NR; print v[i] }')
  printf "%-40s %9s %10s %10s %10s\n" "$1" "$bytes" "$first" "$(median "${times[@]}")" "$p95"
}

echo ""
echo "console pages: $CAMPAIGNS campaigns, $MESSAGES messages, $N requests each (server time = curl time_starttransfer on loopback)"
printf "%-40s %9s %10s %10s %10s\n" "page" "bytes" "first ms" "median ms" "p95 ms"
page "/console/"
page "/console/campaigns/$CAMPAIGN"
page "/console/messages?q=m-4200"
page "/console/messages?q=%2B13035554200"
page "/console/messages/4200"
page "/console/limits"
