public import Foundation

extension Outbox {
    /// Claims up to `limit` due messages for `owner` in ONE statement and returns those to send.
    ///
    /// Due means: `pending`, `next_attempt_at <= now` (fixed send windows were applied at submit; every window is checked again below),
    /// campaign `active`, provider among `providers`, neither the sender number nor the
    /// provider halted, and the provider not marked unavailable. Rows other workers hold are skipped (`SKIP LOCKED`), so concurrent
    /// claims get disjoint sets. Each claimed row gets a lease until `now + leaseSeconds`, a new
    /// fencing token and one more attempt. Rows past `expires_at` become `expired`, and rows
    /// whose recipient opted out of their sender (`optedOut`, in `optOutScope`) become `suppressed`; both count against `limit` and are
    /// never returned. Every transition is written to `message_events`.
    ///
    /// Quiet hours and frequency caps (`Outbox+ClaimCompliance`, docs/compliance.md): a due row
    /// outside its campaign's window or policy hours (or `compliance.quietHours`) stays
    /// `pending` with `next_attempt_at` moved to the next allowed instant (a day on when none
    /// comes within 14 days); a first attempt over `compliance.frequencyCap` is deferred or
    /// `suppressed` (`frequency_cap`). Both count against `limit`, are never returned, and
    /// write an event whose `error_class` names the reason.
    public static func messageClaimMany(
        _ connection: Connection, owner: String, limit: Int, leaseSeconds: Double, providers: [String],
        optOutScope: OptOutScope, compliance: SendingCompliance, now: Date? = nil
    ) async throws -> [ClaimedMessage] {
        guard limit > 0, !providers.isEmpty else { return [] }
        // step 3's events: one per transition
        let events = eventsInsert(EventRow(
            messageID: "claimed.id", at: "clock.now",
            kind: "CASE WHEN claimed.state = \(MessageState.sending) THEN \(EventKind.claimed) ELSE \(EventKind.state) END",
            source: "\(EventSource.dispatcher)", fromState: "\(MessageState.pending)", toState: "claimed.state",
            errorClass: "claimed.held_reason",
            scheduledAt: "CASE WHEN claimed.state = \(MessageState.pending) THEN claimed.next_attempt_at END",
            detail: """
                CASE WHEN claimed.held_reason IS NOT NULL THEN \(heldDetail)
                     ELSE CASE claimed.state WHEN \(MessageState.sending) THEN 'lease ' || claimed.lease_token || ' by ' || \(owner)
                                   WHEN \(MessageState.expired) THEN 'expires_at passed before sending'
                                   ELSE 'recipient opted out' END END
                """), "FROM claimed, clock")
        let rows = try await connection.query("""
            -- The statement's clock: the caller's (tests) or the server's.
            WITH clock AS (
                SELECT coalesce(\(now)::timestamptz, now()) AS now
            ),
            -- 1. Due rows, oldest first, skipping rows another worker holds.
            due AS (
                SELECT m.id, m.ctid,
                       m.expires_at IS NOT NULL AND m.expires_at <= clock.now AS is_expired,
                       \(optedOut(phone: "m.to_number", sender: "m.from_number", scope: optOutScope)) AS is_opted_out,
                       -- NULL when the window and quiet hours allow sending now (Outbox+ClaimCompliance)
                       \(quietUntil(defaultPolicy: compliance.quietHours)) AS quiet_until,
                       m.to_number, m.from_number, m.next_attempt_at, m.first_attempt_at IS NULL AS first_try
                  FROM messages m
                  JOIN campaigns c ON c.id = m.campaign_id
                 CROSS JOIN clock
                 CROSS JOIN \(haltedKeys(.haltedOrUnavailable))
                 WHERE m.state = \(MessageState.pending)
                   AND m.next_attempt_at <= clock.now
                   AND c.status = \(CampaignState.active)
                   AND m.provider = ANY(\(providers))
                   -- Halted senders and provider accounts wait for an operator, unavailable
                   -- provider accounts for a successful probe (`haltedKeys`).
                   AND \(messageNotHalted)
                 ORDER BY m.next_attempt_at
                 LIMIT \(limit)
                   FOR UPDATE OF m SKIP LOCKED
            ),
            -- 1b. Quiet hours and the frequency cap: which rows wait (defer_until), which are
            --     capped (is_capped), and why (held_reason).
            \(decided(cap: compliance.frequencyCap)),
            -- 2. Claim them (lease, new fencing token, one more attempt), or finalise the
            --    expired and opted-out ones, which are never sent.
            claimed AS (
                UPDATE messages m
                   SET state            = CASE WHEN d.is_expired THEN \(MessageState.expired)
                                               WHEN d.is_opted_out THEN \(MessageState.suppressed)
                                               WHEN d.defer_until IS NOT NULL THEN \(MessageState.pending)
                                               WHEN d.is_capped THEN \(MessageState.suppressed)
                                               ELSE \(MessageState.sending) END,
                       lease_owner      = CASE WHEN d.defer_until IS NOT NULL THEN m.lease_owner
                                               WHEN d.is_expired OR d.is_opted_out OR d.is_capped THEN NULL ELSE \(owner) END,
                       lease_expires_at = CASE WHEN d.defer_until IS NOT NULL THEN m.lease_expires_at
                                               WHEN d.is_expired OR d.is_opted_out OR d.is_capped THEN NULL
                                               ELSE clock.now + make_interval(secs => \(leaseSeconds)) END,
                       lease_token      = CASE WHEN d.is_expired OR d.is_opted_out OR d.is_capped OR d.defer_until IS NOT NULL THEN m.lease_token
                                               ELSE nextval('message_lease_tokens') END,
                       attempts         = m.attempts + CASE WHEN d.is_expired OR d.is_opted_out OR d.is_capped OR d.defer_until IS NOT NULL THEN 0 ELSE 1 END,
                       first_attempt_at = CASE WHEN d.is_expired OR d.is_opted_out OR d.is_capped OR d.defer_until IS NOT NULL THEN m.first_attempt_at
                                               ELSE coalesce(m.first_attempt_at, clock.now) END,
                       next_attempt_at  = coalesce(d.defer_until, m.next_attempt_at),
                       final_at         = CASE WHEN d.is_expired OR d.is_opted_out OR d.is_capped THEN clock.now ELSE m.final_at END,
                       error_class      = CASE WHEN d.is_expired THEN 'expired'
                                               WHEN d.is_opted_out THEN 'unsubscribed'
                                               WHEN d.is_capped THEN \(FrequencyCap.errorClass)
                                               ELSE m.error_class END
                  FROM decided d, clock
                 -- by row address (a TID scan, whatever the estimate of LIMIT's parameter), then id
                 WHERE m.ctid = ANY(ARRAY(SELECT ctid FROM due))
                   AND m.id = d.id
             RETURNING m.id, m.state, m.lease_token, m.campaign_id, m.external_id, m.provider, m.from_number,
                       m.to_number, m.segments, m.attempts, m.expires_at, m.first_attempt_at, m.lease_expires_at,
                       m.callback_token, m.next_attempt_at, d.held_reason, d.held_long
            ),
            -- 3. One event per transition.
            events AS (
                \(events)
            )
            -- 4. The messages to send, with their bodies.
            SELECT claimed.*, b.body
              FROM claimed
              LEFT JOIN message_bodies b ON b.message_id = claimed.id
             WHERE claimed.state = \(MessageState.sending)
             ORDER BY claimed.id
            """, prepared: true)
        return try rows.map(ClaimedMessage.init(row:))
    }
}
