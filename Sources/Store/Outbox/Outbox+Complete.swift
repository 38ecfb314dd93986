extension Outbox {
    /// The state a held message is completed from, and the source its events are written as.
    public enum HeldState: Sendable {
        /// Claimed by a producer; completed by the completer.
        case sending
        /// In doubt, held by a rescuer during its provider lookup.
        case inDoubt

        /// The message state it stands for.
        public var state: MessageState { self == .sending ? .sending : .inDoubt }
        var eventSource: EventSource { self == .sending ? .dispatcher : .poll }
    }

    /// Records a batch of outcomes in ONE statement (arrays bound and `unnest`ed).
    ///
    /// Each row applies only while the message is still `from` under the same fencing token:
    /// a worker whose lease was taken over changes nothing. Returns the ids that applied.
    /// Events: one `attempt` row per completion that made a request (HTTP status, provider
    /// status, error codes, latency) — written even when the fencing check fails, because the
    /// request did happen; when the outcome applied, that row also carries the transition
    /// (`from_state`/`to_state`) — and one `state` row per transition applied without a
    /// request (a claim released unsent, an in-doubt message settled by lookup). `failedOptOut` also
    /// adds an opt-out for the recipient (against its sender, or every sender, as `optOutScope` records them).
    /// `accepted` schedules the first status poll `pollAfterSeconds` later. A completion with
    /// `attemptGivenBack` gives the claim's attempt back. `in_doubt_since` is set when a
    /// message goes in doubt and cleared when it leaves that state.
    @discardableResult
    public static func messageCompleteIfHeldMany(
        _ connection: Connection, _ completions: [Completion], from held: HeldState,
        pollAfterSeconds: Double, optOutScope: OptOutScope
    ) async throws -> Set<Int64> {
        guard !completions.isEmpty else { return [] }
        let attemptEvents = eventsInsert(EventRow(
            messageID: "i.id", at: "coalesce(i.attempted_at, now())", kind: "\(EventKind.attempt)",
            source: "\(EventSource.dispatcher)",
            fromState: "CASE WHEN d.id IS NOT NULL THEN \(held.state) END",
            toState: "CASE WHEN d.id IS NOT NULL THEN i.to_state END",
            providerStatus: "i.provider_status", httpStatus: "i.http_status", errorCode: "i.error_code",
            errorClass: "i.error_class", latencyMs: "i.latency_ms", scheduledAt: "i.scheduled_at",
            detail: "nullif(concat_ws('; ', CASE WHEN d.id IS NOT NULL THEN i.transition_detail END, i.detail), '')"), """
            FROM input i
            LEFT JOIN done d ON d.id = i.id
           WHERE i.attempted
          """)
        let stateEvents = eventsInsert(EventRow(
            messageID: "d.id", kind: "\(EventKind.state)", source: "\(held.eventSource)", fromState: "\(held.state)",
            toState: "i.to_state", errorCode: "i.error_code", errorClass: "i.error_class",
            detail: "coalesce(i.transition_detail, i.detail)"), """
            FROM done d
            JOIN input i ON i.id = d.id
           WHERE NOT i.attempted
          """)
        let rows = try await connection.query("""
            -- The batch, one row per held message, with what its transition says of itself.
            WITH input AS (
                SELECT i.*,
                       CASE i.kind WHEN \(Completion.Kind.released) THEN 'claim released unsent'
                                   WHEN \(Completion.Kind.retry) THEN 'retry at ' || i.next_attempt_at
                                   WHEN \(Completion.Kind.accepted) THEN 'provider id ' || i.provider_message_id END AS transition_detail
                  FROM unnest(\(completions.map(\.messageID)), \(completions.map(\.leaseToken)),
                              \(completions.map(\.kind.rawValue)), \(completions.map(\.kind.state.rawValue)),
                              \(completions.map(\.attempted)), \(completions.map(\.providerMessageID)),
                              \(completions.map(\.providerStatus)), \(completions.map(\.nextAttemptAt)),
                              \(completions.map(\.errorCode)), \(completions.map(\.errorClass)),
                              \(completions.map { $0.httpStatus.map(Int32.init(clamping:)) }),
                              \(completions.map { $0.latencyMilliseconds.map(Int32.init(clamping:)) }),
                              \(completions.map(\.detail)), \(completions.map(\.attemptedAt)),
                              \(completions.map(\.scheduledAt)), \(completions.map(\.attemptGivenBack)))
                       AS i(id, token, kind, to_state, attempted, provider_message_id, provider_status, next_attempt_at,
                            error_code, error_class, http_status, latency_ms, detail, attempted_at, scheduled_at,
                            given_back)
            ),
            -- 1. Apply each outcome if the message is still held under the same token (fencing).
            done AS (
                UPDATE messages m
                   SET state               = i.to_state,
                       provider_message_id = coalesce(i.provider_message_id, m.provider_message_id),
                       accepted_at         = CASE WHEN i.to_state = \(MessageState.accepted) THEN now() ELSE m.accepted_at END,
                       poll_next_at        = CASE WHEN i.to_state = \(MessageState.accepted)
                                                  THEN now() + make_interval(secs => \(pollAfterSeconds))
                                                  ELSE m.poll_next_at END,
                       next_attempt_at     = coalesce(i.next_attempt_at, m.next_attempt_at),
                       -- an accepted message carries no error; others keep the latest one
                       error_code          = CASE WHEN i.to_state = \(MessageState.accepted) THEN NULL
                                                  ELSE coalesce(i.error_code, m.error_code) END,
                       error_class         = CASE WHEN i.to_state = \(MessageState.accepted) THEN NULL
                                                  ELSE coalesce(i.error_class, m.error_class) END,
                       final_at            = CASE WHEN i.to_state IN (\([MessageState.failed, .expired])) THEN now() ELSE m.final_at END,
                       -- a claim that never made its request, or whose request provably never
                       -- reached the provider, does not count as an attempt
                       attempts            = m.attempts - CASE WHEN (NOT i.attempted OR i.given_back) AND m.state = \(MessageState.sending)
                                                               THEN 1 ELSE 0 END,
                       -- when it went in doubt: lookups go on until the in-doubt horizon after it
                       in_doubt_since      = CASE WHEN i.to_state = \(MessageState.inDoubt) THEN coalesce(m.in_doubt_since, now())
                                                  ELSE NULL END,
                       lease_owner         = NULL,
                       lease_expires_at    = NULL
                  FROM input i
                 WHERE m.id = i.id
                   AND m.state = \(held.state)
                   AND m.lease_token = i.token
             RETURNING m.id, m.to_number, m.from_number
            ),
            -- 2. Every request made, applied or not; the row of an applied one is also its
            --    transition (from/to state), so a send costs one event row, not two.
            attempt_events AS (
                \(attemptEvents)
            ),
            -- 3. Every transition applied without a request (released unsent, expired, adopted).
            state_events AS (
                \(stateEvents)
            ),
            -- 4. Recipients the provider reports as unsubscribed go on the opt-out list.
            opted_out AS (
                INSERT INTO opt_outs (phone, sender, source)
                SELECT d.to_number, \(optOutListedSender("d.from_number", scope: optOutScope)), 'provider'
                  FROM done d
                  JOIN input i ON i.id = d.id
                 WHERE i.kind = \(Completion.Kind.failedOptOut)
                    ON CONFLICT DO NOTHING
            )
            SELECT id FROM done
            """, prepared: true)
        return Set(try rows.map { try $0.decode(Int64.self, at: 0) })
    }
}
