public import Foundation

/// What `dispatcher report --compliance` shows: one optional array per section, so a
/// section another file fills (quiet-hours deferrals, frequency caps) is one more property
/// here and one more renderer there. A nil section was not asked for; an empty one has no rows.
public struct ComplianceReport: Sendable, Codable, Equatable {
    /// Which inbound replies the report covers.
    public struct Filter: Sendable, Equatable {
        /// Replies from recipients of this campaign, received since it was created.
        public var campaign: String?
        /// Replies received at or after this time.
        public var since: Date?
        public init(campaign: String? = nil, since: Date? = nil) {
            self.campaign = campaign
            self.since = since
        }
    }

    /// One opt-out reply (intent `optout`).
    public struct Revocation: Sendable, Codable, Equatable {
        public var inboundID: Int64
        public var receivedAt: Date
        /// The recipient who revoked consent (E.164).
        public var phone: String
        /// The sender number texted.
        public var sender: String
        /// The words as received.
        public var words: String
        /// `all senders` or the sender number the opt-out applies to.
        public var scope: String
        /// False: the number was already opted out in that scope (no second confirmation).
        public var newOptOut: Bool
        public var confirmationSentAt: Date?
        /// Messages to the number in its scope suppressed while it was in force (see `Outbox.complianceRevocations`).
        public var suppressed: Int
        /// Messages to the number in that scope first attempted or accepted after the
        /// revocation (until a later START undid it), not counting our own replies. Must be 0.
        public var sendsAfter: Int
    }

    /// One HELP or INFO reply and the automatic answer.
    public struct HelpReply: Sendable, Codable, Equatable {
        public var inboundID: Int64
        public var receivedAt: Date
        public var phone: String
        public var sender: String
        public var words: String
        public var repliedAt: Date?
        public var reply: String?
    }

    /// A reply that might be a revocation (or an opt-in), recorded and not acted on.
    public struct Review: Sendable, Codable, Equatable {
        public var inboundID: Int64
        public var receivedAt: Date
        public var phone: String
        public var sender: String
        public var words: String
        public var reason: String
    }

    public var generatedAt: Date
    public var campaign: String?
    public var since: Date?
    public var revocations: [Revocation]?
    public var helpReplies: [HelpReply]?
    public var reviews: [Review]?
    /// What was sent and held back: sends per local hour, sends outside their window (0),
    /// quiet-hours deferrals, frequency-cap deferrals and suppressions.
    public var sending: Outbox.ComplianceSendingReport?

    public init(generatedAt: Date, campaign: String? = nil, since: Date? = nil) {
        self.generatedAt = generatedAt
        self.campaign = campaign
        self.since = since
    }
}
