/// Quiet hours and frequency caps, checked at claim time (docs/compliance.md):
///
/// - `campaigns.quiet_hours`: the campaign's policy (`us-federal`, `us-strict`, or NULL);
///   `campaigns.window_tz` may now hold `'recipient'` (the window applies in each recipient zone);
/// - `dispatcher_area_codes`, `dispatcher_quiet_rules`, `dispatcher_holidays`: the generated
///   Swift tables (`NANPAreaCodes.compact`, `QuietHoursPolicy.compactRules`, `USHolidays`),
///   filled by `QuietHoursTables.load` with bound arrays right after this script;
/// - `dispatcher_send_allowed(…)` and `dispatcher_next_allowed(…)`: the Swift `QuietHours`
///   in SQL (the cross-check test holds them equal);
/// - `frequency_windows`: per recipient (and sender, or `''` for every sender), the instants
///   of the first claims counted against the frequency cap in the last 24 hours. Its row is
///   the lock two claimers serialise on (`INSERT … ON CONFLICT DO UPDATE` sees the latest
///   committed row, which a count over `messages` under the statement's snapshot would not).
let migration0009QuietHoursAndCaps = #"""
ALTER TABLE campaigns ADD COLUMN quiet_hours text CHECK (quiet_hours IN ('us-federal', 'us-strict'));

-- NANP area code -> every IANA zone of its exchanges and the rule key ('US-FL', 'CA-ON', 'PR', '?').
CREATE TABLE dispatcher_area_codes (
    npa       integer PRIMARY KEY CHECK (npa BETWEEN 200 AND 999),
    zones     text[] NOT NULL CHECK (cardinality(zones) > 0),
    rule_key  text NOT NULL
);

-- Policy hours by rule key ('*': any other known place, '?': unknown) and day of week
-- (0 = Sunday … 6 = Saturday, 7 = holidays): local minutes, start inclusive, end exclusive.
-- (0, 0) = no sending; the holiday row (0, 1440) = no holiday rule.
CREATE TABLE dispatcher_quiet_rules (
    policy        text NOT NULL CHECK (policy IN ('us-federal', 'us-strict')),
    rule_key      text NOT NULL,
    dow           integer NOT NULL CHECK (dow BETWEEN 0 AND 7),
    start_minute  integer NOT NULL CHECK (start_minute BETWEEN 0 AND 1440),
    end_minute    integer NOT NULL CHECK (end_minute BETWEEN 0 AND 1440),
    PRIMARY KEY (policy, rule_key, dow)
);

-- US federal holidays and their observed days (USHolidays), local dates.
CREATE TABLE dispatcher_holidays (
    day date PRIMARY KEY
);

-- Frequency cap ledger: first claims per recipient (and sender; '' = every sender).
CREATE TABLE frequency_windows (
    recipient  text NOT NULL,
    sender     text NOT NULL,
    sends      timestamptz[] NOT NULL,   -- sorted; only the last 24 hours are kept on update
    granted    integer NOT NULL,         -- how many the last claim statement took
    PRIMARY KEY (recipient, sender)
);

-- Whether a message to `to_number` may go at `at`: the policy's hours (for the area code's
-- rule key) in every zone of its area code, the campaign window in each of those zones when
-- window_tz = 'recipient' or in window_tz otherwise. An unknown area code (or a number that
-- is not +1 and ten digits) uses fallback_tz and key '?' (the strictest hours).
CREATE FUNCTION dispatcher_send_allowed(to_number text, window_start time, window_end time, window_tz text,
                                        policy text, fallback_tz text, at timestamptz)
RETURNS boolean LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    zs       text[];
    key      text;
    z        text;
    lt       timestamp;
    sec      integer;
    ws       integer := extract(epoch FROM window_start)::integer;
    we       integer := extract(epoch FROM window_end)::integer;
    d_start  integer;
    d_end    integer;
    h_start  integer;
    h_end    integer;
BEGIN
    IF policy IS NULL AND (window_tz IS NULL OR window_start IS NULL OR window_end IS NULL) THEN
        RETURN true;
    END IF;
\#(areaCodeZonesAndRuleKey)
    FOREACH z IN ARRAY zs LOOP
        lt := at AT TIME ZONE z;
        sec := extract(hour FROM lt)::integer * 3600 + extract(minute FROM lt)::integer * 60 + floor(extract(second FROM lt))::integer;
        IF policy IS NOT NULL THEN
            SELECT r.start_minute, r.end_minute INTO d_start, d_end
              FROM dispatcher_quiet_rules r WHERE r.policy = $5 AND r.rule_key = key AND r.dow = extract(dow FROM lt)::integer;
            IF NOT (sec >= d_start * 60 AND sec < d_end * 60) THEN
                RETURN false;
            END IF;
            SELECT r.start_minute, r.end_minute INTO h_start, h_end
              FROM dispatcher_quiet_rules r WHERE r.policy = $5 AND r.rule_key = key AND r.dow = 7;
            IF NOT (h_start = 0 AND h_end = 1440)
               AND EXISTS (SELECT 1 FROM dispatcher_holidays h WHERE h.day = lt::date)
               AND NOT (sec >= h_start * 60 AND sec < h_end * 60) THEN
                RETURN false;
            END IF;
        END IF;
        IF window_tz = 'recipient' AND ws IS NOT NULL AND we IS NOT NULL
           AND NOT (CASE WHEN ws < we THEN sec >= ws AND sec < we ELSE sec >= ws OR sec < we END) THEN
            RETURN false;
        END IF;
    END LOOP;
    IF window_tz IS NOT NULL AND window_tz <> 'recipient' AND ws IS NOT NULL AND we IS NOT NULL THEN
        lt := at AT TIME ZONE window_tz;
        sec := extract(hour FROM lt)::integer * 3600 + extract(minute FROM lt)::integer * 60 + floor(extract(second FROM lt))::integer;
        IF NOT (CASE WHEN ws < we THEN sec >= ws AND sec < we ELSE sec >= ws OR sec < we END) THEN
            RETURN false;
        END IF;
    END IF;
    RETURN true;
END
$fn$;

-- The earliest instant >= at at which dispatcher_send_allowed holds, or NULL when none within
-- 14 days. Candidates are where a constraint may open: midnight, each policy start and the
-- window start, local wall-clock times in each constraint's zone on each of the next 15 local
-- days (a wall-clock time in a spring-forward gap is read as PostgreSQL reads it: after the gap).
CREATE FUNCTION dispatcher_next_allowed(to_number text, window_start time, window_end time, window_tz text,
                                        policy text, fallback_tz text, at timestamptz)
RETURNS timestamptz LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    zs    text[];
    key   text;
    best  timestamptz;
BEGIN
    IF dispatcher_send_allowed(to_number, window_start, window_end, window_tz, policy, fallback_tz, at) THEN
        RETURN at;
    END IF;
\#(areaCodeZonesAndRuleKey)
    IF window_tz IS NOT NULL AND window_tz <> 'recipient' AND window_start IS NOT NULL THEN
        zs := zs || window_tz;
    END IF;
    -- the candidates in time order (OFFSET 0 keeps the sort below the check), checked one by
    -- one until the first allowed: usually one of the first few
    SELECT c.at INTO best
      FROM (SELECT DISTINCT ((date_trunc('day', $7 AT TIME ZONE z.zone) + make_interval(days => d.d, mins => o.minute))
                             AT TIME ZONE z.zone) AS at
              FROM unnest(zs) AS z(zone)
             CROSS JOIN generate_series(0, 14) AS d(d)
             CROSS JOIN (SELECT 0 AS minute
                         UNION SELECT r.start_minute FROM dispatcher_quiet_rules r WHERE r.policy = $5 AND r.rule_key = key
                         UNION SELECT extract(epoch FROM window_start)::integer / 60 WHERE window_start IS NOT NULL) AS o
             ORDER BY 1
            OFFSET 0) AS c
     WHERE c.at > $7
       AND dispatcher_send_allowed(to_number, window_start, window_end, window_tz, policy, fallback_tz, c.at)
     LIMIT 1;
    RETURN best;
END
$fn$;
"""#

/// The recipient's zones and quiet-hours rule key, as both functions of the migration begin:
/// the area code's zones and key, the fallback zone and the strictest key ('?') for an
/// unknown one, and the default rule ('*') when the policy has none for that key.
private let areaCodeZonesAndRuleKey = #"""
    IF to_number ~ '^\+1[0-9]{10}$' THEN
        SELECT a.zones, a.rule_key INTO zs, key FROM dispatcher_area_codes a WHERE a.npa = substr(to_number, 3, 3)::integer;
    END IF;
    IF zs IS NULL THEN
        zs := ARRAY[fallback_tz];
        key := '?';
    END IF;
    IF policy IS NOT NULL AND NOT EXISTS (SELECT 1 FROM dispatcher_quiet_rules r WHERE r.policy = $5 AND r.rule_key = key) THEN
        key := '*';
    END IF;
"""#
