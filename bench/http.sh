#!/usr/bin/env bash
# Benchmarks of the HTTP layer; prints figures, asserts nothing.
#  (a) requests/s of our HTTP server (the sandbox's GET /sandbox/ping) under wrk with
#      keep-alive, beside nginx serving a fixed answer from a private prefix, same run;
#  (b) sends/s and CPU µs per send of the provider clients against the sandbox, both
#      transports (own sockets, URLSession), release build, loopback.
# Usage: bench/http.sh   (env: DURATION=10s CONNECTIONS=64 THREADS=1 SENDS=20000)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-1}
SENDS=${SENDS:-20000}
OUT=bench/out
mkdir -p "$OUT"
command -v wrk >/dev/null || { echo "wrk missing: apt-get install -y wrk nginx" >&2; exit 1; }
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { echo "nginx missing: apt-get install -y nginx" >&2; exit 1; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

swift build -c release --product dispatcher >/dev/null
BIN=$(swift build -c release --show-bin-path)/dispatcher

PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done; true; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 did not open" >&2; return 1; }
rps() { awk '/Requests\/sec/ {print $2}'; }

# --- nginx with a private prefix, fixed answer, keep-alive -------------------------------
NGX_PORT=$(free_port)
NGX_DIR=$(mktemp -d)
mkdir -p "$NGX_DIR/logs"
cat > "$NGX_DIR/nginx.conf" <<NGX
worker_processes 1;
daemon off;
pid $NGX_DIR/nginx.pid;
error_log $NGX_DIR/logs/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NGX_PORT;
    location / { default_type text/plain; return 200 "pong\n"; }
  }
}
NGX
"$NGINX" -p "$NGX_DIR" -c "$NGX_DIR/nginx.conf" &
PIDS+=($!)
wait_port "$NGX_PORT"

# --- our server: the sandbox's ping route ----------------------------------------------
SB_PORT=$(free_port)
"$BIN" sandbox --listen 127.0.0.1:"$SB_PORT" --profile perfect >"$OUT/sandbox.log" 2>&1 &
SB_PID=$!
PIDS+=($SB_PID)
wait_port "$SB_PORT"

echo "== (a) HTTP server under wrk -t$THREADS -c$CONNECTIONS -d$DURATION, keep-alive, GET fixed answer"
wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "http://127.0.0.1:$NGX_PORT/" >/dev/null   # warm-up
NGX_RPS=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "http://127.0.0.1:$NGX_PORT/" | tee "$OUT/wrk-nginx.txt" | rps)
wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "http://127.0.0.1:$SB_PORT/sandbox/ping" >/dev/null
OUR_RPS=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "http://127.0.0.1:$SB_PORT/sandbox/ping" | tee "$OUT/wrk-dispatcher.txt" | rps)
printf "nginx       %10.0f req/s\n" "$NGX_RPS"
printf "dispatcher  %10.0f req/s\n" "$OUR_RPS"
awk -v a="$OUR_RPS" -v b="$NGX_RPS" 'BEGIN { printf "ratio       %10.2f x nginx\n", a / b }'

kill "$(cat "$NGX_DIR/nginx.pid")" 2>/dev/null || true
rm -rf "$NGX_DIR"

echo
echo "== (b) provider client → sandbox (release, loopback), $SENDS sends"
for transport in sockets urlSession; do
  for provider in plum restcomm; do
    n=$SENDS
    [ "$transport" = urlSession ] && n=$((SENDS / 4))
    curl -s -X POST "http://127.0.0.1:$SB_PORT/sandbox/reset" >/dev/null
    "$BIN" bench-client --url "http://127.0.0.1:$SB_PORT" --provider "$provider" --sends "$n" --concurrency 32 --transport "$transport"
  done
done
