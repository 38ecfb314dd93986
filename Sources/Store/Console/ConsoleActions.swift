import Support
/// The operator console's actions. Each runs in one transaction with its record: the schema
/// has no campaign-level history, so every action writes an `operator` event naming the user
/// on each message it changes or holds (`detail`: what was done, by whom, from the console).
/// Cancelling writes the `cancelled` events `dispatcher cancel` writes; the others, which
/// move no message, write `state` events without a transition (the kinds the lifecycle
/// already has, so no vocabulary grows for the console).
public enum ConsoleActions {
    /// The channel the console's live updates listen on besides `Outbox.workChannel`;
    /// every action notifies it.
    public static let consoleChannel = "dispatcher_console"

    /// What an action did.
    public struct Outcome: Sendable, Equatable {
        /// False when there was nothing to do (already paused, not halted, …).
        public var changed: Bool
        /// Messages that got an operator event.
        public var messages: Int
    }

    /// Pauses a campaign (`Outbox.campaignSetPaused`): each pending message gets an event. Throws `Outbox.CampaignControlError` for an unknown or cancelled campaign.
    public static func campaignPause(_ c: Connection, name: String, user: String) async throws -> Outcome {
        try await setPaused(c, name: name, paused: true, user: user)
    }

    /// Resumes a paused campaign: each pending message gets an event.
    public static func campaignResume(_ c: Connection, name: String, user: String) async throws -> Outcome {
        try await setPaused(c, name: name, paused: false, user: user)
    }

    private static func setPaused(_ c: Connection, name: String, paused: Bool, user: String) async throws -> Outcome {
        try await c.withTransaction { tx in
            let before = try await tx.query("SELECT status FROM campaigns WHERE name = \(name) FOR UPDATE").scalar(String.self)
            _ = try await Outbox.campaignSetPaused(tx, name: name, paused: paused)
            let target = paused ? "paused" : "active"
            guard before != target else { return Outcome(changed: false, messages: 0) }
            let detail = "campaign \(paused ? "paused" : "resumed") by \(user) (console)"
            let n = try await tx.execute("""
                -- the messages the change holds back or releases
                INSERT INTO message_events (message_id, kind, source, detail)
                SELECT m.id, \(EventKind.state), \(EventSource.operator), \(detail)
                  FROM messages m JOIN campaigns c ON c.id = m.campaign_id
                 WHERE c.name = \(name) AND m.state = \(MessageState.pending)
                """)
            try await tx.notify(consoleChannel)
            return Outcome(changed: true, messages: n)
        }
    }

    /// Cancels a campaign (`Outbox.campaignCancel`: its pending messages become `cancelled`,
    /// nothing more is claimed; irreversible), with the user named on each message's
    /// `cancelled` event. Throws `Outbox.CampaignControlError.unknownCampaign`.
    public static func campaignCancel(_ c: Connection, name: String, user: String) async throws -> Outcome {
        try await c.withTransaction { tx in
            let r = try await Outbox.campaignCancel(tx, name: name, user: user)
            try await tx.notify(consoleChannel)
            return Outcome(changed: !r.wasCancelled || r.cancelledMessages > 0, messages: r.cancelledMessages)
        }
    }

    /// Resumes a sender number (`sender:+NUMBER`) or provider account (`provider:NAME`):
    /// clears its halt (`RateLimits.rateLimitResume`) and its unavailable mark
    /// (`RateLimits.rateLimitMarkAvailable`, as a successful probe would), wakes the
    /// workers, and gives each pending message held by that key an event.
    public static func rateLimitResume(_ c: Connection, key: String, user: String) async throws -> Outcome {
        try await c.withTransaction { tx in
            let halted = try await RateLimits.rateLimitResume(tx, key: key)
            let unavailable = try await RateLimits.rateLimitMarkAvailable(tx, key: key) != nil
            guard halted || unavailable else { return Outcome(changed: false, messages: 0) }
            let detail = "\(key) resumed by \(user) (console)"
            let sender: String? = key.hasPrefix("sender:") ? String(key.dropFirst("sender:".count)) : nil
            let provider: String? = key.hasPrefix("provider:") ? String(key.dropFirst("provider:".count)) : nil
            let n = try await tx.execute("""
                INSERT INTO message_events (message_id, kind, source, detail)
                SELECT m.id, \(EventKind.state), \(EventSource.operator), \(detail)
                  FROM messages m
                 WHERE m.state = \(MessageState.pending)
                   AND (m.from_number = \(sender) OR m.provider = \(provider))
                """)
            try await tx.notify(Outbox.workChannel)
            try await tx.notify(consoleChannel)
            return Outcome(changed: true, messages: n)
        }
    }
}
