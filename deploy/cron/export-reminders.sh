#!/usr/bin/env bash
# Exports tomorrow's appointment reminders from the scheduling system's database as one
# dispatcher campaign (a CSV + its manifest) into the spool directory.
#
# Atomic hand-over: both files are written under `*.tmp` names (ignored by the spool),
# flushed to disk, then renamed into place in the same directory — the CSV first, the
# manifest last. The manifest's arrival is the commit point: the spool never sees a
# half-written file, and a crash leaves only `*.tmp` files (removed by the next run).
# Re-running for the same day is harmless: the campaign name and row ids are stable, and
# `dispatcher` enqueues nothing twice.
#
# Settings (environment, or /etc/dispatcher/export.env):
#   PGSERVICE (with PGSERVICEFILE), or PGHOST / PGPORT / PGDATABASE / PGUSER
#                            the scheduling system's database (a read-only role), read by
#                            libpq itself; the password comes from a password file
#                            (PGPASSFILE, mode 0600, default ~/.pgpass), never from the
#                            command line, where every user sees it in `ps`
#   SPOOL                    spool directory              (default /var/spool/dispatcher/incoming)
#   SENDER                   from number                  (default 2435678910)
#   PROVIDER                 provider name in dispatcher.json (default plum)
#   CLINIC_TZ                time zone of the clinics      (default America/New_York)
#   DAY                      appointment day, YYYY-MM-DD   (default tomorrow in CLINIC_TZ)
#   EXPORT_SQL               file with the export query    (default: the EXAMPLE below)
set -euo pipefail
umask 027

[ -r /etc/dispatcher/export.env ] && . /etc/dispatcher/export.env
SPOOL=${SPOOL:-/var/spool/dispatcher/incoming}
SENDER=${SENDER:-2435678910}
PROVIDER=${PROVIDER:-plum}
CLINIC_TZ=${CLINIC_TZ:-America/New_York}
DAY=${DAY:-$(TZ=$CLINIC_TZ date -d tomorrow +%F)}
if [ -n "${SCHEDULING_DATABASE_URL:-}" ]; then
  echo "SCHEDULING_DATABASE_URL is not read: a URL on psql's command line is visible in ps;" \
       "set PGSERVICE or PGHOST/PGDATABASE/PGUSER and put the password in a PGPASSFILE" >&2
  exit 64
fi
[ -n "${PGSERVICE:-}${PGDATABASE:-}" ] || { echo "set PGSERVICE or PGDATABASE (with PGHOST, PGUSER): the scheduling database, a read-only role" >&2; exit 64; }
# (export.env may set them without `export`: libpq, in psql, reads them from the environment)
export PGSERVICE PGSERVICEFILE PGHOST PGPORT PGDATABASE PGUSER PGPASSFILE PGSSLMODE
[[ $DAY =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] || { echo "DAY must be YYYY-MM-DD, got '$DAY'" >&2; exit 64; }
[ -d "$SPOOL" ] && [ -w "$SPOOL" ] || { echo "spool directory $SPOOL is missing or not writable" >&2; exit 73; }

NAME="reminders-$DAY"
CSV="$SPOOL/$NAME.csv"
MANIFEST="$SPOOL/$NAME.json"
TEMPLATE='Hi {{first_name}}, reminder: {{clinic}} appointment {{appt_time}}. Reply CONFIRM to confirm, STOP to opt out.'

# One export at a time; leftovers of a crashed run go first.
exec 9>"$SPOOL/.export-reminders.lock"
flock -n 9 || { echo "another export is running" >&2; exit 75; }
rm -f "$SPOOL/$NAME".*.tmp "$CSV.tmp" "$MANIFEST.tmp"
trap 'rm -f "$CSV.tmp" "$MANIFEST.tmp"' EXIT

if [ -e "$MANIFEST" ]; then
  echo "$MANIFEST is still waiting in the spool; not exporting $DAY again" >&2
  exit 0
fi

# ---- EXAMPLE export query: adapt it to your scheduling system's schema ----------------
# Columns: `id` (stable per appointment: re-exports are deduplicated by it), `to` (the
# patient's mobile number), then one column per template variable.
read -r -d '' EXAMPLE_SQL <<'SQL' || true
COPY (
    SELECT 'appt-' || a.id                                          AS id,
           p.mobile_phone                                           AS "to",
           p.first_name                                             AS first_name,
           c.short_name                                             AS clinic,
           to_char(a.starts_at AT TIME ZONE :'tz', 'Dy HH24:MI')    AS appt_time
      FROM appointments a
      JOIN patients p ON p.id = a.patient_id
      JOIN clinics  c ON c.id = a.clinic_id
     WHERE a.starts_at >= (:'day'::date)::timestamp AT TIME ZONE :'tz'
       AND a.starts_at <  (:'day'::date + 1)::timestamp AT TIME ZONE :'tz'
       AND a.status = 'booked'
       AND p.sms_consent
       AND p.mobile_phone IS NOT NULL
     ORDER BY a.starts_at, a.id
) TO STDOUT WITH (FORMAT csv, HEADER)
SQL
# ------------------------------------------------------------------------------------------

# COPY … TO STDOUT through psql is `\copy`: the file is written here, not on the DB server.
# psql finds the database through the PG* environment (no connection string in argv).
if [ -n "${EXPORT_SQL:-}" ]; then sql_source=("$EXPORT_SQL"); else sql_source=(-); fi
printf '%s\n' "$EXAMPLE_SQL" | psql -X -q -v ON_ERROR_STOP=1 \
  -v day="$DAY" -v tz="$CLINIC_TZ" -f "${sql_source[@]}" >"$CSV.tmp"

rows=$(($(wc -l <"$CSV.tmp") - 1))   # header excluded (an upper bound if bodies span lines)
if [ "$rows" -le 0 ]; then
  echo "no reminders for $DAY; nothing exported"
  exit 0
fi

json_string() {  # a JSON string literal for a single-line value
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\t'/\\t}
  printf '"%s"' "$s"
}
SEND_AT=$(TZ=$CLINIC_TZ date -d "$DAY - 1 day 14:00" --iso-8601=seconds)
EXPIRES_AT=$(TZ=$CLINIC_TZ date -d "$DAY 08:00" --iso-8601=seconds)
cat >"$MANIFEST.tmp" <<JSON
{
  "campaign": $(json_string "$NAME"),
  "from": $(json_string "$SENDER"),
  "provider": $(json_string "$PROVIDER"),
  "template": $(json_string "$TEMPLATE"),
  "send_at": $(json_string "$SEND_AT"),
  "expires_at": $(json_string "$EXPIRES_AT"),
  "window": {"start": "09:00", "end": "20:00", "tz": $(json_string "$CLINIC_TZ")},
  "csv": $(json_string "$NAME.csv")
}
JSON

sync "$CSV.tmp" "$MANIFEST.tmp"
mv -f "$CSV.tmp" "$CSV"            # not a job on its own: waits for its manifest
mv -f "$MANIFEST.tmp" "$MANIFEST"  # the commit point
sync "$SPOOL"
echo "exported $rows reminders for $DAY as $NAME into $SPOOL"
