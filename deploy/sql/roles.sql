-- Database roles of a dispatcher installation.
--
--   dispatcher_owner      owns the database and its schema; runs `dispatcher migrate` (and `prune`).
--   dispatcher_worker     `dispatcher run` / `submit` / `report` / campaign control: reads and writes
--                         the outbox rows it needs, no DDL, message_events append-only.
--   dispatcher_reporting  reporting tools: SELECT on the tables and views, nothing else, and
--                         never the secrets or the message texts (see 5. below).
--   dispatcher_message_text  (NOLOGIN) the message texts: outgoing bodies, inbound replies,
--                         raw provider reports. Patient data: nobody has it unless granted
--                         on purpose (GRANT dispatcher_message_text TO dispatcher_reporting).
--
-- Apply as a superuser (or a role with CREATEROLE that owns the tables), connected to the
-- dispatcher database, AFTER `dispatcher migrate`, and again after every migrate that
-- adds tables:
--
--   psql -v ON_ERROR_STOP=1 --single-transaction -d dispatcher -f deploy/sql/roles.sql
--
-- Idempotent: roles are created only when missing (roles are cluster-wide, so another
-- database of the same cluster may already have made them), and each role's table
-- privileges are revoked and granted again, so a re-run converges on exactly what is
-- written here. No passwords here: set them separately (`\password dispatcher_worker`
-- in psql, or ALTER ROLE ... PASSWORD), see deploy/README.md.

-- 0. The schema must exist: grants name its tables.
DO $$
BEGIN
    IF to_regclass('public.messages') IS NULL OR to_regclass('public.schema_migrations') IS NULL THEN
        RAISE EXCEPTION 'no dispatcher schema in database %: run `dispatcher migrate` first', current_database();
    END IF;
END $$;

-- 1. Roles, created when missing. Attributes are set on every run (cheap, converges).
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['dispatcher_owner', 'dispatcher_worker', 'dispatcher_reporting', 'dispatcher_message_text'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I %s', r, CASE WHEN r = 'dispatcher_message_text' THEN 'NOLOGIN' ELSE 'LOGIN' END);
            EXCEPTION WHEN duplicate_object THEN
                NULL;  -- created meanwhile by a concurrent run
            END;
        END IF;
    END LOOP;
END $$;

ALTER ROLE dispatcher_owner     LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE dispatcher_worker    LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE dispatcher_reporting LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE dispatcher_message_text NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
-- Reporting sessions cannot write even by accident, and a runaway query stops.
ALTER ROLE dispatcher_reporting SET default_transaction_read_only = on;
ALTER ROLE dispatcher_reporting SET statement_timeout = '5min';

-- 2. The database: only our roles connect; nobody but the owner creates objects.
DO $$
BEGIN
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO dispatcher_owner', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO dispatcher_worker, dispatcher_reporting', current_database());
    IF (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()) <> 'dispatcher_owner' THEN
        RAISE NOTICE 'database % is not owned by dispatcher_owner: for migrations as that role, ALTER DATABASE % OWNER TO dispatcher_owner',
            current_database(), current_database();
    END IF;
    IF (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'public.messages'::regclass) <> 'dispatcher_owner' THEN
        RAISE NOTICE 'the tables are not owned by dispatcher_owner (migrate ran as another role): later migrations must run as their owner';
    END IF;
END $$;

REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO dispatcher_worker, dispatcher_reporting;

-- 3. Start from nothing for the two restricted roles (a re-run drops stale grants).
--    (Revoking a table's privileges revokes its column privileges too.)
REVOKE ALL ON ALL TABLES    IN SCHEMA public FROM dispatcher_worker, dispatcher_reporting, dispatcher_message_text;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM dispatcher_worker, dispatcher_reporting, dispatcher_message_text;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM dispatcher_worker, dispatcher_reporting, dispatcher_message_text;

-- 4. Worker: what `run` (spool ingest, claim, complete, callbacks, inbound, polls, rate
--    limits), `submit`, `report`, `status` and `cancel|pause|resume` need. No DELETE on
--    the outbox (retention is `prune`, run as the owner) except the callback inbox, whose
--    reports leave it once applied; no DDL (not an owner).
GRANT SELECT, INSERT, UPDATE ON campaigns        TO dispatcher_worker;  -- submit; cancel/pause/resume
GRANT SELECT, INSERT, UPDATE ON messages         TO dispatcher_worker;  -- enqueue (COPY), claim, complete
GRANT SELECT, INSERT         ON message_bodies   TO dispatcher_worker;  -- written once with the message
GRANT SELECT, INSERT         ON message_events   TO dispatcher_worker;  -- append-only history
GRANT SELECT, INSERT         ON job_rejections   TO dispatcher_worker;  -- submit --skip-invalid
GRANT SELECT, INSERT, UPDATE, DELETE ON opt_outs TO dispatcher_worker;  -- STOP adds, START removes
GRANT SELECT, INSERT         ON inbound_messages TO dispatcher_worker;  -- inbound replies
GRANT UPDATE (suppressed, consent_changed, reply_message_id) ON inbound_messages TO dispatcher_worker;  -- what a reply did (migration 8)
GRANT SELECT, INSERT, UPDATE ON rate_limits      TO dispatcher_worker;  -- shared token buckets, halts
GRANT SELECT, INSERT, DELETE ON callback_inbox   TO dispatcher_worker;  -- callbacks and polls; applying one deletes it
GRANT SELECT                 ON schema_migrations TO dispatcher_worker; -- schema version check at start
GRANT SELECT ON dispatcher_area_codes, dispatcher_quiet_rules, dispatcher_holidays
      TO dispatcher_worker;  -- quiet hours, checked by the claim (migration 9)
GRANT SELECT, INSERT, UPDATE ON frequency_windows TO dispatcher_worker;  -- the frequency cap's ledger
GRANT SELECT ON message_report, campaign_report, campaign_error_report, campaign_reply_report
      TO dispatcher_worker;  -- report, status
-- Fencing tokens (nextval on message_lease_tokens); identity columns need nothing more.
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO dispatcher_worker;

-- 5. Reporting: read every table and view, now and (for tables the owner creates later,
--    e.g. new partitions) by default; nothing else — except what is kept from it:
--    - secrets: `messages.callback_token` (whoever holds it can post delivery reports for
--      the message). Never readable by reporting, not even with the opt-in below.
--    - message texts, which are patient data: `message_bodies` (what was sent), the `body` of
--      `inbound_messages` (what patients replied), the `raw` report of `callback_inbox`
--      (the provider's fields as received, bodies included) and the `detail` of
--      `message_events` (a callback's event keeps its fields as received: Restcomm's carry
--      the message's Body). They go to the NOLOGIN role
--      dispatcher_message_text only; a site that wants them in reports grants it on purpose:
--          GRANT dispatcher_message_text TO dispatcher_reporting;
--      (membership is not a table grant: re-running this script keeps it).
--    A table listed here gets column grants: every column but the kept ones, so columns a
--    later migration adds are granted on the next run of this script.
GRANT SELECT ON ALL TABLES IN SCHEMA public TO dispatcher_reporting;
REVOKE SELECT ON messages, message_bodies, inbound_messages, callback_inbox, message_events FROM dispatcher_reporting;
DO $$
DECLARE
    kept CONSTANT text[][] := ARRAY[
        ['messages', 'callback_token'],
        ['inbound_messages', 'body'],
        ['callback_inbox', 'raw'],
        ['message_events', 'detail']];
    t text;
    cols text;
BEGIN
    FOREACH t IN ARRAY ARRAY['messages', 'inbound_messages', 'callback_inbox', 'message_events'] LOOP
        SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO cols
          FROM pg_attribute a
         WHERE a.attrelid = format('public.%I', t)::regclass AND a.attnum > 0 AND NOT a.attisdropped
           AND NOT EXISTS (SELECT 1 FROM generate_subscripts(kept, 1) i WHERE kept[i][1] = t AND kept[i][2] = a.attname);
        EXECUTE format('GRANT SELECT (%s) ON public.%I TO dispatcher_reporting', cols, t);
    END LOOP;
END $$;
GRANT SELECT ON message_bodies TO dispatcher_message_text;
GRANT SELECT (id, body) ON inbound_messages TO dispatcher_message_text;
GRANT SELECT (id, raw) ON callback_inbox TO dispatcher_message_text;
GRANT SELECT (detail) ON message_events TO dispatcher_message_text;
ALTER DEFAULT PRIVILEGES FOR ROLE dispatcher_owner IN SCHEMA public GRANT SELECT ON TABLES TO dispatcher_reporting;
