#!/usr/bin/env bash
# Callback ingestion and end-to-end delivery (issue 6); prints figures, asserts nothing.
# One private cluster (unix socket, fsync=off, removed on exit):
#  (1) CB_N messages bulk-inserted with SQL as `accepted` (provider restcomm, a provider id
#      each); a `dispatcher run` with `listen` on a free port and nothing to send; wrk
#      (keep-alive, CONNECTIONS connections, bench/callbacks.lua) POSTs one valid Restcomm
#      StatusCallback (MessageStatus=delivered) per message to /callbacks/restcomm/{token}.
#      Prints callbacks/s answered 2xx (a 2xx means durable in callback_inbox; applying a
#      report moves it from the inbox to message_events), then checks in SQL that every
#      message's callback is stored, how many reached `delivered`, and how long the applier took.
#  (2) end to end: E2E_N pending messages, `dispatcher run` against `dispatcher sandbox
#      --profile perfect` (Restcomm, delivery callbacks after DELIVERY_MIN..MAX s) until all
#      are `delivered`: messages/s to delivered, beside the same run to `accepted` with the
#      sandbox's callbacks off (--until-idle), ROUNDS times back to back; the median of the
#      rounds' ratios is the figure. Restcomm because its sandbox posts the delivery
#      callback; Plum's result_url only says 'sent' (delivery comes by polling).
# Usage: bench/callbacks.sh   (env: CB_N=100000 CONNECTIONS=64 THREADS=1 E2E_N=20000 ROUNDS=3
#                                   DELIVERY_MIN=0.05 DELIVERY_MAX=0.2 CONCURRENCY=64 E2E_POLL_AFTER=5)
set -euo pipefail
cd "$(dirname "$0")/.."
CB_N=${CB_N:-100000}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-1}
E2E_N=${E2E_N:-20000}
# ROUNDS: (to accepted, to delivered) pairs in part 2; the median ratio is reported.
ROUNDS=${ROUNDS:-3}
# PARTS: which parts to run (default both: "1 2").
PARTS=${PARTS:-1 2}
part() { [[ " $PARTS " == *" $1 "* ]]; }
CB_RATE=n/a CB_SERVER_RATE=n/a INBOX_DISTINCT=n/a DELIVERED=n/a APPLY_AFTER=n/a E2E_RATE=n/a REF_RATE=n/a E2E_RATIO=n/a
DELIVERY_MIN=${DELIVERY_MIN:-0.05}
DELIVERY_MAX=${DELIVERY_MAX:-0.2}
CONCURRENCY=${CONCURRENCY:-64}
E2E_POLL_AFTER=${E2E_POLL_AFTER:-5}
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null 2>&1 || { echo "wrk missing: apt-get install -y wrk" >&2; exit 1; }
source bench/lib.sh
OUT=bench/out
mkdir -p "$OUT"

build_release
start_cluster

worker_config() {  # FILE LISTEN_PORT SANDBOX_PORT [POLL_AFTER_S]
  cat > "$1" <<JSON
{
  "listen": "127.0.0.1:$2",
  "providers": {"restcomm": {"kind": "restcomm", "base_url": "http://127.0.0.1:$3/restcomm",
                             "account_sid": "ACsandbox", "auth_token": "sandbox"}},
  "senders": {"2435678910": {"provider": "restcomm", "rate_per_second": 1000000, "burst": 1000000}},
  "poll": {"after_s": ${4:-3600}},
  "concurrency": $CONCURRENCY
}
JSON
}
# wait_for URL SQL TARGET TIMEOUT_S: polls until SQL (a count) reaches TARGET; prints seconds waited.
wait_for() {
  local t0 n; t0=$(now_s)
  while :; do
    n=$(sql "$1" "$2")
    [ "$n" -ge "$3" ] && break
    if [ "$(echo "$(now_s) - $t0 > $4" | bc)" = 1 ]; then echo "timeout: $n of $3" >&2; break; fi
    sleep 0.1
  done
  echo "$(now_s) - $t0" | bc -l
}

# --- (1) callback ingestion -------------------------------------------------------------------
if part 1; then
echo "== (1) $CB_N Restcomm delivery callbacks → dispatcher run (wrk -t$THREADS -c$CONNECTIONS, keep-alive)"
CB_DB=$(new_db callbacks)
pgss_enable "$CB_DB"
load_messages "$CB_DB" restcomm "$CB_N" accepted
sql "$CB_DB" "COPY (SELECT id || '.' || callback_token || ' ' || provider_message_id FROM messages ORDER BY id) TO STDOUT" > "$DIR/callbacks.txt"
W_PORT=$(free_port)
worker_config "$DIR/cb.json" "$W_PORT" 1   # no provider is called: nothing is pending
DATABASE_URL="$CB_DB" "$BIN" run --config "$DIR/cb.json" --no-spool >"$OUT/callbacks-run.log" 2>&1 &
RUN_PID=$!
track $RUN_PID
wait_port "$W_PORT"
# wrk's own duration is always its -d (its main thread sleeps that long even when every thread
# has stopped), so the run is timed here: from wrk's start until every message's callback is
# acknowledged (the worker's count of callbacks answered 2xx: stored); then
# SIGINT makes wrk print its counts. The server's view too: callbacks over first → last
# receipt (an applied report's event keeps its lag: received = at - latency_ms).
t0=$(now_s)
CB_FILE="$DIR/callbacks.txt" WRK_THREADS=$THREADS WRK_CONNECTIONS=$CONNECTIONS \
  wrk -t"$THREADS" -c"$CONNECTIONS" -d300s -s bench/callbacks.lua "http://127.0.0.1:$W_PORT" >"$OUT/wrk-callbacks.txt" 2>&1 &
WRK_PID=$!
track $WRK_PID
# (polled from the worker's /metrics, not with SQL: counting 100,000 rows ten times a second
# took a sixth of the server's CPU away from the run being measured)
stored_callbacks() {
  curl -s "http://127.0.0.1:$W_PORT/metrics" |
    awk '/^dispatcher_callbacks_received_total\{.*verdict="stored"/ { s += $NF } END { printf "%d\n", s }'
}
while [ "$(stored_callbacks)" -lt "$CB_N" ]; do
  if [ "$(echo "$(now_s) - $t0 > 150" | bc)" = 1 ]; then echo "timeout: $(stored_callbacks) of $CB_N stored" >&2; break; fi
  sleep 0.1
done
t1=$(now_s)
kill -INT "$WRK_PID"; wait "$WRK_PID" || true
grep -E '^callbacks:|Latency|Socket errors|Non-2xx' "$OUT/wrk-callbacks.txt" || cat "$OUT/wrk-callbacks.txt"
CB_WALL=$(echo "$t1 - $t0" | bc -l)
CB_RATE=$(div "$CB_N" "$CB_WALL")
DRAIN_S=$(wait_for "$CB_DB" "SELECT count(*) FROM messages WHERE state = 'delivered'" "$CB_N" 120)
# every stored callback: the applied ones (events, received = at - lag) and any left in the inbox
read -r INBOX INBOX_DISTINCT INGEST_SPAN APPLY_SPAN APPLY_AFTER < <(sql "$CB_DB" "
  WITH r AS (SELECT message_id, at - latency_ms * interval '1 ms' AS received_at, at AS applied_at
               FROM message_events WHERE source = 'callback' AND kind = 'callback'
             UNION ALL
             SELECT message_id, received_at, NULL FROM callback_inbox)
  SELECT count(*), count(DISTINCT message_id), extract(epoch FROM max(received_at) - min(received_at)),
         round(extract(epoch FROM max(applied_at) - min(received_at))::numeric, 2),
         round(extract(epoch FROM max(applied_at) - max(received_at))::numeric, 2)
    FROM r" | tr '|' ' ')
CB_SERVER_RATE=$(div "$INBOX" "$INGEST_SPAN")
read -r DELIVERED OUTCOMES < <(sql "$CB_DB" "
  SELECT (SELECT count(*) FROM messages WHERE state = 'delivered'),
         (SELECT string_agg(o || ':' || n, ',') FROM
            (SELECT substring(detail FROM '^[a-z]+') o, count(*) n FROM message_events
              WHERE source = 'callback' AND kind = 'callback' GROUP BY 1
             UNION ALL SELECT 'unapplied', count(*) FROM callback_inbox) x)" | tr '|' ' ')
CB_RSS=$(rss_mb "$RUN_PID")
kill -TERM "$RUN_PID"; wait "$RUN_PID" || true
printf "all %s stored %.2f s after wrk started = %s callbacks/s; server side: %s callbacks over %.2f s of receipts = %s/s\n" \
  "$CB_N" "$CB_WALL" "$CB_RATE" "$INBOX" "$INGEST_SPAN" "$CB_SERVER_RATE"
echo "stored: $INBOX callbacks for $INBOX_DISTINCT of $CB_N messages (durable); delivered: $DELIVERED of $CB_N"
echo "apply: first received → last applied ${APPLY_SPAN} s; last received → last applied ${APPLY_AFTER} s; outcomes $OUTCOMES"
echo "worker peak RSS $CB_RSS MB"
pgss_top "$CB_DB"
fi

# --- (2) end to end -----------------------------------------------------------------------------
if part 2; then
echo
echo "== (2) end to end, Restcomm sandbox --profile perfect, $E2E_N messages, concurrency $CONCURRENCY"
# Two sandboxes side by side: one without callbacks (the reference run to `accepted`), one
# posting them. The host's speed drifts between runs seconds apart, so ROUNDS rounds of
# (to accepted, to delivered) run back to back and the median of their ratios is the figure.
start_sandbox "$OUT/e2e-sandbox-nocb.log" --profile perfect --no-callbacks
REF_SB_PORT=$SB_PORT
start_sandbox "$OUT/e2e-sandbox.log" --profile perfect --delivery-delay-min-s "$DELIVERY_MIN" --delivery-delay-max-s "$DELIVERY_MAX"
SB2_PID=$SB_PID
refs=() e2es=() e2e_ratios=()
for r in $(seq 1 "$ROUNDS"); do
REF_DB=$(new_db "e2e_accepted_$r")
load_messages "$REF_DB" restcomm "$E2E_N"
worker_config "$DIR/ref.json" "$(free_port)" "$REF_SB_PORT"
c0=$(cpu_snap); t0=$(now_s)
DATABASE_URL="$REF_DB" timed "$OUT/e2e-accepted.time" "$BIN" run --config "$DIR/ref.json" --until-idle --no-spool >"$OUT/e2e-accepted.log" 2>&1
t1=$(now_s); c1=$(cpu_snap)
REF_BUSY=$(machine_busy "$c0" "$c1")
REF_WALL=$(echo "$t1 - $t0" | bc -l)
REF_ACCEPTED=$(sql "$REF_DB" "SELECT count(*) FROM messages WHERE state = 'accepted'")
REF_RATE=$(div "$REF_ACCEPTED" "$REF_WALL")
printf "round %s to accepted (sandbox callbacks off, --until-idle): %s of %s in %.2f s = %s msg/s; worker CPU %s s, machine busy %s %%\n" "$r" "$REF_ACCEPTED" "$E2E_N" "$REF_WALL" "$REF_RATE" "$(cpu_s "$OUT/e2e-accepted.time")" "$REF_BUSY"
settle "e2e_accepted_$r"

curl -s -X POST "http://127.0.0.1:$SB_PORT/sandbox/reset" >/dev/null
E2E_DB=$(new_db "e2e_delivered_$r")
pgss_enable "$E2E_DB"
load_messages "$E2E_DB" restcomm "$E2E_N"
W_PORT=$(free_port)
# Status polls from E2E_POLL_AFTER s after acceptance: they settle what a lost callback left
# behind (the sandbox, like a provider, does not retry a callback that failed).
worker_config "$DIR/e2e.json" "$W_PORT" "$SB_PORT" "$E2E_POLL_AFTER"
c0=$(cpu_snap); s0=$(proc_cpu_s "$SB2_PID")
t0=$(now_s)
DATABASE_URL="$E2E_DB" ${WRAP:-} "$BIN" run --config "$DIR/e2e.json" --no-spool >"$OUT/e2e-run.log" 2>&1 &
RUN_PID=$!
track $RUN_PID
E2E_WAIT=$(wait_for "$E2E_DB" "SELECT count(*) FROM messages WHERE state = 'delivered'" "$E2E_N" 150)
t1=$(now_s)
c1=$(cpu_snap); s1=$(proc_cpu_s "$SB2_PID")
E2E_WALL=$(echo "$t1 - $t0" | bc -l)
E2E_RSS=$(rss_mb "$RUN_PID")
E2E_CPU=$(proc_cpu_s "$RUN_PID")
E2E_BUSY=$(machine_busy "$c0" "$c1")
E2E_SB_CPU=$(echo "$s1 - $s0" | bc -l)
kill -TERM "$RUN_PID"; wait "$RUN_PID" || true
read -r E2E_DELIVERED E2E_SPAN E2E_STATES < <(sql "$E2E_DB" "
  SELECT count(*) FILTER (WHERE state = 'delivered'), round(extract(epoch FROM max(final_at) - min(first_attempt_at))::numeric, 2),
         (SELECT string_agg(state || ':' || n, ',') FROM (SELECT state, count(*) n FROM messages GROUP BY state) s)
    FROM messages" | tr '|' ' ')
E2E_RATE=$(div "$E2E_DELIVERED" "$E2E_WALL")
pgss_top "$E2E_DB"
E2E_CB=$(sql "$E2E_DB" "SELECT string_agg(source || ' ' || n, ', ') FROM (SELECT source, count(*) n FROM message_events WHERE kind = source AND source IN ('callback', 'poll') GROUP BY source) s")
SB_STATS=$(curl -s "http://127.0.0.1:$SB_PORT/sandbox/stats" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("sandbox callbacks sent", d["callbacks_sent"], "failed", d["callbacks_failed"])' 2>/dev/null || echo "sandbox stats unavailable")
printf "round %s to delivered (callbacks on, delivery %s..%s s): %s of %s in %.2f s wall (%.2f s first claim → last delivered) = %s msg/s; states %s; reports applied: %s; %s; peak RSS %s MB, worker CPU %s s, sandbox CPU %s s, machine busy %s %%; ratio %s\n" \
  "$r" "$DELIVERY_MIN" "$DELIVERY_MAX" "$E2E_DELIVERED" "$E2E_N" "$E2E_WALL" "$E2E_SPAN" "$E2E_RATE" "$E2E_STATES" "$E2E_CB" "$SB_STATS" "$E2E_RSS" "$E2E_CPU" "$E2E_SB_CPU" "$E2E_BUSY" "$(ratio "$E2E_RATE" "$REF_RATE")"
settle "e2e_delivered_$r"
refs+=("$REF_RATE") e2es+=("$E2E_RATE") e2e_ratios+=("$(ratio "$E2E_RATE" "$REF_RATE")")
done
REF_RATE=$(median "${refs[@]}")
E2E_RATE=$(median "${e2es[@]}")
E2E_RATIO=$(median "${e2e_ratios[@]}")
fi

echo
echo "== results ($(date -u +%F), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
printf "callbacks acknowledged (2xx, durable)   %8s /s   (target ≥ 10,000; server side %s/s)\n" "$CB_RATE" "$CB_SERVER_RATE"
printf "inbox / delivered                       %8s / %s of %s  (applier done %s s after the last callback)\n" "$INBOX_DISTINCT" "$DELIVERED" "$CB_N" "$APPLY_AFTER"
printf "end to end to delivered                 %8s msg/s (median)\n" "$E2E_RATE"
printf "same worker to accepted (no callbacks)  %8s msg/s (median)\n" "$REF_RATE"
printf "ratio delivered / accepted              %8s     (target ≥ 0.7; median of the rounds %s)\n" "$E2E_RATIO" "${e2e_ratios[*]:-n/a}"
