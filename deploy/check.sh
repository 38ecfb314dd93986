#!/usr/bin/env bash
# Static checks of deploy/: nginx -t on the site, systemd-analyze verify on the unit,
# bash -n on the scripts, no credentials on psql command lines, JSON validity of the
# examples, and roles.sql's shape.
# (roles.sql itself is applied to a real database by Tests/StoreTests/DeployRolesTests.)
# Exits non-zero when any check fails. Installs nginx/openssl with apt-get when missing.
set -uo pipefail
cd "$(dirname "$0")"
failures=0
pass() { printf 'ok    %s\n' "$1"; }
fail() { printf 'FAIL  %s\n' "$1"; [ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/      /'; failures=$((failures + 1)); }
skip() { printf 'skip  %s\n' "$1"; }
TMP=$(mktemp -d /tmp/dispatcher-deploy-check.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# ---- tools ------------------------------------------------------------------------------
need=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v openssl >/dev/null || need+=(openssl)
if ((${#need[@]})); then
  echo "installing: ${need[*]}"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"; } >/dev/null 2>&1 \
    || fail "apt-get install ${need[*]}"
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# ---- nginx -t: the site inside a throwaway main config, with a self-signed certificate ------
if [ -x "$NGINX" ] && command -v openssl >/dev/null; then
  mkdir -p "$TMP/nginx/logs"
  if openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=sms.example.com" \
       -keyout "$TMP/nginx/key.pem" -out "$TMP/nginx/cert.pem" >/dev/null 2>&1; then
    # The site as shipped, except the certificate placeholders point at the throwaway pair.
    sed -e "s|^\(\s*ssl_certificate\s\+\)/etc/ssl/[^;]*;|\1$TMP/nginx/cert.pem;|" \
        -e "s|^\(\s*ssl_certificate_key\s\+\)/etc/ssl/[^;]*;|\1$TMP/nginx/key.pem;|" \
        nginx/dispatcher.conf >"$TMP/nginx/site.conf"
    cat >"$TMP/nginx/nginx.conf" <<NGX
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/logs/error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $TMP/nginx/body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    include $TMP/nginx/site.conf;
}
NGX
    if out=$("$NGINX" -t -q -p "$TMP/nginx" -e "$TMP/nginx/logs/error.log" -c "$TMP/nginx/nginx.conf" 2>&1); then
      if [ -n "$out" ]; then fail "nginx -t nginx/dispatcher.conf (warnings)" "$out"; else pass "nginx -t nginx/dispatcher.conf"; fi
    else
      fail "nginx -t nginx/dispatcher.conf" "$out"
    fi
    grep -q 'ssl_certificate\s\+/etc/ssl/' nginx/dispatcher.conf || fail "nginx/dispatcher.conf: certificate paths are placeholders under /etc/ssl"
    # ---- the access log keeps no secret and no number: the site served for real --------------
    # (on a free port, logging under $TMP; no dispatcher behind it, so the answers are 404/502)
    read -r PORT PLAIN < <(python3 -c 'import socket; a=socket.socket(); b=socket.socket(); a.bind(("127.0.0.1", 0)); b.bind(("127.0.0.1", 0)); print(a.getsockname()[1], b.getsockname()[1])')
    sed -e "s|^\(\s*listen\s\+\)443 ssl;|\1127.0.0.1:$PORT ssl;|" -e "s|^\(\s*listen\s\+\)80;|\1127.0.0.1:$PLAIN;|" -e "/listen \[::\]:/d" \
        -e "s|/var/log/nginx/dispatcher.access.log|$TMP/nginx/logs/access.log|" "$TMP/nginx/site.conf" >"$TMP/nginx/live.conf"
    sed -e "s|$TMP/nginx/site.conf|$TMP/nginx/live.conf|" "$TMP/nginx/nginx.conf" >"$TMP/nginx/live-nginx.conf"
    if out=$("$NGINX" -p "$TMP/nginx" -e "$TMP/nginx/logs/error.log" -c "$TMP/nginx/live-nginx.conf" 2>&1); then
      out=$(python3 - "$PORT" <<'PY' 2>&1
import http.client, ssl, sys
context = ssl._create_unverified_context()
for method, path, referer in [("POST", "/callbacks/plum/SECRET-CALLBACK-TOKEN", None),
                              ("POST", "/inbound/plum/SECRET-INBOUND-KEY?x=1", None),
                              ("GET", "/console/messages?q=%2B12025550143", "https://sms.example.com/console/messages?q=%2B12025550143")]:
    c = http.client.HTTPSConnection("127.0.0.1", int(sys.argv[1]), context=context, timeout=10)
    c.request(method, path, body=b"" if method == "POST" else None, headers={"Referer": referer} if referer else {})
    c.getresponse().read()
    c.close()
PY
) || fail "nginx access log: requests to the live site" "$out"
      "$NGINX" -p "$TMP/nginx" -e "$TMP/nginx/logs/error.log" -c "$TMP/nginx/live-nginx.conf" -s quit 2>/dev/null
      sleep 0.5
      log=$(cat "$TMP/nginx/logs/access.log" 2>/dev/null)
      if [ "$(printf '%s\n' "$log" | grep -c .)" -lt 3 ]; then fail "nginx access log: expected 3 lines" "$log"
      elif printf '%s' "$log" | grep -q -e SECRET -e 2025550143; then fail "nginx access log shows a secret or a number" "$log"
      else pass "nginx access log masks callback tokens, inbound keys, console queries and their referers"; fi
    else
      fail "nginx: starting the site on a free port" "$out"
    fi
  else
    fail "openssl: self-signed certificate for nginx -t"
  fi
else
  fail "nginx -t: nginx or openssl unavailable"
fi

# ---- keep-alive: nginx closes idle upstream connections before the dispatcher does ---------
# Otherwise a request nginx sends just as the dispatcher closes the connection gets a 502.
# nginx's upstream keepalive_timeout (default 60s) must be clearly below the dispatcher's
# http.idle_timeout_s (dispatcher.json.example; 75 s when unset).
if out=$(python3 - nginx/dispatcher.conf dispatcher.json.example <<'PY' 2>&1
import json, re, sys
conf = open(sys.argv[1]).read()
block = re.search(r"upstream\s+dispatcher\s*\{([^}]*)\}", conf)
if not block:
    sys.exit("no upstream dispatcher block")
m = re.search(r"^\s*keepalive_timeout\s+(\d+)(ms|s|m)?\s*;", block.group(1), re.M)
nginx = 60.0 if not m else int(m.group(1)) * {"ms": 0.001, "s": 1, None: 1, "m": 60}[m.group(2)]
idle = json.load(open(sys.argv[2])).get("http", {}).get("idle_timeout_s", 75)
if not nginx + 5 <= idle:
    sys.exit(f"upstream keepalive_timeout {nginx:g}s is not clearly below the dispatcher's idle timeout {idle:g}s")
print(f"{nginx:g}s < {idle:g}s")
PY
); then pass "nginx upstream keepalive_timeout below the dispatcher's idle timeout ($out)"; else fail "nginx upstream keepalive_timeout" "$out"; fi

# ---- systemd-analyze verify ----------------------------------------------------------------
# verify also checks that ExecStart's binary exists: point it at the built binary when there
# is one here, else /bin/true. Any output (unknown keys, bad values) counts as a failure.
if command -v systemd-analyze >/dev/null; then
  BIN=$(ls -t ../.build/{release,debug}/dispatcher 2>/dev/null | head -1 || true)
  BIN=$([ -n "$BIN" ] && realpath "$BIN" || echo /bin/true)
  sed "s|^ExecStart=/usr/local/bin/dispatcher |ExecStart=$BIN |" dispatcher.service >"$TMP/dispatcher.service"
  out=$(SYSTEMD_LOG_COLOR=0 systemd-analyze verify "$TMP/dispatcher.service" 2>&1)
  status=$?
  if [ $status -eq 0 ] && [ -z "$out" ]; then
    pass "systemd-analyze verify dispatcher.service"
  elif [ $status -ne 0 ] && grep -qiE 'failed to (connect|initialize|set up)|not been booted with systemd|System has not been booted' <<<"$out"; then
    skip "systemd-analyze verify dispatcher.service: cannot run in this container ($(head -1 <<<"$out"))"
  else
    fail "systemd-analyze verify dispatcher.service" "$out"
  fi
else
  skip "systemd-analyze verify dispatcher.service: systemd-analyze is not installed (apt-get install systemd)"
fi

# ---- shell scripts -------------------------------------------------------------------------
for script in check.sh cron/export-reminders.sh; do
  if out=$(bash -n "$script" 2>&1); then pass "bash -n $script"; else fail "bash -n $script" "$out"; fi
done
[ -x cron/export-reminders.sh ] || fail "cron/export-reminders.sh is not executable"
# cron.d lines: 5 time fields, a user, a command.
if out=$(awk '!/^[[:space:]]*(#|$)/ && !/^[A-Z_]+=/ && NF < 7 { print FILENAME ":" NR ": " $0 }' cron/dispatcher.cron) && [ -z "$out" ]; then
  pass "cron/dispatcher.cron entries have a user and a command"
else
  fail "cron/dispatcher.cron" "$out"
fi

# ---- no credentials in process arguments ---------------------------------------------------
# Every user sees a process's arguments (ps, /proc/PID/cmdline): psql must find its database
# through the PG* environment, a service file or a password file, never a URL, a conninfo
# string or a password on its command line. Continued lines (ending in \) are joined first.
psql_args=$(find . -type f ! -name check.sh -print0 | xargs -0 awk '
  { line = (cont ? cont " " : "") $0; cont = "" }
  /\\$/ { sub(/\\$/, "", line); cont = line; next }
  line ~ /(^|[^A-Za-z_])psql([^A-Za-z_]|$)/ &&
  line ~ /:\/\/|[Pp][Aa][Ss][Ss][Ww][Oo][Rr][Dd][[:space:]]*=|PGPASSWORD=|\$\{?[A-Za-z_]*(URL|URI|DSN|CONNINFO)|(host|dbname|user)=/ {
    print FILENAME ":" FNR ": " line
  }')
if [ -z "$psql_args" ]; then
  pass "no psql line in deploy/ takes a URL, connection string or password argument"
else
  fail "psql lines with a URL, connection string or password argument (visible in ps)" "$psql_args"
fi

# ---- JSON and env examples -----------------------------------------------------------------
if out=$(python3 -m json.tool dispatcher.json.example 2>&1 >/dev/null); then pass "json dispatcher.json.example"; else fail "json dispatcher.json.example" "$out"; fi
# Every *_env name in the JSON example is provided by the env example.
for name in $(grep -o '"[a-z_]*_env": *"[A-Z0-9_]*"' dispatcher.json.example | sed 's/.*"\([A-Z0-9_]*\)"$/\1/'); do
  grep -q "^$name=" dispatcher.env.example || fail "dispatcher.env.example lacks $name (named in dispatcher.json.example)"
done
grep -q '^DATABASE_URL=' dispatcher.env.example && pass "dispatcher.env.example names DATABASE_URL and the *_env secrets" \
  || fail "dispatcher.env.example lacks DATABASE_URL"

# ---- roles.sql: no passwords, idempotent role creation -------------------------------------
if grep -qiE '\bpassword\s+'"'" sql/roles.sql; then fail "sql/roles.sql contains a password"; else pass "sql/roles.sql has no password"; fi
grep -q 'pg_roles' sql/roles.sql && pass "sql/roles.sql creates roles only when missing" || fail "sql/roles.sql: roles not created idempotently"

echo
if ((failures)); then echo "deploy/check.sh: $failures check(s) failed"; exit 1; fi
echo "deploy/check.sh: all checks passed"
