/// Reconciliation: the durable inbox of provider reports (callbacks and poll results)
/// and the ranking that keeps the lifecycle moving forward only.
let migration0002Callbacks = #"""
-- Forward-only lifecycle: a report may only move a message to a higher rank.
-- Final states share the top rank, so the first final state recorded stands.
CREATE FUNCTION message_state_rank(state text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE state
        WHEN 'pending'  THEN 0
        WHEN 'sending'  THEN 1
        WHEN 'in_doubt' THEN 1
        WHEN 'accepted' THEN 2
        WHEN 'sent'     THEN 3
        ELSE 4   -- delivered, undelivered, failed, expired, cancelled, suppressed, unconfirmed
    END
$$;

-- Every provider report about a message, stored before it is acknowledged (so an
-- acknowledged callback is never lost), then applied in batches. A report for a
-- provider id the message does not carry yet (the send's answer is still being
-- recorded) waits here until the id is known.
CREATE TABLE callback_inbox (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id           bigint NOT NULL,
    source               text NOT NULL CHECK (source IN ('callback', 'poll')),
    provider             text NOT NULL,
    provider_message_id  text NOT NULL,
    provider_status      text NOT NULL,
    state                text NOT NULL,            -- the lifecycle state the report means
    error_code           text,
    error_class          text,
    raw                  text,                     -- the fields as received (form-encoded)
    received_at          timestamptz NOT NULL DEFAULT now(),
    applied_at           timestamptz,
    outcome              text                      -- applied, duplicate, stale, conflict, ...
) WITH (autovacuum_vacuum_scale_factor = 0.02, fillfactor = 80);
CREATE INDEX callback_inbox_unapplied_idx ON callback_inbox (id) WHERE applied_at IS NULL;
"""#
