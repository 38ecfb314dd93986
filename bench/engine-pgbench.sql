-- bench/engine.sh's database ceiling: what `dispatcher run` asks of PostgreSQL per 100
-- messages, as a pgbench script (run with -M extended: :ids etc. become bound parameters).
-- Two transactions, like the worker: the claim (Outbox.messageClaimMany, same statement with
-- its opt-out, halted-sender and expiry checks, the lease and fencing token, one `claimed`
-- event per row and the bodies), then the completion of the batch as `accepted`
-- (Outbox.messageCompleteIfHeldMany: fenced update, one `attempt` event per row that also records
-- its transition).
-- The provider call in between is free (the null provider's).
WITH clock AS (
    SELECT now() AS now
),
due AS (
    SELECT m.id,
           m.expires_at IS NOT NULL AND m.expires_at <= clock.now AS is_expired,
           EXISTS (SELECT 1 FROM opt_outs o WHERE o.phone = m.to_number AND o.sender IN (m.from_number, '')) AS is_opted_out
      FROM messages m
      JOIN campaigns c ON c.id = m.campaign_id
     CROSS JOIN clock
     CROSS JOIN (SELECT coalesce(array_agg(key), '{}') AS keys FROM rate_limits WHERE halted_at IS NOT NULL) AS halted
     WHERE m.state = 'pending'
       AND m.next_attempt_at <= clock.now
       AND c.status = 'active'
       AND m.provider = ANY(ARRAY['null'])   -- (the literal '{null}' would be a NULL element)
       AND NOT ('sender:' || m.from_number = ANY(halted.keys) OR 'provider:' || m.provider = ANY(halted.keys))
     ORDER BY m.next_attempt_at
     LIMIT 100
       FOR UPDATE OF m SKIP LOCKED
),
claimed AS (
    UPDATE messages m
       SET state            = CASE WHEN d.is_expired THEN 'expired' WHEN d.is_opted_out THEN 'suppressed' ELSE 'sending' END,
           lease_owner      = CASE WHEN d.is_expired OR d.is_opted_out THEN NULL ELSE 'pgbench' END,
           lease_expires_at = CASE WHEN d.is_expired OR d.is_opted_out THEN NULL ELSE clock.now + make_interval(secs => 60) END,
           lease_token      = CASE WHEN d.is_expired OR d.is_opted_out THEN m.lease_token ELSE nextval('message_lease_tokens') END,
           attempts         = m.attempts + CASE WHEN d.is_expired OR d.is_opted_out THEN 0 ELSE 1 END,
           first_attempt_at = CASE WHEN d.is_expired OR d.is_opted_out THEN m.first_attempt_at ELSE coalesce(m.first_attempt_at, clock.now) END,
           final_at         = CASE WHEN d.is_expired OR d.is_opted_out THEN clock.now ELSE m.final_at END,
           error_class      = CASE WHEN d.is_expired THEN 'expired' WHEN d.is_opted_out THEN 'unsubscribed' ELSE m.error_class END
      FROM due d, clock
     WHERE m.id = d.id
 RETURNING m.id, m.state, m.lease_token, m.campaign_id, m.external_id, m.provider, m.from_number,
           m.to_number, m.segments, m.attempts, m.expires_at, m.first_attempt_at, m.lease_expires_at, m.callback_token
),
events AS (
    INSERT INTO message_events (message_id, at, kind, source, from_state, to_state, detail)
    SELECT claimed.id, clock.now, CASE WHEN claimed.state = 'sending' THEN 'claimed' ELSE 'state' END,
           'dispatcher', 'pending', claimed.state,
           CASE claimed.state WHEN 'sending' THEN 'lease ' || claimed.lease_token || ' by pgbench'
                              WHEN 'expired' THEN 'expires_at passed before sending' ELSE 'recipient opted out' END
      FROM claimed, clock
),
sendable AS (
    SELECT claimed.*, b.body FROM claimed LEFT JOIN message_bodies b ON b.message_id = claimed.id
     WHERE claimed.state = 'sending'
)
SELECT coalesce(array_agg(id), '{}') AS ids, coalesce(array_agg(lease_token), '{}') AS tokens,
       coalesce(array_agg('null-' || id || '-' || length(body)), '{}') AS pmids, count(*) AS n
  FROM sendable
\gset
WITH input AS (
    SELECT i.*, 'accepted'::text AS kind, 'accepted'::text AS to_state, true AS attempted, 'queued'::text AS provider_status,
           NULL::timestamptz AS next_attempt_at, NULL::text AS error_code, NULL::text AS error_class,
           200 AS http_status, 0 AS latency_ms, NULL::text AS detail, now() AS attempted_at
      FROM unnest(:ids::bigint[], :tokens::bigint[], :pmids::text[]) AS i(id, token, provider_message_id)
),
done AS (
    UPDATE messages m
       SET state               = i.to_state,
           provider_message_id = coalesce(i.provider_message_id, m.provider_message_id),
           accepted_at         = CASE WHEN i.to_state = 'accepted' THEN now() ELSE m.accepted_at END,
           poll_next_at        = CASE WHEN i.to_state = 'accepted' THEN now() + make_interval(secs => 120) ELSE m.poll_next_at END,
           next_attempt_at     = coalesce(i.next_attempt_at, m.next_attempt_at),
           error_code          = CASE WHEN i.to_state = 'accepted' THEN NULL ELSE coalesce(i.error_code, m.error_code) END,
           error_class         = CASE WHEN i.to_state = 'accepted' THEN NULL ELSE coalesce(i.error_class, m.error_class) END,
           final_at            = CASE WHEN i.to_state IN ('failed', 'expired') THEN now() ELSE m.final_at END,
           attempts            = m.attempts - CASE WHEN NOT i.attempted AND m.state = 'sending' THEN 1 ELSE 0 END,
           lease_owner         = NULL,
           lease_expires_at    = NULL
      FROM input i
     WHERE m.id = i.id AND m.state = 'sending' AND m.lease_token = i.token
 RETURNING m.id, m.to_number, m.from_number
),
attempt_events AS (
    -- one row per request; an applied one also records its transition
    INSERT INTO message_events (message_id, at, kind, source, from_state, to_state, provider_status, http_status,
                                error_code, error_class, latency_ms, detail)
    SELECT i.id, coalesce(i.attempted_at, now()), 'attempt', 'dispatcher',
           CASE WHEN d.id IS NOT NULL THEN 'sending' END, CASE WHEN d.id IS NOT NULL THEN i.to_state END,
           i.provider_status, i.http_status, i.error_code, i.error_class, i.latency_ms,
           nullif(concat_ws('; ', CASE WHEN d.id IS NOT NULL THEN 'provider id ' || i.provider_message_id END, i.detail), '')
      FROM input i LEFT JOIN done d ON d.id = i.id
     WHERE i.attempted
)
SELECT count(*) FROM done;
