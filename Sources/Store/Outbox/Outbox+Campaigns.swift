public import Foundation

/// Operator statements on campaigns: cancel, pause, resume, and retention.
extension Outbox {
    public enum CampaignControlError: Error, CustomStringConvertible, Equatable {
        case unknownCampaign(String)
        case cancelled(String)
        public var description: String {
            switch self {
            case .unknownCampaign(let name): "no campaign named '\(name)'"
            case .cancelled(let name): "campaign '\(name)' is cancelled; it cannot be paused or resumed"
            }
        }
    }

    public struct CancelResult: Sendable, Equatable {
        public var campaignID: Int64
        /// Pending messages finalised as `cancelled`.
        public var cancelledMessages: Int
        /// Messages still in flight or in doubt, left for the worker to settle.
        public var inFlight: Int
        /// The campaign was cancelled before this call.
        public var wasCancelled: Bool
    }

    /// Cancels a campaign: nothing more is claimed, and its pending messages become
    /// `cancelled` (final), each with an operator event. Messages already handed to the
    /// provider keep their course. Idempotent. `user` (the console's operator) is named in
    /// the events' detail.
    public static func campaignCancel(_ c: Connection, name: String, user: String?) async throws -> CancelResult {
        try await c.withTransaction { tx in
            guard let row = try await tx.query("SELECT id, status FROM campaigns WHERE name = \(name) FOR UPDATE").first else {
                throw CampaignControlError.unknownCampaign(name)
            }
            let (id, status): (Int64, CampaignState) = (try row["id"], try row["status"])
            try await tx.execute("UPDATE campaigns SET status = \(CampaignState.cancelled), updated_at = now() WHERE id = \(id)")
            let detail = user.map { "campaign cancelled by \($0) (console)" } ?? "campaign cancelled"
            let events = eventsInsert(EventRow(
                messageID: "id", kind: "\(EventKind.cancelled)", source: "\(EventSource.operator)",
                fromState: "\(MessageState.pending)", toState: "\(MessageState.cancelled)", detail: "\(detail)"),
                "FROM done")
            let cancelled = try await tx.execute("""
                WITH done AS (
                    -- only messages not yet claimed: a claimed one is finished by its worker
                    UPDATE messages SET state = \(MessageState.cancelled), final_at = now(), next_attempt_at = now()
                     WHERE campaign_id = \(id) AND state = \(MessageState.pending)
                    RETURNING id
                )
                \(events)
                """)
            let inFlight = try await tx.query("""
                SELECT count(*) FROM messages WHERE campaign_id = \(id) AND state IN (\([MessageState.sending, .inDoubt]))
                """).scalar(Int.self) ?? 0
            return CancelResult(campaignID: id, cancelledMessages: cancelled, inFlight: inFlight, wasCancelled: status == .cancelled)
        }
    }

    /// Pauses (`paused = true`) or resumes a campaign; returns its pending message count.
    public static func campaignSetPaused(_ c: Connection, name: String, paused: Bool) async throws -> Int {
        try await c.withTransaction { tx in
            guard let row = try await tx.query("SELECT id, status FROM campaigns WHERE name = \(name) FOR UPDATE").first else {
                throw CampaignControlError.unknownCampaign(name)
            }
            let (id, status): (Int64, CampaignState) = (try row["id"], try row["status"])
            if status == .cancelled { throw CampaignControlError.cancelled(name) }
            try await tx.execute("""
                UPDATE campaigns SET status = \(paused ? CampaignState.paused : .active), updated_at = now() WHERE id = \(id)
                """)
            if !paused { try await tx.notify(workChannel) }
            return try await tx.query("SELECT count(*) FROM messages WHERE campaign_id = \(id) AND state = \(MessageState.pending)").scalar(Int.self) ?? 0
        }
    }

    public struct PruneResult: Sendable, Equatable {
        public var campaigns: [String] = []
        public var messages = 0
        public var events = 0
    }

    /// Retention: deletes the messages (with their bodies and events) of campaigns whose
    /// messages are all final and whose last one finished before `before`, in batches of
    /// `batchSize` messages, each batch its own short transaction. Unfinished campaigns
    /// are never touched; the campaign rows stay (their names remain taken).
    public static func campaignPruneMany(_ c: Connection, before: Date, batchSize: Int,
                                      progress: (PruneResult) -> Void = { _ in }) async throws -> PruneResult {
        let candidates = try await c.query("""
            -- campaigns with no unfinished message, finished before the cutoff
            SELECT c.id, c.name
              FROM campaigns c
             WHERE NOT EXISTS (SELECT 1 FROM messages m
                                WHERE m.campaign_id = c.id AND m.state NOT IN (\(MessageState.finals)))
               AND coalesce((SELECT max(m.final_at) FROM messages m WHERE m.campaign_id = c.id), c.created_at) < \(before)
               AND EXISTS (SELECT 1 FROM messages m WHERE m.campaign_id = c.id)
             ORDER BY c.id
            """).map { (try $0["id", as: Int64.self], try $0["name", as: String.self]) }
        var result = PruneResult()
        for (id, name) in candidates {
            while true {
                let row = try await c.query("""
                    WITH doomed AS (
                        SELECT id FROM messages
                         WHERE campaign_id = \(id) AND state IN (\(MessageState.finals))
                         LIMIT \(batchSize)
                    ), events AS (
                        DELETE FROM message_events e USING doomed d WHERE e.message_id = d.id RETURNING 1
                    ), inbox AS (
                        -- reports that never applied (an id the message never carried)
                        DELETE FROM callback_inbox i USING doomed d WHERE i.message_id = d.id
                    ), gone AS (
                        -- bodies go with their messages (ON DELETE CASCADE)
                        DELETE FROM messages m USING doomed d WHERE m.id = d.id RETURNING 1
                    )
                    SELECT (SELECT count(*) FROM gone) AS messages, (SELECT count(*) FROM events) AS events
                    """).first
                let (messages, events): (Int, Int) = try row.map { (try $0["messages"], try $0["events"]) } ?? (0, 0)
                result.messages += messages
                result.events += events
                if messages == 0 { break }
                progress(result)
            }
            try await c.execute("DELETE FROM job_rejections WHERE campaign_id = \(id)")
            result.campaigns.append(name)
        }
        return result
    }

    /// Retention of the frequency cap's ledger: deletes the `frequency_windows` rows with no
    /// send in the last 24 hours (the cap's window), in batches of `batchSize`, each its own
    /// short transaction, and returns how many went. Such a row no longer counts towards any
    /// cap (a claim would drop its sends on its next update), but it still holds a recipient's
    /// number and send times. A claim racing the delete inserts the key afresh.
    public static func frequencyWindowPruneMany(_ c: Connection, batchSize: Int, now: Date? = nil) async throws -> Int {
        var total = 0
        while true {
            let n = try await c.execute("""
                DELETE FROM frequency_windows
                 WHERE ctid = ANY(ARRAY(
                       SELECT ctid FROM frequency_windows f
                        WHERE NOT EXISTS (SELECT 1 FROM unnest(f.sends) s
                                           WHERE s > coalesce(\(now)::timestamptz, now()) - interval '24 hours')
                        LIMIT \(batchSize)))
                """)
            total += n
            if n < batchSize { return total }
        }
    }
}
