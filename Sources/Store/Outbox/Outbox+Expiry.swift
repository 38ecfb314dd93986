public import Foundation

/// The expiry sweep: pending messages whose time ran out.
extension Outbox {
    /// Finalises `pending` messages past `expires_at` as `expired`, due or not (a deferred
    /// retry or send window never outlives the expiry). Returns how many.
    @discardableResult
    public static func messageExpireMany(_ connection: Connection, limit: Int, now: Date? = nil) async throws -> Int {
        let events = eventsInsert(EventRow(
            messageID: "id", kind: "\(EventKind.state)", source: "\(EventSource.dispatcher)",
            fromState: "\(MessageState.pending)", toState: "\(MessageState.expired)",
            detail: "'expires_at passed before sending'"), "FROM expired")
        let rows = try await connection.query("""
            WITH clock AS (
                SELECT coalesce(\(now)::timestamptz, now()) AS now
            ),
            -- 1. Pending rows whose time ran out.
            gone AS (
                SELECT m.id
                  FROM messages m, clock
                 WHERE m.state = \(MessageState.pending)
                   AND m.expires_at <= clock.now
                 LIMIT \(limit)
                   FOR UPDATE OF m SKIP LOCKED
            ),
            -- 2. Final: never sent.
            expired AS (
                UPDATE messages m
                   SET state = \(MessageState.expired), final_at = clock.now, error_class = coalesce(m.error_class, 'expired')
                  FROM gone, clock
                 WHERE m.id = gone.id
             RETURNING m.id
            ),
            events AS (
                \(events)
            )
            SELECT count(*) FROM expired
            """)
        return try rows.scalar(Int.self) ?? 0
    }
}
