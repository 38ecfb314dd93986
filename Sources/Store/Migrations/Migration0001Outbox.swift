/// The outbox model of SPEC §5 and §8.
///
/// Hot path: `messages` is the queue. Its rows stay narrow (the body lives in
/// `message_bodies`, events in `message_events`), it has a low fillfactor so state
/// changes can often be HOT updates, and autovacuum runs on it early and often.
let migration0001Outbox = #"""
-- Campaigns: one per job file, identified by name.
CREATE TABLE campaigns (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          text NOT NULL UNIQUE,
    -- active: messages are claimed; paused: kept but not claimed; cancelled: pending ones finalised
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'cancelled')),
    provider      text NOT NULL,
    from_number   text NOT NULL,
    template      text,
    send_at       timestamptz,
    expires_at    timestamptz,
    window_start  time,
    window_end    time,
    window_tz     text,
    source_file   text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Fencing tokens: every claim takes a new one; only its holder may complete the send.
CREATE SEQUENCE message_lease_tokens AS bigint;

-- The outbox. One row per message; every column here is small.
CREATE TABLE messages (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign_id          bigint NOT NULL REFERENCES campaigns (id),
    external_id          text NOT NULL,
    state                text NOT NULL DEFAULT 'pending' CHECK (state IN (
                             'pending',      -- due at next_attempt_at; moved out by the producer's claim
                             'sending',      -- claimed under a lease; moved out by the completer or rescuer
                             'in_doubt',     -- outcome unknown; the rescuer looks it up at the provider
                             'accepted',     -- provider took it; callbacks and polls move it on
                             'sent',         -- handed to the carrier
                             'delivered', 'undelivered', 'failed', 'expired',
                             'cancelled', 'suppressed', 'unconfirmed')),
    provider             text NOT NULL,
    from_number          text NOT NULL,
    to_number            text NOT NULL,
    segments             integer NOT NULL CHECK (segments > 0),
    attempts             integer NOT NULL DEFAULT 0,
    due_at               timestamptz NOT NULL,           -- when it was first meant to go (latency base)
    next_attempt_at      timestamptz NOT NULL,           -- when it may next be claimed
    expires_at           timestamptz,                    -- never sent after this
    lease_owner          text,
    lease_expires_at     timestamptz,
    lease_token          bigint,                         -- fencing token of the current claim
    provider_message_id  text,
    callback_token       text NOT NULL DEFAULT translate(
                             encode(substring(sha256((gen_random_uuid()::text || gen_random_uuid()::text)::bytea) FROM 1 FOR 18), 'base64'),
                             '+/', '-_'),             -- 144 bits from two UUIDv4s, URL-safe
    error_code           text,                           -- as the provider gave it ("30006", Plum's text)
    error_class          text,                           -- normalised (invalid_number, timeout, ...)
    poll_next_at         timestamptz,                    -- next status poll while accepted/sent
    created_at           timestamptz NOT NULL DEFAULT now(),
    first_attempt_at     timestamptz,
    accepted_at          timestamptz,
    sent_at              timestamptz,
    final_at             timestamptz,
    CONSTRAINT messages_campaign_external_id_key UNIQUE (campaign_id, external_id),
    CONSTRAINT messages_provider_message_id_key UNIQUE (provider, provider_message_id),
    CONSTRAINT messages_callback_token_key UNIQUE (callback_token)
) WITH (
    fillfactor = 70,
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.02,
    autovacuum_vacuum_cost_delay = 1
);

-- The claim query's index: due pending rows only, in due order.
CREATE INDEX messages_due_idx ON messages (next_attempt_at) WHERE state = 'pending';
-- The rescuer's: leases that may have expired, and messages in doubt.
CREATE INDEX messages_lease_idx ON messages (lease_expires_at) WHERE state = 'sending';
CREATE INDEX messages_in_doubt_idx ON messages (next_attempt_at) WHERE state = 'in_doubt';
-- The poller's: messages waiting for a final state.
CREATE INDEX messages_poll_idx ON messages (poll_next_at) WHERE state IN ('accepted', 'sent');
-- Reports per campaign and state; inbound replies find the last message to a number.
CREATE INDEX messages_campaign_state_idx ON messages (campaign_id, state);
CREATE INDEX messages_to_number_idx ON messages (to_number, id);

-- Bodies, apart from the hot queue rows.
CREATE TABLE message_bodies (
    message_id  bigint PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    body        text NOT NULL
);

-- Append-only history: every transition and every provider request.
CREATE TABLE message_events (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id       bigint NOT NULL,
    at               timestamptz NOT NULL DEFAULT now(),
    kind             text NOT NULL,          -- enqueued, claimed, attempt, accepted, retry, state, callback, poll, ...
    source           text NOT NULL CHECK (source IN ('dispatcher', 'callback', 'poll', 'operator')),
    from_state       text,
    to_state         text,
    provider_status  text,
    http_status      integer,
    error_code       text,
    error_class      text,
    latency_ms       integer,
    detail           text
) WITH (autovacuum_vacuum_insert_scale_factor = 0.05);
CREATE INDEX message_events_message_idx ON message_events (message_id, id);

CREATE FUNCTION message_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'message_events is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER message_events_no_update BEFORE UPDATE ON message_events
    FOR EACH ROW EXECUTE FUNCTION message_events_append_only();

-- Rows of a job file that were rejected by `submit --skip-invalid`, so reports show them.
CREATE TABLE job_rejections (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign_id  bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    location     text NOT NULL,              -- file:line:column or JSON path
    external_id  text,
    error        text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX job_rejections_campaign_idx ON job_rejections (campaign_id);

-- Numbers that asked not to be messaged. sender '' means every sender (global scope).
CREATE TABLE opt_outs (
    phone       text NOT NULL,
    sender      text NOT NULL DEFAULT '',
    source      text NOT NULL,               -- inbound, provider, operator
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (phone, sender)
);

-- Every inbound SMS, linked to the last message we sent to that number.
CREATE TABLE inbound_messages (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider             text NOT NULL,
    provider_message_id  text,
    from_number          text NOT NULL,
    to_number            text NOT NULL,
    body                 text NOT NULL,
    keyword              text,               -- stop, start, or the reply's first word (confirm, ...)
    related_message_id   bigint,
    received_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, provider_message_id)
);
CREATE INDEX inbound_messages_related_idx ON inbound_messages (related_message_id);

-- Shared rate-limiter state: one token bucket per key ('sender:2435678910', 'provider:plum'),
-- refilled lazily from refreshed_at. slow_factor < 1 after 429/queue-overflow answers.
CREATE TABLE rate_limits (
    key           text PRIMARY KEY,
    rate          double precision NOT NULL CHECK (rate > 0),   -- segments per second
    burst         double precision NOT NULL CHECK (burst >= 1),
    tokens        double precision NOT NULL,
    refreshed_at  timestamptz NOT NULL DEFAULT now(),
    slow_factor   double precision NOT NULL DEFAULT 1 CHECK (slow_factor > 0 AND slow_factor <= 1),
    halted_at     timestamptz,                                  -- set: not claimed until resumed
    halt_reason   text
) WITH (fillfactor = 50);

-- One row per message for reporting tools.
CREATE VIEW message_report AS
SELECT m.id                   AS message_id,
       c.name                 AS campaign,
       m.external_id,
       m.to_number,
       m.from_number,
       m.provider,
       m.provider_message_id,
       m.state,
       m.attempts,
       m.error_code,
       m.error_class,
       m.created_at,
       m.first_attempt_at,
       m.accepted_at,
       m.final_at,
       m.segments
  FROM messages m
  JOIN campaigns c ON c.id = m.campaign_id;

-- One row per campaign. delivery_rate = delivered / messages in a final state.
-- Latencies in seconds: send = due -> accepted, delivery = accepted -> delivered.
CREATE VIEW campaign_report AS
SELECT c.name AS campaign,
       c.id   AS campaign_id,
       c.status AS campaign_status,
       count(m.id)                                        AS total,
       count(*) FILTER (WHERE m.state = 'pending')        AS pending,
       count(*) FILTER (WHERE m.state = 'sending')        AS sending,
       count(*) FILTER (WHERE m.state = 'in_doubt')       AS in_doubt,
       count(*) FILTER (WHERE m.state = 'accepted')       AS accepted,
       count(*) FILTER (WHERE m.state = 'sent')           AS sent,
       count(*) FILTER (WHERE m.state = 'delivered')      AS delivered,
       count(*) FILTER (WHERE m.state = 'undelivered')    AS undelivered,
       count(*) FILTER (WHERE m.state = 'failed')         AS failed,
       count(*) FILTER (WHERE m.state = 'expired')        AS expired,
       count(*) FILTER (WHERE m.state = 'cancelled')      AS cancelled,
       count(*) FILTER (WHERE m.state = 'suppressed')     AS suppressed,
       count(*) FILTER (WHERE m.state = 'unconfirmed')    AS unconfirmed,
       coalesce(
           (count(*) FILTER (WHERE m.state = 'delivered'))::double precision
           / nullif(count(*) FILTER (WHERE m.state IN ('delivered', 'undelivered', 'failed', 'expired',
                                                       'cancelled', 'suppressed', 'unconfirmed')), 0),
           0)                                             AS delivery_rate,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM m.accepted_at - m.due_at))
           FILTER (WHERE m.accepted_at IS NOT NULL)       AS send_latency_p50_s,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM m.accepted_at - m.due_at))
           FILTER (WHERE m.accepted_at IS NOT NULL)       AS send_latency_p95_s,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM m.final_at - m.accepted_at))
           FILTER (WHERE m.state = 'delivered')           AS delivery_latency_p50_s,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM m.final_at - m.accepted_at))
           FILTER (WHERE m.state = 'delivered')           AS delivery_latency_p95_s
  FROM campaigns c
  LEFT JOIN messages m ON m.campaign_id = c.id
 GROUP BY c.id, c.name, c.status;
"""#
