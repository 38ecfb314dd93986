#!/usr/bin/env bash
# Throughput of the worker (issue 5); prints figures, asserts nothing. In one run, on one
# private cluster (unix socket, fsync=off, removed on exit):
#  (1) engine ceiling: `dispatcher run --bench --until-idle` with a provider of kind "null"
#      (accepts in-process) over N pending messages: claim → send → accepted, every event
#      row written. Messages end at `accepted` (the null provider sends no callbacks).
#      messages/s (wall time of the process, and first claim → last accepted_at), peak RSS.
#  (2) database ceiling: the same claim and completion statements (bench/engine-pgbench.sql,
#      100 per batch) under pgbench with CLIENTS clients over the same N rows.
#  (3) peer: PgQueuer draining N no-op jobs on the same server (bench/pgqueuer_drain.py).
#  (4) real HTTP: `dispatcher run --until-idle` against `dispatcher sandbox --profile perfect
#      --no-callbacks` over loopback, HTTP_N messages per provider, beside
#      `dispatcher bench-client` (the provider client alone) with the same concurrency, ROUNDS
#      times each, back to back; the median of the rounds' ratios is the figure.
# Messages are bulk-inserted with SQL (bench/lib.sh `load_messages`), not submitted: submit's
# own throughput is bench/submit.sh's subject.
# Usage: bench/engine.sh   (env: N=200000 HTTP_N=20000 CONCURRENCY=64 ENGINE_CONCURRENCY=128 CLIENTS=4
#                                PGQ_BATCH=100 PGQ_WORKERS=2 PARTS="1 2 3 4" ROUNDS=3)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-200000}
HTTP_N=${HTTP_N:-20000}
CONCURRENCY=${CONCURRENCY:-64}
# The engine ceiling's concurrency: the null provider answers at once, so 64 slots drain
# while one claim statement runs; with 128 a claim takes ~65 messages (see bench/README.md).
ENGINE_CONCURRENCY=${ENGINE_CONCURRENCY:-128}
CLIENTS=${CLIENTS:-4}
PGQ_BATCH=${PGQ_BATCH:-100}
PGQ_WORKERS=${PGQ_WORKERS:-2}
# PARTS: which parts to run (default all: "1 2 3 4"); the summary prints n/a for the others.
PARTS=${PARTS:-1 2 3 4}
# ROUNDS: (run, client alone) pairs per provider in part 4; the median ratio is reported.
ROUNDS=${ROUNDS:-3}
part() { [[ " $PARTS " == *" $1 "* ]]; }
source bench/lib.sh
OUT=bench/out
mkdir -p "$OUT"

build_release
start_cluster
echo "cluster in $DIR; loading $N messages with SQL for each part..."
ENGINE_DB=$(new_db engine)
PGB_DB=$(new_db pgb)
part 1 && load_messages "$ENGINE_DB" null "$N"
# CAMPAIGN_SQL: run on the engine database after loading (e.g. give the campaign a window or
# quiet-hours policy, to measure the claim's quiet-hours check; see bench/README.md).
if part 1 && [ -n "${CAMPAIGN_SQL:-}" ]; then sql "$ENGINE_DB" "$CAMPAIGN_SQL"; fi
declare -A HTTP_RATE HTTP_RSS CLIENT_RATE HTTP_RATIO HTTP_RATIOS
ENGINE_RATE=n/a ENGINE_SPAN_RATE=n/a ENGINE_RSS=n/a ENGINE_CPU=n/a PGB_RATE=n/a PGQ_RATE=n/a PGQ_WHY=""

# batches URL: how the worker batched its statements (claimed events of one claim share `at`,
# messages accepted by one completion share `accepted_at`).
batches() {
  sql "$1" "
    SELECT 'claims ' || count(*) || ' (avg ' || round(avg(n), 1) || ' msgs)'
      FROM (SELECT count(*) n FROM message_events WHERE kind = 'claimed' GROUP BY at) c
    UNION ALL
    SELECT 'completions ' || count(*) || ' (avg ' || round(avg(n), 1) || ' msgs)'
      FROM (SELECT count(*) n FROM messages WHERE accepted_at IS NOT NULL GROUP BY accepted_at) d" | paste -sd, -
}

worker_config() {  # FILE PROVIDERS_JSON SENDER_PROVIDER [CONCURRENCY]
  cat > "$1" <<JSON
{
  "listen": "127.0.0.1:0",
  "providers": $2,
  "senders": {"2435678910": {"provider": "$3", "rate_per_second": 1000000, "burst": 1000000}},
  "default_sender": {"rate_per_second": 1000000, "burst": 1000000},
  "concurrency": ${4:-$CONCURRENCY}
}
JSON
}

# --- (1) engine ceiling -------------------------------------------------------------------
if part 1; then
echo
echo "== (1) dispatcher run --bench --until-idle, null provider, $N messages, concurrency $ENGINE_CONCURRENCY"
worker_config "$DIR/null.json" '{"null": {"kind": "null"}}' null "$ENGINE_CONCURRENCY"
t0=$(now_s)
DATABASE_URL="$ENGINE_DB" timed "$OUT/engine-run.time" "$BIN" run --config "$DIR/null.json" --until-idle --bench --no-spool \
  >"$OUT/engine-run.log" 2>&1
t1=$(now_s)
ENGINE_WALL=$(echo "$t1 - $t0" | bc -l)
read -r ENGINE_ACCEPTED ENGINE_SPAN ENGINE_OTHER < <(sql "$ENGINE_DB" "
  SELECT count(*) FILTER (WHERE state = 'accepted'),
         extract(epoch FROM max(accepted_at) - min(first_attempt_at)),
         count(*) FILTER (WHERE state <> 'accepted') FROM messages" | tr '|' ' ')
ENGINE_EVENTS=$(sql "$ENGINE_DB" "SELECT string_agg(kind || ' ' || n, ', ' ORDER BY kind) FROM (SELECT kind, count(*) n FROM message_events GROUP BY kind) k")
ENGINE_RATE=$(div "$ENGINE_ACCEPTED" "$ENGINE_WALL")
ENGINE_SPAN_RATE=$(div "$ENGINE_ACCEPTED" "$ENGINE_SPAN")
ENGINE_RSS=$(peak_rss_mb "$OUT/engine-run.time")
ENGINE_CPU=$(cpu_s "$OUT/engine-run.time")
printf "accepted %s (other states %s) in %.2f s wall (%.2f s first claim → last accepted); events: %s\n" \
  "$ENGINE_ACCEPTED" "$ENGINE_OTHER" "$ENGINE_WALL" "$ENGINE_SPAN" "$ENGINE_EVENTS"
echo "statements: $(batches "$ENGINE_DB"); peak RSS $(peak_rss_mb "$OUT/engine-run.time") MB, CPU $(cpu_s "$OUT/engine-run.time") s"
fi

# Each part starts settled (bench/lib.sh `settle`): the next part must not share the cores
# with autovacuum working through the 200,000 finished rows a part left behind.
settle engine

# --- (2) database ceiling -----------------------------------------------------------------
if part 2; then
load_messages "$PGB_DB" null "$N"
echo
echo "== (2) pgbench: the same claim + complete statements, 100 per batch, $CLIENTS clients, $N rows"
PER_CLIENT=$(( (N / 100 + CLIENTS - 1) / CLIENTS ))
t0=$(now_s)
PGDATABASE=pgb "$PGBENCH" -n -M extended -c "$CLIENTS" -j 2 -t "$PER_CLIENT" -f bench/engine-pgbench.sql \
  >"$OUT/pgbench.txt" 2>&1 || { cat "$OUT/pgbench.txt"; exit 1; }
t1=$(now_s)
PGB_WALL=$(echo "$t1 - $t0" | bc -l)
read -r PGB_ACCEPTED PGB_SPAN < <(sql "$PGB_DB" "
  SELECT count(*) FILTER (WHERE state = 'accepted'), extract(epoch FROM max(accepted_at) - min(first_attempt_at)) FROM messages" | tr '|' ' ')
PGB_RATE=$(div "$PGB_ACCEPTED" "$PGB_WALL")
printf "accepted %s in %.2f s wall (%.2f s first claim → last accepted); %s\n" "$PGB_ACCEPTED" "$PGB_WALL" "$PGB_SPAN" \
  "$(grep -E '^tps' "$OUT/pgbench.txt" | head -1)"
fi

settle pgb

# --- (3) PgQueuer ---------------------------------------------------------------------------
if part 3; then
echo
echo "== (3) PgQueuer draining $N no-op jobs (batch $PGQ_BATCH, $PGQ_WORKERS queue managers)"
if ! python3 -c 'import pgqueuer, asyncpg' 2>/dev/null; then
  pip install -q pgqueuer asyncpg >/dev/null 2>&1 || PGQ_WHY="pip install pgqueuer asyncpg failed"
fi
if [ -z "$PGQ_WHY" ]; then
  "$PSQL" -qAt -d postgres -c "CREATE DATABASE pgq"
  if PGDATABASE=pgq python3 -m pgqueuer install >"$OUT/pgqueuer-install.log" 2>&1 &&
     PGDATABASE=pgq timed "$OUT/pgqueuer.time" python3 bench/pgqueuer_drain.py "$N" "$PGQ_BATCH" "$PGQ_WORKERS" | tee "$OUT/pgqueuer.txt"; then
    PGQ_RATE=$(sed -n 's/.* = \([0-9]*\) jobs\/s.*/\1/p' "$OUT/pgqueuer.txt")
  else
    PGQ_WHY="PgQueuer failed: see $OUT/pgqueuer-install.log"
  fi
fi
if [ -n "$PGQ_WHY" ]; then echo "$PGQ_WHY"; fi
fi

# --- (4) real HTTP --------------------------------------------------------------------------
if part 4; then
settle pgq
echo
echo "== (4) dispatcher run --until-idle → sandbox --profile perfect --no-callbacks (loopback), $HTTP_N messages"
start_sandbox "$OUT/engine-sandbox.log" --profile perfect --no-callbacks
# The host's speed drifts between runs seconds apart (the client's CPU per send was 61 µs in
# one and 98 µs in another), so each provider does ROUNDS rounds of (run, client alone) back to
# back, and the figure is the median of the rounds' ratios.
for p in plum restcomm; do
  if [ "$p" = plum ]; then
    providers="{\"plum\": {\"kind\": \"plum\", \"base_url\": \"http://127.0.0.1:$SB_PORT\", \"username\": \"sandbox\", \"password\": \"sandbox\"}}"
  else
    providers="{\"restcomm\": {\"kind\": \"restcomm\", \"base_url\": \"http://127.0.0.1:$SB_PORT/restcomm\", \"account_sid\": \"ACsandbox\", \"auth_token\": \"sandbox\"}}"
  fi
  worker_config "$DIR/$p.json" "$providers" "$p"
  runs=() alones=() ratios=()
  for r in $(seq 1 "$ROUNDS"); do
  db=$(new_db "http_${p}_$r")
  load_messages "$db" "$p" "$HTTP_N"
  pgss_enable "$db"
  curl -s -X POST "http://127.0.0.1:$SB_PORT/sandbox/reset" >/dev/null
  c0=$(cpu_snap); s0=$(proc_cpu_s $SB_PID)
  t0=$(now_s)
  DATABASE_URL="$db" timed "$OUT/http-$p.time" ${WRAP:-} "$BIN" run --config "$DIR/$p.json" --until-idle --no-spool >"$OUT/http-$p.log" 2>&1
  t1=$(now_s)
  c1=$(cpu_snap); s1=$(proc_cpu_s $SB_PID)
  wall=$(echo "$t1 - $t0" | bc -l)
  read -r accepted span < <(sql "$db" "
    SELECT count(*) FILTER (WHERE state = 'accepted'), extract(epoch FROM max(accepted_at) - min(first_attempt_at)) FROM messages" | tr '|' ' ')
  rate=$(div "$accepted" "$wall")
  HTTP_RSS[$p]=$(peak_rss_mb "$OUT/http-$p.time")
  printf "%-8s round %s run: accepted %s of %s in %.2f s wall (%.2f s first claim → last accepted) = %s msg/s; peak RSS %s MB\n" \
    "$p" "$r" "$accepted" "$HTTP_N" "$wall" "$span" "$rate" "${HTTP_RSS[$p]}"
  pgss_top "$db"
  echo "         statements: $(batches "$db"); worker CPU $(cpu_s "$OUT/http-$p.time") s, sandbox CPU $(echo "$s1 - $s0" | bc -l) s, machine busy $(machine_busy "$c0" "$c1") %"
  curl -s -X POST "http://127.0.0.1:$SB_PORT/sandbox/reset" >/dev/null
  c0=$(cpu_snap); s0=$(proc_cpu_s $SB_PID)
  line=$("$BIN" bench-client --url "http://127.0.0.1:$SB_PORT" --provider "$p" --sends "$HTTP_N" --concurrency "$CONCURRENCY" || true)
  c1=$(cpu_snap); s1=$(proc_cpu_s $SB_PID)
  alone=$(echo "$line" | sed -n 's/.* = \([0-9]*\) sends\/s.*/\1/p')
  echo "$p round $r client alone: $line; sandbox CPU $(echo "$s1 - $s0" | bc -l) s, machine busy $(machine_busy "$c0" "$c1") %; ratio $(ratio "$rate" "$alone")"
  runs+=("$rate") alones+=("$alone") ratios+=("$(ratio "$rate" "$alone")")
  settle "http_${p}_$r"
  done
  HTTP_RATE[$p]=$(median "${runs[@]}")
  CLIENT_RATE[$p]=$(median "${alones[@]}")
  HTTP_RATIO[$p]=$(median "${ratios[@]}")
  HTTP_RATIOS[$p]="${ratios[*]}"
done
fi

# --- summary ----------------------------------------------------------------------------------
echo
echo "== results ($(date -u +%F), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
printf "%-58s %12s\n" "figure" "msg/s"
printf "%-58s %12s\n" "(1) engine, null provider (wall of run, $N msgs)" "$ENGINE_RATE"
printf "%-58s %12s\n" "    same, first claim → last accepted_at" "$ENGINE_SPAN_RATE"
printf "%-58s %12s\n" "(2) pgbench ceiling, same statements ($CLIENTS clients)" "$PGB_RATE"
printf "%-58s %12s\n" "(3) PgQueuer drain, no-op jobs ($PGQ_WORKERS QMs, batch $PGQ_BATCH)" "$PGQ_RATE"
for p in plum restcomm; do
  printf "%-58s %12s\n" "(4) run → sandbox over HTTP, $p, to accepted (median)" "${HTTP_RATE[$p]:-n/a}"
  printf "%-58s %12s\n" "    $p client alone (bench-client, $CONCURRENCY in flight, median)" "${CLIENT_RATE[$p]:-n/a}"
done
echo
echo "targets:"
printf "  engine / pgbench ceiling   %5s   (target ≥ 0.5)\n" "$(ratio "$ENGINE_RATE" "$PGB_RATE")"
printf "  engine / PgQueuer          %5s   (target ≥ 2)%s\n" "$(ratio "$ENGINE_RATE" "$PGQ_RATE")" "${PGQ_WHY:+  — $PGQ_WHY}"
for p in plum restcomm; do
  printf "  %-8s HTTP / client    %5s   (target ≥ 0.8; median of the rounds %s)\n" "$p" "${HTTP_RATIO[$p]:-n/a}" "${HTTP_RATIOS[$p]:-n/a}"
done
printf "  peak RSS engine run        %5s MB (target < 150; CPU %s s)\n" "$ENGINE_RSS" "$ENGINE_CPU"
printf "  peak RSS HTTP runs         %5s / %s MB (plum / restcomm)\n" "${HTTP_RSS[plum]:-n/a}" "${HTTP_RSS[restcomm]:-n/a}"
