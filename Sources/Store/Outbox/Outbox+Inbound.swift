/// Inbound SMS and the opt-out list.
extension Outbox {
    public enum InboundAction: String, Sendable {
        case optOut = "stop", optIn = "start", reply = "reply"
    }

    public struct InboundResult: Sendable, Equatable {
        /// False when the same provider message id was already recorded (a retried delivery).
        public var recorded: Bool
        public var relatedMessageID: Int64?
        /// Pending messages to the number that became `suppressed`.
        public var suppressed: Int
    }

    /// Seconds within which an inbound SMS without a provider message id and with the same
    /// number, sender and body as one already recorded counts as a replay of it.
    public static let inboundReplayWindow = 600.0

    /// Arbitrary constant: the first half of the advisory lock key that serialises inbound SMS
    /// between the same two numbers (the second half hashes them).
    static let inboundLockClass: Int32 = 0x696E_626E  // "inbn"

    /// Records an inbound SMS (linked to the last message sent to that number) and acts on
    /// it in one transaction: STOP adds the number to `opt_outs` and suppresses its pending
    /// messages; START removes the opt-out an inbound STOP made in the same scope (never one
    /// an operator or the provider made), recorded against the sender texted or, in the global
    /// `optOutScope`, every sender.
    ///
    /// A replay changes nothing and records nothing: the same provider message id, or,
    /// without one, the same numbers and body within `replayWindow` seconds.
    public static func inboundRecord(
        _ c: Connection, provider: String, providerMessageID: String?, from: String, to: String, body: String,
        keyword: String, action: InboundAction, optOutScope: OptOutScope, replayWindow: Double
    ) async throws -> InboundResult {
        try await c.withTransaction { tx in
            if providerMessageID == nil {
                // two copies arriving at once: the second waits here, then finds the first
                try await tx.execute("SELECT pg_advisory_xact_lock(\(inboundLockClass), hashtext(\(provider + " " + from + " " + to)))")
                let replay = try await tx.query("""
                    SELECT EXISTS (
                        SELECT 1 FROM inbound_messages
                         WHERE from_number = \(from) AND received_at > now() - make_interval(secs => \(replayWindow))
                           AND to_number = \(to) AND provider = \(provider) AND provider_message_id IS NULL AND body = \(body))
                    """).scalar(Bool.self) ?? false
                if replay { return InboundResult(recorded: false, relatedMessageID: nil, suppressed: 0) }
            }
            let related = try await tx.query("""
                -- the last message we sent to that number, from that number if we can tell
                SELECT id FROM messages
                 WHERE to_number = \(from) AND state NOT IN (\([MessageState.pending, .suppressed, .cancelled, .expired]))
                 ORDER BY (from_number = \(to)) DESC, id DESC
                 LIMIT 1
                """).scalar(Int64.self)
            let inserted = try await tx.query("""
                INSERT INTO inbound_messages (provider, provider_message_id, from_number, to_number, body, keyword, related_message_id)
                VALUES (\(provider), \(providerMessageID), \(from), \(to), \(body), \(keyword), \(related))
                ON CONFLICT (provider, provider_message_id) DO NOTHING
                RETURNING id
                """).scalar(Int64.self)
            guard inserted != nil else { return InboundResult(recorded: false, relatedMessageID: related, suppressed: 0) }
            var suppressed = 0
            switch action {
            case .optOut:
                try await tx.execute("""
                    INSERT INTO opt_outs (phone, sender, source) VALUES (\(from), \(optOutScope.listedSender(to)), 'inbound')
                    ON CONFLICT (phone, sender) DO NOTHING
                    """)
                suppressed = try await messageSuppressPendingMany(tx, phone: from, optOutScope: optOutScope, reason: "recipient replied \(keyword.uppercased())")
            case .optIn:
                try await tx.execute("""
                    DELETE FROM opt_outs WHERE phone = \(from) AND sender = \(optOutScope.listedSender(to)) AND source = 'inbound'
                    """)
            case .reply:
                break
            }
            return InboundResult(recorded: true, relatedMessageID: related, suppressed: suppressed)
        }
    }
}
