import Support
public import Foundation

/// What the operator console shows, one struct per kind of row, decoded by column name.
public enum ConsoleRows {
    /// The twelve message states, in lifecycle order (the columns of `campaign_report`).
    public static let states = MessageState.allCases.map(\.rawValue)

    /// One row of `campaign_report`, with the console's live figures.
    public struct Campaign: Sendable, Equatable {
        public var name: String
        public var id: Int64
        /// `active`, `paused` or `cancelled`.
        public var status: String
        public var total: Int
        /// Messages per state, keyed by the state names of `states`.
        public var states: [String: Int]
        public var deliveryRate: Double
        public var sendLatencyP50: Double?
        public var sendLatencyP95: Double?
        public var deliveryLatencyP50: Double?
        public var deliveryLatencyP95: Double?
        /// Messages accepted by the provider over the last five minutes, per minute.
        public var perMinute: Double
        /// Messages whose latest attempt left an error (`error_class` set).
        public var errors: Int
        /// Inbound SMS linked to the campaign's messages.
        public var replies: Int
        /// Distinct recipients with an opt-out made since the campaign was created.
        public var optOuts: Int
        public var createdAt: Date

        /// Messages not yet handed over: pending, sending, in doubt.
        public var remaining: Int { [MessageState.pending, .sending, .inDoubt].reduce(0) { $0 + (states[$1.rawValue] ?? 0) } }

        /// Minutes left at the current rate; nil when nothing moves (or nothing is left).
        public var etaMinutes: Double? {
            guard remaining > 0, perMinute > 0, status == "active" else { return nil }
            return Double(remaining) / perMinute
        }
    }

    /// One minute of a campaign's activity.
    public struct Minute: Sendable, Equatable {
        public var minute: Date
        /// Requests made to the provider (`attempt` events).
        public var sends: Int
        /// Messages the provider accepted (`accepted_at`).
        public var acceptances: Int
        /// Messages delivered (`final_at` of `delivered` ones).
        public var deliveries: Int
    }

    /// Messages with an error, by normalised class and the provider's raw code.
    public struct ErrorGroup: Sendable, Equatable {
        public var errorClass: String
        public var errorCode: String?
        public var count: Int
    }

    /// Replies to a campaign by keyword.
    public struct ReplyCount: Sendable, Equatable {
        public var keyword: String
        public var count: Int
    }

    /// One inbound SMS.
    public struct Inbound: Sendable, Equatable {
        public var id: Int64
        public var provider: String
        public var fromNumber: String
        public var toNumber: String
        public var body: String
        public var keyword: String?
        public var relatedMessageID: Int64?
        public var receivedAt: Date
    }

    /// One row of `message_report`.
    public struct Message: Sendable, Equatable {
        public var id: Int64
        public var campaign: String
        public var externalID: String
        public var toNumber: String
        public var fromNumber: String
        public var provider: String
        public var providerMessageID: String?
        public var state: String
        public var attempts: Int
        public var errorCode: String?
        public var errorClass: String?
        public var createdAt: Date
        public var acceptedAt: Date?
        public var finalAt: Date?
        public var segments: Int
    }

    /// One message with its body, for the message page.
    public struct MessageDetail: Sendable, Equatable {
        public var message: Message
        public var body: String?
        public var dueAt: Date
        public var nextAttemptAt: Date
        public var expiresAt: Date?
        public var inDoubtSince: Date?
        public var duplicateCallbacks: Int
    }

    /// One row of `message_events`.
    public struct Event: Sendable, Equatable {
        public var at: Date
        public var kind: String
        public var source: String
        public var fromState: String?
        public var toState: String?
        public var providerStatus: String?
        public var httpStatus: Int?
        public var errorCode: String?
        public var errorClass: String?
        public var latencyMs: Int?
        public var detail: String?
    }

    /// A provider report waiting in `callback_inbox`, with its fields as received.
    public struct InboxReport: Sendable, Equatable {
        public var receivedAt: Date
        public var source: String
        public var providerStatus: String
        public var state: String
        public var raw: String?
    }

    /// One row of `rate_limits`: a sender number or a provider account.
    public struct RateLimit: Sendable, Equatable {
        public var key: String
        /// Segments per second, as configured.
        public var rate: Double
        public var burst: Double
        /// The adaptive slow-down now (1: none), recovered since its last refresh.
        public var slowFactor: Double
        /// Segments already reserved ahead of now (0 … burst): how full the bucket is.
        public var level: Double
        public var haltedAt: Date?
        public var haltReason: String?
        public var unavailableSince: Date?
        public var nextProbe: Date?
    }

    /// A message waiting for an in-doubt lookup.
    public struct InDoubt: Sendable, Equatable {
        public var id: Int64
        public var campaign: String
        public var toNumber: String
        public var provider: String
        public var attempts: Int
        public var inDoubtSince: Date?
        public var nextLookupAt: Date
    }

    /// One opt-out, with the inbound STOP that made it (when it was one).
    public struct OptOut: Sendable, Equatable {
        public var phone: String
        /// The sender number it applies to; empty: every sender.
        public var sender: String
        /// `inbound`, `provider` or `operator`.
        public var source: String
        public var createdAt: Date
        public var inboundID: Int64?
        public var inboundBody: String?
        public var inboundAt: Date?
    }
}
