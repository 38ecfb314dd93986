public import Foundation

/// Status polls: which messages are due for one, and giving up on those the provider
/// never settled.
extension Outbox {
    /// A message due for a status poll.
    public struct PollTarget: Sendable, Equatable {
        public var id: Int64
        public var provider: String
        public var providerMessageID: String
        public var to: String
        public var from: String
        public var acceptedAt: Date
    }

    /// Takes up to `limit` messages waiting for a final state whose poll is due, and
    /// schedules their next poll (backing off: half their age, between `after` seconds and
    /// an hour), so other workers skip them.
    public static func messagePollClaimMany(_ c: Connection, now: Date, after: Double, limit: Int) async throws -> [PollTarget] {
        try await c.query("""
            WITH due AS (
                SELECT id FROM messages
                 WHERE state IN (\([MessageState.accepted, .sent])) AND poll_next_at <= \(now)
                 ORDER BY poll_next_at
                 LIMIT \(limit)
                   FOR UPDATE SKIP LOCKED
            )
            -- (no `provider_message_id IS NOT NULL` in here: beside it the planner walked that
            -- key's partial index — every accepted message — on each pass; a message without
            -- a provider id is skipped below)
            UPDATE messages m
               SET poll_next_at = \(now) + make_interval(secs => greatest(\(after),
                                   least(3600, extract(epoch FROM \(now) - coalesce(m.accepted_at, \(now))) / 2)))
              FROM due
             WHERE m.id = due.id
            RETURNING m.id, m.provider, m.provider_message_id, m.to_number, m.from_number,
                      coalesce(m.accepted_at, \(now)) AS accepted_at
            """).compactMap { r in
                guard let pmid: String = try r["provider_message_id"] else { return nil }
                return PollTarget(id: try r["id"], provider: try r["provider"], providerMessageID: pmid,
                                  to: try r["to_number"], from: try r["from_number"], acceptedAt: try r["accepted_at"])
            }
    }

    /// Messages accepted before `cutoff` and still without a final state become
    /// `unconfirmed` (the provider's reporting window has passed).
    public static func messagePollGiveUpMany(_ c: Connection, cutoff: Date, limit: Int) async throws -> Int {
        let events = eventsInsert(EventRow(
            messageID: "id", kind: "\(EventKind.unconfirmed)", source: "\(EventSource.poll)", fromState: "old_state",
            toState: "\(MessageState.unconfirmed)", detail: "'no final status within the provider''s reporting window'"),
            "FROM gone")
        return try await c.execute("""
            WITH stale AS (
                SELECT id, state FROM messages
                 WHERE state IN (\([MessageState.accepted, .sent])) AND accepted_at < \(cutoff)
                 LIMIT \(limit)
                   FOR UPDATE SKIP LOCKED
            ), gone AS (
                UPDATE messages m SET state = \(MessageState.unconfirmed), final_at = now(), poll_next_at = NULL
                  FROM stale s WHERE m.id = s.id
                RETURNING m.id, s.state AS old_state
            )
            \(events)
            """)
    }
}
