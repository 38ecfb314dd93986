#!/usr/bin/env bash
# Chaos suite: exactly once under faults, and throughput with a held xmin. Prints figures,
# asserts nothing; exits non-zero only when the harness itself broke.
#
# Part "chaos" (per seed): a private cluster (unix socket, fsync=off, synchronous_commit on,
# so an immediate shutdown loses no acknowledged commit), `dispatcher sandbox` (Plum and
# Restcomm on one port, callbacks on), two `dispatcher run` workers (worker ids w1 and w2,
# the same configuration but each its own listen port and public_url: callbacks for a
# message go to the worker that sent it), and two campaigns of CHAOS_N/2 messages each (one
# Plum sender, one Restcomm sender; bodies of 1-3 GSM-7 segments; every recipient unique)
# submitted with `dispatcher submit` from generated JSON job files. Two fault lanes drawn from
# the seed (bash RANDOM) run side by side for CHAOS_FAULT_S seconds, one fault at a time each:
#   processes and database: SIGKILL of a worker and a restart; SIGSTOP of a worker past its
#     lease, then SIGCONT; pg_terminate_backend of every worker session; `pg_ctl restart -m
#     fast` and `-m immediate`; the server stopped for a few seconds while the sandbox keeps
#     posting callbacks (they fail; polls settle those messages);
#   the provider (POST /sandbox/knobs): an outage (refuse: 503; reset: connection reset after
#     the request was read), accept-then-5xx, late commits with a lagging list, slow answers,
#     callback storms (duplicates and reordering).
# Each fault is printed when applied (seconds since the campaign was submitted). Then every
# worker is running, the server up and the knobs back at their baseline; the script waits
# until every message is final (CHAOS_TIMEOUT_S at most) and compares the sandbox's own ledger
# (GET /sandbox/stats, GET /sandbox/messages: every accepted send) with the database.
#
# Definitions (one line per seed, then totals):
#   final        messages in a final state (delivered, undelivered, failed, expired,
#                cancelled, suppressed, unconfirmed).
#   lost         messages that are any of: (a) not final at the end; (b) accepted by the
#                sandbox at least once but not accepted-or-later in the database (accepted,
#                sent, delivered, undelivered, unconfirmed, or failed with a provider id);
#                (c) accepted-or-later in the database but never accepted by the sandbox, or
#                carrying a provider id that is not one of the sandbox's ids for it.
#                A message that ends failed or expired without ever being accepted is not
#                lost (counted as "unsent final"; none are expected here: nothing expires and
#                retry.max_attempts is high).
#   sent twice   messages the sandbox accepted more than once (recipients are unique, so the
#                sandbox's own `duplicates` counter, sends of a message it had already
#                accepted, is printed beside it and should agree).
#   in doubt     transitions into in_doubt (message_events), and how they were settled:
#                found at the provider (→ accepted) or not found within the horizon (→ pending,
#                sent again).
#   retries      sum(attempts) - messages (attempts given back for sends that provably never
#                reached the provider are not counted).
# The fault schedule is reproducible from the seed; the interleaving with the workers is not
# (it depends on timing). Replay one seed with CHAOS_SEEDS=1234.
#
# Part "xmin": a constant offered load (XMIN_RATE messages/s inserted with SQL, Restcomm,
# sandbox --profile perfect with callbacks and delivery delays, one worker) for XMIN_WARM_S +
# XMIN_HOLD_S seconds, twice: baseline, then with a psql session idle in a REPEATABLE READ
# transaction that took a snapshot (holding back xmin, so vacuum removes nothing) for the
# XMIN_HOLD_S window. Prints messages accepted/s and delivered/s over the window, their ratio
# to the baseline, n_dead_tup of messages, message_events and callback_inbox, and the
# backlog (pending + sending + in_doubt + accepted + sent) before, every XMIN_SAMPLE_S
# during, and after.
#
# Usage: bench/chaos.sh
#   env: CHAOS_PARTS="chaos xmin"   CHAOS_N=5000   CHAOS_RUNS=1   CHAOS_BASE_SEED=1
#        CHAOS_SEEDS="1234 99" (explicit seeds; overrides RUNS/BASE_SEED)
#        CHAOS_SEND_S=60 (sender rates sized to send the campaign in about this long)
#        CHAOS_FAULT_S=90 (faults start within this window)   CHAOS_TIMEOUT_S=600
#        CHAOS_QUICK=1: CHAOS_RUNS=2 CHAOS_N=300 CHAOS_PARTS=chaos, shorter faults, CHAOS_TIMEOUT_S=120 (CI)
#        XMIN_HOLD_S=300 XMIN_WARM_S=30 XMIN_RATE=500 XMIN_SAMPLE_S=60
#        XMIN_RUNS="baseline held" (either alone: XMIN_RUNS=held)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${CHAOS_QUICK:-}" ] && [ "${CHAOS_QUICK}" != 0 ]; then
  : "${CHAOS_RUNS:=2}" "${CHAOS_N:=300}" "${CHAOS_PARTS:=chaos}" "${CHAOS_SEND_S:=15}" "${CHAOS_FAULT_S:=25}" "${CHAOS_TIMEOUT_S:=120}"
  QUICK=1
else
  QUICK=0
fi
CHAOS_PARTS=${CHAOS_PARTS:-chaos xmin}
CHAOS_N=${CHAOS_N:-5000}
CHAOS_RUNS=${CHAOS_RUNS:-1}
CHAOS_BASE_SEED=${CHAOS_BASE_SEED:-1}
CHAOS_SEND_S=${CHAOS_SEND_S:-60}
CHAOS_FAULT_S=${CHAOS_FAULT_S:-90}
CHAOS_TIMEOUT_S=${CHAOS_TIMEOUT_S:-600}
XMIN_HOLD_S=${XMIN_HOLD_S:-300}
XMIN_WARM_S=${XMIN_WARM_S:-30}
XMIN_RATE=${XMIN_RATE:-500}
XMIN_SAMPLE_S=${XMIN_SAMPLE_S:-60}
XMIN_RUNS=${XMIN_RUNS:-baseline held}
LEASE_S=6
HORIZON_S=30
part() { [[ " $CHAOS_PARTS " == *" $1 "* ]]; }

if [ -n "${CHAOS_SEEDS:-}" ]; then
  read -r -a SEEDS <<< "$CHAOS_SEEDS"
else
  # A fixed derivation, so "CHAOS_RUNS=20" always means the same 20 seeds.
  SEEDS=()
  for i in $(seq 1 "$CHAOS_RUNS"); do SEEDS+=($(( (CHAOS_BASE_SEED * 7919 + i * 104729) % 100000 ))); done
fi

for tool in curl bc python3; do
  command -v "$tool" >/dev/null || apt-get install -y -qq "$tool" >/dev/null 2>&1 || { echo "$tool missing" >&2; exit 1; }
done
source bench/lib.sh
require_int CHAOS_N CHAOS_RUNS CHAOS_BASE_SEED CHAOS_SEND_S CHAOS_FAULT_S CHAOS_TIMEOUT_S XMIN_HOLD_S XMIN_WARM_S XMIN_RATE XMIN_SAMPLE_S
OUT=bench/out
mkdir -p "$OUT"
T_START=$(date +%s)
build_release
start_cluster
PG_OPTS="-c listen_addresses='' -k '$DIR' -p 5432 -c fsync=off -c max_wal_size=4GB -c shared_buffers=256MB -c max_connections=200 ${PG_EXTRA_OPTS:-}"
pg_up() { as_pg "$PGBIN/pg_ctl" start -w -D "$DIR/data" -l "$DIR/server.log" -o "$PG_OPTS" >/dev/null; }
pg_ready() { "$PSQL" -qAt -d postgres -c "SELECT 1" >/dev/null 2>&1; }

# Workers run under a wrapper subshell that records their exit status; their pids live in
# files so the fault lanes (subshells) and the main loop share them.
chaos_cleanup() {
  for f in "$DIR"/*.pid; do
    [ -e "$f" ] || continue
    p=$(cat "$f" 2>/dev/null || true)
    [ -n "$p" ] && { kill -CONT "$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; } || true
  done
  for p in "${LANES[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  cleanup
}
LANES=()
trap chaos_cleanup EXIT

# worker_config FILE LISTEN_PORT SANDBOX_PORT PLUM_RATE RESTCOMM_RATE [EXTRA_JSON_MEMBERS]
worker_config() {
  cat > "$1" <<JSON
{
  "listen": "127.0.0.1:$2",
  "public_url": "http://127.0.0.1:$2",
  "providers": {
    "plum": {"kind": "plum", "base_url": "http://127.0.0.1:$3", "username": "sandbox", "password": "sandbox", "timeout_s": 2},
    "restcomm": {"kind": "restcomm", "base_url": "http://127.0.0.1:$3/restcomm", "account_sid": "ACsandbox",
                 "auth_token": "sandbox", "timeout_s": 2}
  },
  "senders": {"2435678910": {"provider": "plum", "rate_per_second": $4, "burst": $4},
              "2435678911": {"provider": "restcomm", "rate_per_second": $5, "burst": $5}},
  "retry": {"max_attempts": 20, "base_delay_s": 1, "max_delay_s": 5},
  "poll": {"after_s": 2, "give_up_after_s": 86400},
  "in_doubt": {"horizon_s": $HORIZON_S, "lookup_every_s": 3},
  "breaker": {"failures": 5, "probe_after_s": 1, "max_probe_interval_s": 5},
  "lease_s": $LEASE_S${6:+,
  $6}
}
JSON
}

# start_worker NAME: starts `dispatcher run` for worker NAME (w1, w2) with $DIR/NAME.json.
start_worker() {
  local name=$1
  ( DATABASE_URL="$DB" "$BIN" run --config "$DIR/$name.json" --worker-id "$name" --no-spool --grace-s 5 >>"$OUT/chaos-$name.log" 2>&1 &
    echo $! > "$DIR/$name.pid"
    wait $! && rc=0 || rc=$?
    echo "$rc" > "$DIR/$name.rc" ) 2>/dev/null &   # (no "Killed" notice from the wrapper)
  for _ in $(seq 100); do [ -s "$DIR/$name.pid" ] && break; sleep 0.02; done
}
worker_pid() { cat "$DIR/$1.pid" 2>/dev/null || true; }
worker_alive() { local p; p=$(worker_pid "$1"); [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }

# knobs KEY=VALUE…: POSTs the baseline knobs with these changed (POST replaces them all).
KNOB_SEQ=0
knobs() {
  KNOB_SEQ=$((KNOB_SEQ + 1))
  python3 - "$SB_SEED" "$KNOB_SEQ" "$@" > "$DIR/knobs.json" <<'PY'
import json, sys
seed, seq, pairs = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
k = {"seed": seed * 1000 + seq, "sent_delay_s": 0.1, "delivery_delay_min_s": 0.2, "delivery_delay_max_s": 2,
     "server_error_rate": 0.01, "duplicate_callback_rate": 0.02, "out_of_order_callback_rate": 0.02}
for p in pairs:
    key, value = p.split("=", 1)
    try: k[key] = json.loads(value)
    except ValueError: k[key] = value
print(json.dumps(k))
PY
  curl -sf -X POST --data-binary @"$DIR/knobs.json" "http://127.0.0.1:$SB_PORT/sandbox/knobs" >/dev/null ||
    echo "  (knobs POST failed: $*)" >&2
}

# The fault lanes print "[+T s] what" lines; T counts from the campaign's submission.
say() { printf "  [+%5.1f s] %s\n" "$(echo "$(now_s) - $T0" | bc -l)" "$*"; }
pick() { R=$(( $1 + RANDOM % ($2 - $1 + 1) )); }
lane_over() { [ "$(echo "$(now_s) - $T0 > $CHAOS_FAULT_S" | bc)" = 1 ]; }
q() { if [ "$QUICK" = 1 ]; then R=$(( ($1 + 2) / 3 )); else R=$1; fi; }   # shorter faults in quick mode

lane_processes() {
  RANDOM=$((SEED * 2 + 1))
  local n=0 w kind d p
  sleep 3
  while ! lane_over; do
    pick 1 2; w=w$R
    pick 1 6; kind=$R
    case $kind in
      1) pick 1 5; d=$R
         touch "$DIR/$w.down"; p=$(worker_pid "$w")
         say "SIGKILL worker $w (pid $p); restart in $d s"
         kill -KILL "$p" 2>/dev/null || true
         sleep "$d"; start_worker "$w"; rm -f "$DIR/$w.down"
         say "worker $w restarted (pid $(worker_pid "$w"))" ;;
      2) pick $((LEASE_S + 2)) $((LEASE_S + 10)); d=$R
         p=$(worker_pid "$w")
         say "SIGSTOP worker $w for $d s (lease ${LEASE_S} s)"
         touch "$DIR/$w.down"; kill -STOP "$p" 2>/dev/null || true
         sleep "$d"; kill -CONT "$p" 2>/dev/null || true; rm -f "$DIR/$w.down"
         say "SIGCONT worker $w" ;;
      3) d=$("$PSQL" -qAt -d postgres -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name LIKE 'dispatcher%'" 2>/dev/null || echo "?")
         say "pg_terminate_backend of every worker session ($d terminated)" ;;
      4|5) local mode=fast; [ "$kind" = 5 ] && mode=immediate
         say "pg_ctl restart -m $mode"
         as_pg "$PGBIN/pg_ctl" restart -w -D "$DIR/data" -m "$mode" -l "$DIR/server.log" -o "$PG_OPTS" >/dev/null 2>&1 || say "(restart failed)"
         say "server up again" ;;
      6) pick 3 10; d=$R; local mode=fast; pick 0 1; [ "$R" = 1 ] && mode=immediate
         say "server stopped (-m $mode) for $d s; the sandbox keeps posting callbacks"
         as_pg "$PGBIN/pg_ctl" stop -w -D "$DIR/data" -m "$mode" >/dev/null 2>&1 || true
         sleep "$d"; pg_up || say "(start failed)"
         say "server started" ;;
    esac
    n=$((n + 1))
    pick 3 10; q "$R"; sleep "$R"
  done
  echo "$n" > "$DIR/lane_processes.count"
}

lane_provider() {
  RANDOM=$((SEED * 2 + 2))
  local n=0 kind d mode a b c
  sleep 2
  while ! lane_over; do
    pick 1 6; kind=$R
    case $kind in
      1|2) mode=refuse; [ "$kind" = 2 ] && mode=reset
         pick 20 90; q "$R"; d=$R
         say "provider outage ($mode) for $d s"
         knobs outage_s="$d" outage_start_s=0 outage_mode="$mode"
         sleep "$d"; knobs; say "outage over" ;;
      3) pick 10 40; a=$R; pick 10 30; q "$R"; d=$R
         say "accept-then-5xx on 0.$(printf %02d "$a") of sends for $d s"
         knobs accept_then_5xx_rate="0.$(printf %02d "$a")"
         sleep "$d"; knobs; say "accept-then-5xx off" ;;
      4) pick 5 30; a=$R; pick 3 8; b=$R; pick 1 8; c=$R; pick 10 30; q "$R"; d=$R
         say "late commits on 0.$(printf %02d "$a") of sends (${b} s) and list lag ${c} s for $d s"
         knobs late_commit_rate="0.$(printf %02d "$a")" late_commit_delay_s="$b" list_lag_s="$c"
         sleep "$d"; knobs; say "late commits and list lag off" ;;
      5) pick 50 90; a=$R; pick 50 90; b=$R; pick 10 30; q "$R"; d=$R
         say "callback storm: duplicates 0.$a, out of order 0.$b for $d s"
         knobs duplicate_callback_rate="0.$a" out_of_order_callback_rate="0.$b"
         sleep "$d"; knobs; say "callback storm over" ;;
      6) pick 10 30; a=$R; pick 3 10; b=$R; pick 10 30; q "$R"; d=$R
         say "slow answers (accepted, answered after ${b} s) on 0.$a of sends for $d s"
         knobs slow_answer_rate="0.$a" slow_answer_delay_s="$b"
         sleep "$d"; knobs; say "slow answers off" ;;
    esac
    n=$((n + 1))
    pick 2 6; q "$R"; sleep "$R"
  done
  echo "$n" > "$DIR/lane_provider.count"
}

# keep_workers: restarts a worker that died by itself (not one a lane stopped or killed);
# says so, since that is worth knowing.
keep_workers() {
  for w in w1 w2; do
    # (alive first: a lane marks a worker down before it kills it)
    if ! worker_alive "$w" && [ ! -e "$DIR/$w.down" ]; then
      say "worker $w exited by itself (status $(cat "$DIR/$w.rc" 2>/dev/null || echo '?')): restarted"
      echo x >> "$DIR/self_exits"
      start_worker "$w"
    fi
  done
}

# jobs FILE_PREFIX N: two job files (Plum, Restcomm), N/2 messages each, 1-3 segments.
make_jobs() {
  python3 - "$1" "$2" "$SEED" <<'PY'
import json, random, sys
prefix, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
words = "appointment reminder clinic tomorrow please arrive early bring your card reply confirm to keep it".split()
def body(i, tag):
    segs = rng.choice([1, 1, 2, 3])
    target = {1: rng.randint(40, 160), 2: rng.randint(161, 306), 3: rng.randint(307, 459)}[segs]
    text = f"{tag}{i}:"
    while len(text) < target:
        text += " " + rng.choice(words)
    return text[:target].rstrip() or text
half = n // 2
for name, provider, sender, count, base in (("plum", "plum", "2435678910", half, 0),
                                            ("restcomm", "restcomm", "2435678911", n - half, half)):
    messages = [{"id": f"{name[0]}-{i}", "to": f"+1303{2000000 + base + i}", "body": body(i, name[0])}
                for i in range(count)]
    job = {"campaign": f"chaos-{name}", "from": sender, "provider": provider, "messages": messages}
    with open(f"{prefix}-{name}.json", "w") as f:
        json.dump(job, f)
    segs = sum((1 if len(m["body"]) <= 160 else -(-len(m["body"]) // 153)) for m in messages)
    print(segs, end=" ")
print()
PY
}

FINAL="'delivered', 'undelivered', 'failed', 'expired', 'cancelled', 'suppressed', 'unconfirmed'"
TOT_N=0 TOT_FINAL=0 TOT_LOST=0 TOT_TWICE=0 TOT_DUPS=0 TOT_INDOUBT=0 TOT_SETTLED=0 TOT_RETRIES=0 TOT_FAULTS=0
RESULT_LINES=()

run_seed() {
  SEED=$1 SB_SEED=$1
  echo
  echo "== seed $SEED: $CHAOS_N messages, faults for ${CHAOS_FAULT_S} s (lease ${LEASE_S} s, provider timeout 2 s, in-doubt horizon ${HORIZON_S} s)"
  settle "chaos_$SEED" 2>/dev/null || true
  DB=$(new_db "chaos_$SEED")
  rm -f "$DIR"/w?.pid "$DIR"/w?.rc "$DIR"/w?.down "$DIR"/lane_*.count "$DIR/self_exits"
  start_sandbox "$OUT/chaos-sandbox.log" --profile perfect
  knobs
  read -r PLUM_SEGS RC_SEGS < <(make_jobs "$DIR/job" "$CHAOS_N")
  local plum_rate=$(( PLUM_SEGS / CHAOS_SEND_S + 1 )) rc_rate=$(( RC_SEGS / CHAOS_SEND_S + 1 ))
  for w in w1 w2; do
    worker_config "$DIR/$w.json" "$(free_port)" "$SB_PORT" "$plum_rate" "$rc_rate" '"concurrency": 32'
    : > "$OUT/chaos-$w.log"
  done
  start_worker w1; start_worker w2
  wait_port "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["listen"].split(":")[1])' "$DIR/w1.json")"
  DATABASE_URL="$DB" "$BIN" submit --config "$DIR/w1.json" "$DIR/job-plum.json" "$DIR/job-restcomm.json" >"$OUT/chaos-submit.log" 2>&1 ||
    { echo "submit failed:"; cat "$OUT/chaos-submit.log"; return 1; }
  T0=$(now_s)
  echo "  submitted: Plum $PLUM_SEGS segments at $plum_rate/s, Restcomm $RC_SEGS segments at $rc_rate/s"
  lane_processes & LANES=($!)
  lane_provider & LANES+=($!)
  while kill -0 "${LANES[0]}" 2>/dev/null || kill -0 "${LANES[1]}" 2>/dev/null; do
    keep_workers; sleep 1
  done
  wait "${LANES[@]}" || true
  LANES=()
  # Everything back: server up, workers running, baseline knobs.
  pg_ready || pg_up || true
  for w in w1 w2; do rm -f "$DIR/$w.down"; p=$(worker_pid "$w"); [ -n "$p" ] && kill -CONT "$p" 2>/dev/null || true; done
  knobs
  say "faults over; waiting until every message is final (at most ${CHAOS_TIMEOUT_S} s)"
  local t1 left=-1
  t1=$(now_s)
  while :; do
    keep_workers
    left=$(sql "$DB" "SELECT count(*) FROM messages WHERE state NOT IN ($FINAL)" 2>/dev/null || echo -1)
    [ "$left" = 0 ] && break
    if [ "$(echo "$(now_s) - $t1 > $CHAOS_TIMEOUT_S" | bc)" = 1 ]; then say "timeout: $left messages not final"; break; fi
    sleep 2
  done
  [ "$left" = 0 ] && say "every message final"
  for w in w1 w2; do p=$(worker_pid "$w"); [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true; done
  for w in w1 w2; do for _ in $(seq 100); do worker_alive "$w" || break; sleep 0.1; done; done
  local wall
  wall=$(printf "%.0f" "$(echo "$(now_s) - $T0" | bc -l)")

  # The sandbox's ledger: every accepted send, keyed by the recipient's 10 digits.
  curl -sf "http://127.0.0.1:$SB_PORT/sandbox/stats" > "$DIR/stats.json"
  curl -sf "http://127.0.0.1:$SB_PORT/sandbox/messages" | python3 -c '
import json, re, sys
for m in json.load(sys.stdin)["messages"]:
    print(re.sub(r"\D", "", m["to"])[-10:], m["api"], m["id"], sep="\t")' > "$DIR/sandbox.tsv"
  kill "$SB_PID" 2>/dev/null; wait "$SB_PID" 2>/dev/null || true
  read -r SB_ACCEPTED SB_DUPS SB_LINE < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["accepted"], d["duplicates"], "requests %d, 5xx-after-accept %d, late commits %d, outage refusals %d (sends %d), server errors %d, slow answers %d, callbacks sent %d failed %d" % (
  d["requests"], d["accepted_then_5xx"], d["late_commits"], d["outage_requests"], d["outage_sends"], d["server_errors"],
  d["slow_answers"], d["callbacks_sent"], d["callbacks_failed"]))' "$DIR/stats.json")
  sql "$DB" "CREATE TABLE chaos_sandbox (k text, api text, id text)" >/dev/null
  "$PSQL" -qAt -d "$DB" -c "\\copy chaos_sandbox FROM '$DIR/sandbox.tsv'" >/dev/null
  local ACC="state IN ('accepted', 'sent', 'delivered', 'undelivered', 'unconfirmed') OR (state = 'failed' AND provider_message_id IS NOT NULL)"
  read -r M F NONFINAL UNRECORDED PHANTOM LOST TWICE UNSENT RETRIES STRAY < <(sql "$DB" "
    WITH s AS (SELECT k, count(*) n, array_agg(id) ids FROM chaos_sandbox GROUP BY k),
         j AS (SELECT m.state, m.attempts, m.provider_message_id, coalesce(s.n, 0) n, s.ids,
                      m.state NOT IN ($FINAL) AS nonfinal,
                      coalesce(s.n, 0) > 0 AND NOT ($ACC) AS unrecorded,
                      ($ACC) AND (coalesce(s.n, 0) = 0 OR NOT coalesce(m.provider_message_id = ANY (s.ids), false)) AS phantom
                 FROM messages m LEFT JOIN s ON s.k = right(regexp_replace(m.to_number, '\D', '', 'g'), 10))
    SELECT count(*), count(*) FILTER (WHERE NOT nonfinal), count(*) FILTER (WHERE nonfinal),
           count(*) FILTER (WHERE unrecorded), count(*) FILTER (WHERE phantom),
           count(*) FILTER (WHERE nonfinal OR unrecorded OR phantom), count(*) FILTER (WHERE n > 1),
           count(*) FILTER (WHERE n = 0 AND NOT nonfinal), coalesce(sum(attempts), 0) - count(*),
           (SELECT count(*) FROM chaos_sandbox c WHERE NOT EXISTS
              (SELECT 1 FROM messages m WHERE right(regexp_replace(m.to_number, '\D', '', 'g'), 10) = c.k))
      FROM j" | tr '|' ' ')
  read -r INDOUBT TO_ACC TO_PENDING TO_OTHER < <(sql "$DB" "
    SELECT count(*) FILTER (WHERE to_state = 'in_doubt'),
           count(*) FILTER (WHERE from_state = 'in_doubt' AND to_state = 'accepted'),
           count(*) FILTER (WHERE from_state = 'in_doubt' AND to_state = 'pending'),
           count(*) FILTER (WHERE from_state = 'in_doubt' AND to_state NOT IN ('accepted', 'pending', 'in_doubt'))
      FROM message_events" | tr '|' ' ')
  local STATES
  STATES=$(sql "$DB" "SELECT string_agg(state || ' ' || n, ', ' ORDER BY n DESC) FROM (SELECT state, count(*) n FROM messages GROUP BY 1) s")
  local faults=$(( $(cat "$DIR/lane_processes.count" 2>/dev/null || echo 0) + $(cat "$DIR/lane_provider.count" 2>/dev/null || echo 0) ))
  local self_exits=0; [ -e "$DIR/self_exits" ] && self_exits=$(wc -l < "$DIR/self_exits")
  echo "  states: $STATES"
  echo "  lost: $NONFINAL not final, $UNRECORDED accepted by the sandbox but not in the database, $PHANTOM recorded as accepted without a matching sandbox send; unsent final $UNSENT; sandbox sends matching no message $STRAY"
  echo "  in doubt: $INDOUBT went in doubt; settled $TO_ACC found at the provider (accepted), $TO_PENDING not found (sent again), $TO_OTHER otherwise"
  echo "  sandbox: accepted $SB_ACCEPTED, duplicates $SB_DUPS; $SB_LINE"
  echo "  workers exiting by themselves: $self_exits"
  local line
  line=$(printf "seed %6s  messages %6s  final %6s  lost %3s  sent twice %3s (sandbox duplicates %s)  in-doubt settled %5s  retries %5s  faults %2s  %4s s" \
    "$SEED" "$M" "$F" "$LOST" "$TWICE" "$SB_DUPS" "$((TO_ACC + TO_PENDING + TO_OTHER))" "$RETRIES" "$faults" "$wall")
  echo "$line"
  RESULT_LINES+=("$line")
  TOT_N=$((TOT_N + M)) TOT_FINAL=$((TOT_FINAL + F)) TOT_LOST=$((TOT_LOST + LOST)) TOT_TWICE=$((TOT_TWICE + TWICE))
  TOT_DUPS=$((TOT_DUPS + SB_DUPS)) TOT_SETTLED=$((TOT_SETTLED + TO_ACC + TO_PENDING + TO_OTHER)) TOT_INDOUBT=$((TOT_INDOUBT + INDOUBT))
  TOT_RETRIES=$((TOT_RETRIES + RETRIES)) TOT_FAULTS=$((TOT_FAULTS + faults))
  settle "chaos_$SEED" 2>/dev/null || true
}

if part chaos; then
  for s in "${SEEDS[@]}"; do run_seed "$s"; done
  echo
  echo "== chaos results ($(date -u +%F), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)); replay one with CHAOS_SEEDS=SEED"
  for l in "${RESULT_LINES[@]}"; do echo "$l"; done
  printf "total: %s seeds  messages %s  final %s  lost %s  sent twice %s (sandbox duplicates %s)  in doubt %s, settled %s  retries %s  faults %s\n" \
    "${#SEEDS[@]}" "$TOT_N" "$TOT_FINAL" "$TOT_LOST" "$TOT_TWICE" "$TOT_DUPS" "$TOT_INDOUBT" "$TOT_SETTLED" "$TOT_RETRIES" "$TOT_FAULTS"
fi

# --- held xmin ------------------------------------------------------------------------------
xmin_run() {  # LABEL HOLD(0|1)
  local label=$1 hold=$2
  settle "xmin_$label" 2>/dev/null || true
  DB=$(new_db "xmin_$label")
  sql "$DB" "INSERT INTO campaigns (name, provider, from_number) VALUES ('xmin', 'restcomm', '+12435678911')" >/dev/null
  local port; port=$(free_port)
  worker_config "$DIR/x.json" "$port" "$SB_PORT" 1000000 1000000 '"concurrency": 64'
  # (this part: leases and horizons of a normal deployment, not the chaos part's short ones)
  sed -i 's/"lease_s": [0-9]*/"lease_s": 30/; s/"after_s": 2,/"after_s": 10,/' "$DIR/x.json"
  curl -s -X POST "http://127.0.0.1:$SB_PORT/sandbox/reset" >/dev/null
  DATABASE_URL="$DB" "$BIN" run --config "$DIR/x.json" --worker-id x1 --no-spool >"$OUT/xmin-$label-run.log" 2>&1 &
  local run_pid=$!
  track "$run_pid"
  wait_port "$port"
  local total=$((XMIN_WARM_S + XMIN_HOLD_S)) t0 k=0 holder=""
  t0=$(date +%s)
  # The offered load: XMIN_RATE messages every second, on the second (one psql each).
  ( while [ $k -lt $total ]; do
      "$PSQL" -qAt -d "$DB" -c "
        WITH m AS (INSERT INTO messages (campaign_id, external_id, provider, from_number, to_number, segments, due_at, next_attempt_at)
                   SELECT c.id, 't$k-' || i, 'restcomm', '+12435678911', '+1303' || (2000000 + i), 1, now(), now()
                     FROM generate_series(1, $XMIN_RATE) i, (SELECT id FROM campaigns WHERE name = 'xmin') c
                   RETURNING id)
        INSERT INTO message_bodies (message_id, body) SELECT id, 'Reminder ' || id || ': your appointment is tomorrow at 10:30. Reply STOP to opt out.' FROM m" >/dev/null 2>&1 || true
      k=$((k + 1))
      sleep "$(echo "$t0 + $k - $(now_s)" | bc -l | awk '{ print ($1 > 0 ? $1 : 0) }')"
    done ) &
  local load_pid=$!
  track "$load_pid"
  sample() {  # WHAT
    local dead backlog done_ errs
    dead=$(sql "$DB" "SELECT string_agg(relname || ' ' || n_dead_tup, ', ' ORDER BY relname) FROM pg_stat_user_tables
                       WHERE relname IN ('messages', 'message_events', 'callback_inbox')")
    backlog=$(sql "$DB" "SELECT count(*) FROM messages WHERE state IN ('pending', 'sending', 'in_doubt', 'accepted', 'sent')")
    done_=$(sql "$DB" "SELECT count(*) FILTER (WHERE accepted_at IS NOT NULL) || ' accepted, ' || count(*) FILTER (WHERE state = 'delivered') || ' delivered of ' || count(*) FROM messages")
    # the worker's own count of failed passes, by service (its applier does not log them)
    errs=$(curl -s "http://127.0.0.1:$port/metrics" | awk '/^dispatcher_errors_total/ { sub(/.*service="/, ""); sub(/".* /, " "); printf "%s%s", sep, $0; sep = ", " }')
    printf "  %-28s +%4s s  dead tuples: %s; backlog %s; %s; worker errors: %s\n" "$1" "$(( $(date +%s) - t0 ))" "$dead" "$backlog" "$done_" "${errs:-none}"
  }
  sleep "$XMIN_WARM_S"
  sample "before"
  local w0 w1
  w0=$(sql "$DB" "SELECT now()")
  if [ "$hold" = 1 ]; then
    ( echo "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1 FROM messages LIMIT 1;"; sleep "$XMIN_HOLD_S"; echo "COMMIT;" ) |
      PGAPPNAME=xmin-holder "$PSQL" -qAt -d "$DB" >/dev/null &
    holder=$!
    track "$holder"
    sleep 1
    echo "  holder: $(sql "$DB" "SELECT state || ', backend_xmin ' || backend_xmin FROM pg_stat_activity WHERE backend_xmin IS NOT NULL AND state LIKE 'idle in%' LIMIT 1")"
  fi
  local el=0
  while [ $el -lt "$XMIN_HOLD_S" ]; do
    local step=$(( XMIN_HOLD_S - el < XMIN_SAMPLE_S ? XMIN_HOLD_S - el : XMIN_SAMPLE_S ))
    sleep "$step"; el=$((el + step))
    sample "during ($([ "$hold" = 1 ] && echo held || echo baseline))"
  done
  w1=$(sql "$DB" "SELECT now()")
  wait "$load_pid" 2>/dev/null || true
  [ -n "$holder" ] && { wait "$holder" 2>/dev/null || true; }
  sample "load stopped$([ "$hold" = 1 ] && echo ', released')"
  sleep 30
  sample "after (+30 s)"
  read -r XACC XDEL < <(sql "$DB" "
    SELECT round(count(*) FILTER (WHERE accepted_at >= '$w0' AND accepted_at < '$w1') / extract(epoch FROM '$w1'::timestamptz - '$w0'), 1),
           round(count(*) FILTER (WHERE state = 'delivered' AND final_at >= '$w0' AND final_at < '$w1') / extract(epoch FROM '$w1'::timestamptz - '$w0'), 1)
      FROM messages" | tr '|' ' ')
  kill -TERM "$run_pid" 2>/dev/null; wait "$run_pid" 2>/dev/null || true
  echo "  $label: over the ${XMIN_HOLD_S} s window: $XACC accepted/s, $XDEL delivered/s (offered $XMIN_RATE/s)"
  settle "xmin_$label"
}

if part xmin; then
  echo
  echo "== held xmin: $XMIN_RATE msg/s offered (Restcomm, callbacks on) for ${XMIN_WARM_S} s + ${XMIN_HOLD_S} s; baseline, then an idle REPEATABLE READ snapshot held for ${XMIN_HOLD_S} s"
  start_sandbox "$OUT/xmin-sandbox.log" --profile perfect --sent-delay-s 0.05 --delivery-delay-min-s 0.1 --delivery-delay-max-s 0.5
  BASE_ACC=n/a BASE_DEL=n/a XACC=n/a XDEL=n/a
  if [[ " $XMIN_RUNS " == *" baseline "* ]]; then
    echo "-- baseline"
    xmin_run baseline 0
    BASE_ACC=$XACC BASE_DEL=$XDEL XACC=n/a XDEL=n/a
  fi
  if [[ " $XMIN_RUNS " == *" held "* ]]; then
    echo "-- held"
    xmin_run held 1
  fi
  echo
  echo "== held-xmin results ($(date -u +%F), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
  echo "accepted/s: baseline $BASE_ACC, held $XACC, ratio $(ratio "$XACC" "$BASE_ACC"); delivered/s: baseline $BASE_DEL, held $XDEL, ratio $(ratio "$XDEL" "$BASE_DEL")"
fi
echo
echo "chaos.sh wall time: $(( $(date +%s) - T_START )) s"
