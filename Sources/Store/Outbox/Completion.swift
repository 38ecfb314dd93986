public import Foundation

/// The recorded outcome of one held message: what the completer (or the rescuer) writes.
public struct Completion: Sendable, Equatable {
    /// Where the message goes.
    public enum Kind: String, SQLVocabulary {
        /// The provider took it: `accepted` with its id.
        case accepted
        /// Back to `pending` at `nextAttemptAt` (error kept).
        case retry
        /// Final `failed` (error kept).
        case failed
        /// Final `failed`, and the recipient goes on the opt-out list.
        case failedOptOut = "failed_opt_out"
        /// Final `expired`: it could not go before `expires_at`.
        case expired
        /// Outcome unknown: `in_doubt`, looked up at the provider from `nextAttemptAt` on.
        case inDoubt = "in_doubt"
        /// Never sent (shutdown, lease too short): back to `pending`, the attempt not counted.
        case released

        /// The state the message moves to.
        public var state: MessageState {
            switch self {
            case .accepted: .accepted
            case .retry, .released: .pending
            case .failed, .failedOptOut: .failed
            case .expired: .expired
            case .inDoubt: .inDoubt
            }
        }
    }

    public var messageID: Int64
    /// The fencing token the message was held under.
    public var leaseToken: Int64
    public var kind: Kind
    /// True when a request went to the provider (an `attempt` event is written).
    public var attempted: Bool
    /// The request provably never reached the provider (no connection, 503): the claim's
    /// attempt is given back, so an outage never uses up `max_attempts`.
    public var attemptGivenBack = false
    public var providerMessageID: String?
    /// The provider's status word ("queued", "sending") or the attempt's outcome.
    public var providerStatus: String?
    /// For retry and in_doubt: when the message may next be claimed or looked up.
    public var nextAttemptAt: Date?
    /// As the provider gave it (Restcomm's code as text, Plum's error text).
    public var errorCode: String?
    /// Normalised (`invalid_number`, `timeout`, …).
    public var errorClass: String?
    public var httpStatus: Int?
    public var latencyMilliseconds: Int?
    /// When the request started (the attempt event's time; the recording time when nil).
    public var attemptedAt: Date?
    /// When the shared rate limiter scheduled this request (its slot; `attemptedAt` is when it
    /// actually went, later on a busy machine).
    public var scheduledAt: Date?
    /// Free text for the event (never personal data).
    public var detail: String?

    public init(messageID: Int64, leaseToken: Int64, kind: Kind, attempted: Bool = true, providerMessageID: String? = nil,
                providerStatus: String? = nil, nextAttemptAt: Date? = nil, errorCode: String? = nil, errorClass: String? = nil,
                httpStatus: Int? = nil, latencyMilliseconds: Int? = nil, detail: String? = nil) {
        self.messageID = messageID
        self.leaseToken = leaseToken
        self.kind = kind
        self.attempted = attempted
        self.providerMessageID = providerMessageID
        self.providerStatus = providerStatus
        self.nextAttemptAt = nextAttemptAt
        self.errorCode = errorCode
        self.errorClass = errorClass
        self.httpStatus = httpStatus
        self.latencyMilliseconds = latencyMilliseconds
        self.detail = detail
    }
}
