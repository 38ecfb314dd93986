public import Foundation

/// The idle check of `run --until-idle`.
extension Outbox {
    /// Whether any message keeps `run --until-idle` running: `sending` or `in_doubt`, or
    /// `pending` and due in an active campaign whose sender and provider are not halted (work
    /// this worker could do now). Limited to `providers`. An existence check through the
    /// partial indexes: it stops at the first such message (counting them all took 0.7 s per
    /// call with 200,000 pending, and its snapshot kept dead index entries alive for the claims).
    public static func messageOutstandingExists(_ connection: Connection, providers: [String], now: Date? = nil) async throws -> Bool {
        let rows = try await connection.query("""
            SELECT EXISTS (SELECT 1 FROM messages m
                            WHERE m.state = \(MessageState.sending) AND m.provider = ANY(\(providers)))
                OR EXISTS (SELECT 1 FROM messages m
                            WHERE m.state = \(MessageState.inDoubt) AND m.provider = ANY(\(providers)))
                OR EXISTS (SELECT 1
                             FROM messages m
                             JOIN campaigns c ON c.id = m.campaign_id
                            CROSS JOIN \(haltedKeys(.halted))
                            WHERE m.state = \(MessageState.pending)
                              AND m.next_attempt_at <= coalesce(\(now)::timestamptz, now())
                              AND m.provider = ANY(\(providers))
                              AND c.status = \(CampaignState.active)
                              AND \(messageNotHalted))
            """)
        return try rows.scalar(Bool.self) ?? false
    }
}
