/// The opt-out list (`opt_outs`) and the messages it suppresses.
extension Outbox {
    /// Adds a number to the opt-out list on the provider's word ("unsubscribed recipient").
    public static func optOutInsert(_ c: Connection, phone: String, sender: String, source: String) async throws {
        try await c.execute("""
            INSERT INTO opt_outs (phone, sender, source) VALUES (\(phone), \(sender), \(source))
            ON CONFLICT (phone, sender) DO NOTHING
            """)
    }

    /// Pending messages to `phone` whose recipient has opted out of their sender (`optedOut`,
    /// in `optOutScope`) become `suppressed`.
    public static func messageSuppressPendingMany(_ c: Connection, phone: String, optOutScope: OptOutScope, reason: String) async throws -> Int {
        let events = eventsInsert(EventRow(
            messageID: "id", kind: "\(EventKind.suppressed)", source: "\(EventSource.dispatcher)",
            fromState: "\(MessageState.pending)", toState: "\(MessageState.suppressed)", errorClass: "'opted_out'",
            detail: "\(reason)"), "FROM gone")
        return try await c.execute("""
            WITH gone AS (
                UPDATE messages m SET state = \(MessageState.suppressed), final_at = now(), error_class = 'opted_out'
                 WHERE m.to_number = \(phone) AND m.state = \(MessageState.pending)
                   AND \(optedOut(phone: "m.to_number", sender: "m.from_number", scope: optOutScope))
                RETURNING m.id
            )
            \(events)
            """)
    }
}
