/// The callback inbox (`callback_inbox`): provider reports — callbacks and poll results —
/// stored before they are acknowledged, then applied forward only.
extension Outbox {
    /// What happened to one callback handed to `inboxCallbackInsertMany`.
    public enum CallbackVerdict: Int, Sendable {
        /// No message has that token (or not at that provider): 404, nothing changed.
        case unknownToken = 0
        /// Durable in the inbox: acknowledge it.
        case stored = 1
        /// The token is a message's, but the body names another provider id: 404, an event records it.
        case providerIDMismatch = 2
    }

    /// Stores a batch of callbacks in one statement (one commit for the whole batch) and
    /// says, for each, whether it was stored. Nothing is applied here.
    public static func inboxCallbackInsertMany(_ c: Connection, _ reports: [ProviderReport]) async throws -> [CallbackVerdict] {
        guard !reports.isEmpty else { return [] }
        // a token that is not `ID.TOKEN` matches no message (id 0)
        let keys = reports.map { $0.token.flatMap(CallbackKey.init) ?? CallbackKey(messageID: 0, token: "") }
        let rejectedEvents = eventsInsert(EventRow(
            messageID: "message_id", kind: "\(EventKind.callbackRejected)", source: "\(EventSource.callback)",
            providerStatus: "pstatus", errorCode: "ecode",
            detail: "'rejected: provider id ' || pmid || ' is not this message''s; nothing changed; ' || coalesce(raw, '')"), """
            FROM matched WHERE known_id IS NOT NULL AND known_id <> pmid
            RETURNING 1
            """)
        let rows = try await c.query("""
            WITH input AS (
                SELECT * FROM unnest(\(keys.map(\.messageID)), \(keys.map(\.token)), \(reports.map(\.provider)),
                                     \(reports.map(\.providerMessageID)), \(reports.map(\.providerStatus)),
                                     \(reports.map(\.state.rawValue)), \(reports.map(\.errorCode)), \(reports.map(\.errorClass)),
                                     \(reports.map(\.raw)))
                    WITH ORDINALITY AS t(id, token, provider, pmid, pstatus, state, ecode, eclass, raw, ord)
            ), matched AS (
                -- the key names the message, its token must be the message's, and so must the provider
                SELECT i.ord, i.provider, i.pmid, i.pstatus, i.state, i.ecode, i.eclass, i.raw,
                       m.id AS message_id, m.provider_message_id AS known_id
                  FROM input i JOIN messages m ON m.id = i.id AND m.callback_token = i.token AND m.provider = i.provider
            ), stored AS (
                -- an unknown provider id is kept: the send's answer may still be on its way
                INSERT INTO callback_inbox (message_id, source, provider, provider_message_id, provider_status,
                                            state, error_code, error_class, raw)
                SELECT message_id, \(EventSource.callback), provider, pmid, pstatus, state, ecode, eclass, raw
                  FROM matched WHERE known_id IS NULL OR known_id = pmid
                RETURNING 1
            ), mismatched AS (
                \(rejectedEvents)
            )
            SELECT CASE WHEN m.message_id IS NULL THEN 0
                        WHEN m.known_id IS NULL OR m.known_id = m.pmid THEN 1
                        ELSE 2 END
              FROM input i LEFT JOIN matched m ON m.ord = i.ord
             ORDER BY i.ord
            """, prepared: true)
        return try rows.map { CallbackVerdict(rawValue: try $0.decode(Int.self, at: 0)) ?? .unknownToken }
    }

    /// Stores poll results (each naming its outbox id) in the inbox, to be applied like callbacks.
    public static func inboxPollInsertMany(_ c: Connection, _ reports: [ProviderReport]) async throws {
        guard !reports.isEmpty else { return }
        try await c.execute("""
            INSERT INTO callback_inbox (message_id, source, provider, provider_message_id, provider_status,
                                        state, error_code, error_class, raw)
            SELECT * FROM unnest(\(reports.map { $0.messageID ?? 0 }), \(reports.map { _ in EventSource.poll.rawValue }),
                                 \(reports.map(\.provider)), \(reports.map(\.providerMessageID)),
                                 \(reports.map(\.providerStatus)), \(reports.map(\.state.rawValue)),
                                 \(reports.map(\.errorCode)), \(reports.map(\.errorClass)), \(reports.map(\.raw)))
            """)
    }

    public struct ApplyResult: Sendable, Equatable {
        /// Reports taken from the inbox, by outcome (applied, duplicate, stale, conflict, superseded).
        public var outcomes: [String: Int] = [:]
        /// Seconds between receipt and application, for the callback-lag metric.
        public var lags: [Double] = []
        public var total: Int { outcomes.values.reduce(0, +) }
        public var applied: Int { outcomes["applied"] ?? 0 }
    }

    /// Applies up to `limit` stored reports whose message now carries their provider id.
    ///
    /// Forward only, in one statement: per message the report that goes furthest wins
    /// (among final states, the first received), and the message moves only if that
    /// outranks its current state — so duplicates are no-ops, `delivered` never returns
    /// to `sent`, and a final state is never overwritten. Every report becomes an event
    /// with its raw fields and what became of it (its `detail` starts with the outcome),
    /// except callbacks that changed nothing past the first `keptDuplicateCallbacks` of their
    /// message, which only count in `messages.duplicate_callbacks`; and leaves the inbox.
    /// Safe with several workers (SKIP LOCKED).
    public static func inboxApplyMany(_ c: Connection, limit: Int) async throws -> ApplyResult {
        try await c.withTransaction { tx in
            // Both statements are planned on every pass (not prepared): passes are at least
            // 100 ms apart, and a generic plan made while the inbox was empty (when a worker
            // starts) walked the whole inbox later.
            // 1. Take the oldest applicable reports: the key walks the inbox in order and each
            //    report's message is looked up by its key (the LATERAL's OFFSET 0 keeps it a
            //    per-row lookup: as a join, the two-column condition was estimated at one row
            //    and the planner hashed the whole messages table on every pass). That plan's
            //    estimate covers the whole inbox, which would also buy it a JIT compilation
            //    (~90 ms) for a few milliseconds of work: no JIT in this transaction.
            try await tx.execute("SET LOCAL jit = off")
            let ids = try await tx.query("""
                SELECT i.id
                  FROM callback_inbox i
                 CROSS JOIN LATERAL (SELECT m.provider_message_id FROM messages m WHERE m.id = i.message_id OFFSET 0) m
                 WHERE m.provider_message_id = i.provider_message_id
                 ORDER BY i.id
                 LIMIT \(limit)
                   FOR UPDATE OF i SKIP LOCKED
                """).map { try $0.decode(Int64.self, at: 0) }
            guard !ids.isEmpty else { return ApplyResult() }
            // 2. Apply them: every table is reached through its primary key, so a pass costs
            //    what its batch holds, not what the tables hold.
            return try await inboxApplyLockedMany(tx, ids: ids)
        }
    }

    /// Callbacks per message that changed nothing and are still kept as events (with their
    /// raw fields); later ones only count in `messages.duplicate_callbacks`.
    public static let keptDuplicateCallbacks = 3

    private static func inboxApplyLockedMany(_ c: Connection, ids: [Int64]) async throws -> ApplyResult {
        // a report's event kind is its source: `callback` or `poll`
        let events = eventsInsert(EventRow(
            messageID: "message_id", kind: "source", source: "source",
            fromState: "CASE WHEN outcome = 'applied' THEN old_state END",
            toState: "CASE WHEN outcome = 'applied' THEN state END",
            providerStatus: "provider_status", errorCode: "error_code", errorClass: "error_class",
            latencyMs: "(lag * 1000)::integer",
            detail: """
                outcome || CASE outcome
                    WHEN 'conflict' THEN ': ' || now_state || ' was recorded first and stands'
                    WHEN 'stale' THEN ': message is already ' || now_state
                    WHEN 'duplicate' THEN ': message is already ' || now_state
                    ELSE '' END || coalesce('; ' || raw, '')
                """), """
              FROM marked
             -- replayed callbacks: the first few are events, the rest only count
             WHERE outcome = 'applied' OR source <> \(EventSource.callback) OR duplicate_number <= \(keptDuplicateCallbacks)
             ORDER BY id
            RETURNING 1
            """)
        let rows = try await c.query("""
            WITH batch AS (
                -- each report with its message's state, and which report of its message wins:
                -- the furthest state, among final ones the first received (window functions,
                -- so no CTE is joined to another: without statistics on CTEs the planner
                -- joined them with nested loops, a million comparisons per thousand reports)
                SELECT i.id, i.message_id, i.source, i.state, i.provider_status, i.error_code, i.error_class, i.raw,
                       i.received_at, m.state AS old_state, m.duplicate_callbacks AS old_duplicates,
                       first_value(i.id) OVER w AS winner_id,
                       first_value(i.state) OVER w AS winner_state,
                       count(*) FILTER (WHERE i.source = \(EventSource.callback)) OVER (PARTITION BY i.message_id) AS callbacks
                  FROM callback_inbox i
                  JOIN messages m ON m.id = i.message_id
                 WHERE i.id = ANY(\(ids))
                WINDOW w AS (PARTITION BY i.message_id ORDER BY message_state_rank(i.state) DESC, i.id)
            ), winner AS (
                SELECT * FROM batch WHERE id = winner_id
            ), locked AS (
                -- the winner's message as it is now (after any concurrent pass on it): does the
                -- winner take it further? Never backwards.
                SELECT w.id, w.message_id, w.state, w.source, w.error_code, w.error_class, w.callbacks,
                       message_state_rank(w.state) > message_state_rank(m.state) AS advances
                  FROM winner w
                  JOIN messages m ON m.id = w.message_id
                   FOR UPDATE OF m
            ), moved AS (
                -- one update per message: the winner's state if it advances, and the count of
                -- its callbacks that changed nothing
                UPDATE messages m
                   SET state        = CASE WHEN l.advances THEN l.state ELSE m.state END,
                       sent_at      = CASE WHEN l.advances AND l.state = \(MessageState.sent) THEN coalesce(m.sent_at, now()) ELSE m.sent_at END,
                       final_at     = CASE WHEN l.advances AND message_state_rank(l.state) = 4 THEN now() ELSE m.final_at END,
                       poll_next_at = CASE WHEN l.advances AND message_state_rank(l.state) = 4 THEN NULL ELSE m.poll_next_at END,
                       error_code   = CASE WHEN l.advances AND l.state IN (\([MessageState.undelivered, .failed]))
                                           THEN coalesce(l.error_code, m.error_code) ELSE m.error_code END,
                       error_class  = CASE WHEN l.advances AND l.state IN (\([MessageState.undelivered, .failed]))
                                           THEN coalesce(l.error_class, m.error_class, l.state) ELSE m.error_class END,
                       duplicate_callbacks = m.duplicate_callbacks + l.callbacks
                                             - CASE WHEN l.advances AND l.source = \(EventSource.callback) THEN 1 ELSE 0 END
                  FROM locked l
                 WHERE m.id = l.message_id
                   AND (l.advances OR l.callbacks > 0)
                RETURNING l.id AS inbox_id, l.advances
            ), applied AS (
                -- the reports that moved their message, as one array
                SELECT coalesce(array_agg(inbox_id) FILTER (WHERE advances), '{}') AS ids FROM moved
            ), settled AS (
                -- what each report found: the state the message is in once this batch is applied,
                -- and for a callback that changed nothing, how many such its message has had
                SELECT b.*, b.id = ANY(a.ids) AS is_applied,
                       CASE WHEN b.winner_id = ANY(a.ids) THEN b.winner_state ELSE b.old_state END AS now_state,
                       b.old_duplicates + count(*) FILTER (WHERE b.source = \(EventSource.callback) AND NOT b.id = ANY(a.ids))
                                          OVER (PARTITION BY b.message_id ORDER BY b.id) AS duplicate_number
                  FROM batch b
                 CROSS JOIN applied a
            ), marked AS (
                -- taken out of the inbox: the event below is the report's record from now on
                -- (deleting writes no new row version and leaves no applied rows to prune)
                DELETE FROM callback_inbox i
                 USING settled s
                 WHERE i.id = s.id
                RETURNING i.id, i.message_id, i.source,
                          CASE WHEN s.is_applied THEN 'applied'
                               WHEN s.state = s.now_state THEN 'duplicate'
                               WHEN message_state_rank(s.state) = 4 AND message_state_rank(s.now_state) = 4 THEN 'conflict'
                               WHEN message_state_rank(s.state) <= message_state_rank(s.now_state) THEN 'stale'
                               ELSE 'superseded' END AS outcome,
                          s.old_state, s.now_state, s.state, s.provider_status,
                          s.error_code, s.error_class, s.raw, extract(epoch FROM now() - s.received_at)::float8 AS lag,
                          s.duplicate_number
            ), events AS (
                \(events)
            )
            SELECT outcome, lag FROM marked
            """)
        var result = ApplyResult()
        for row in rows {
            let (outcome, lag): (String, Double) = (try row["outcome"], try row["lag"])
            result.outcomes[outcome, default: 0] += 1
            result.lags.append(lag)
        }
        return result
    }

    /// The provider ids that stored callbacks and poll reports (not yet applied: the message
    /// had no provider id when they came) name for a message, earliest first: a sign the
    /// provider took it.
    public static func inboxProviderIDList(_ connection: Connection, messageID: Int64, provider: String) async throws -> [String] {
        let rows = try await connection.query("""
            SELECT provider_message_id
              FROM callback_inbox
             WHERE message_id = \(messageID)
               AND provider = \(provider)
             GROUP BY provider_message_id
             ORDER BY min(id)
            """)
        return try rows.map { try $0.decode(String.self, at: 0) }
    }
}
