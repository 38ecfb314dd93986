// The statements of the operator commands that are neither the worker's nor submit's:
// `demo`'s progress and summary, `bench-copy`'s default campaign.

extension Outbox {
    /// Messages per state over the campaigns named (`demo`'s progress line).
    public static func campaignsStateCounts(_ c: Connection, campaigns: [String]) async throws -> [String: Int] {
        let rows = try await c.query("""
            -- every message of the campaigns, counted by state
            SELECT m.state, count(*)
              FROM messages m
              JOIN campaigns c ON c.id = m.campaign_id
             WHERE c.name = ANY(\(campaigns))
             GROUP BY 1
            """)
        var counts: [String: Int] = [:]
        for row in rows {
            let (state, n) = try row.decode((String, Int).self)
            counts[state] = n
        }
        return counts
    }

    /// How many messages of the campaigns named carry a provider id (`demo`'s exactly-once line).
    public static func campaignsMessagesWithProviderIDCount(_ c: Connection, campaigns: [String]) async throws -> Int {
        try await c.query("""
            -- messages the provider accepted (and told us its id for)
            SELECT count(*)
              FROM messages m
              JOIN campaigns c ON c.id = m.campaign_id
             WHERE c.name = ANY(\(campaigns))
               AND m.provider_message_id IS NOT NULL
            """).scalar(Int.self) ?? 0
    }

    /// The lowest campaign id, nil when there is none (`bench-copy`'s default campaign).
    public static func campaignsFirstID(_ c: Connection) async throws -> Int64? {
        try await c.query("SELECT min(id) FROM campaigns").scalar(Int64.self)
    }
}
