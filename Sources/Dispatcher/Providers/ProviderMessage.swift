public import Foundation

/// A message as a provider reports it (status lookup, list, callback).
public struct ProviderMessage: Sendable, Equatable {
    /// Provider status normalised onto the dispatcher's lifecycle.
    public enum State: String, Sendable, Equatable {
        case accepted, sent, delivered, undelivered, failed, unconfirmed, received, unknown

        /// True for states after which nothing more will happen.
        public var isFinal: Bool { [.delivered, .undelivered, .failed, .unconfirmed].contains(self) }
    }

    public var id: String
    public var to: String
    public var from: String
    public var body: String
    /// The provider's status word as given.
    public var status: String
    /// Plum's `delivery_status` (delivered, undelivered, unconfirmed).
    public var deliveryStatus: String?
    public var state: State

    /// The provider's words as recorded: `status`, or `status/delivery_status` when both came.
    public var statusText: String {
        guard let deliveryStatus, !deliveryStatus.isEmpty else { return status }
        return status.isEmpty ? deliveryStatus : "\(status)/\(deliveryStatus)"
    }
    /// Restcomm `error_code` / `error_message`.
    public var failure: ProviderFailure?
    public var createdAt: Date?
    public var segments: Int?

    public init(id: String, to: String, from: String, body: String, status: String, deliveryStatus: String? = nil,
                state: State, failure: ProviderFailure? = nil, createdAt: Date? = nil, segments: Int? = nil) {
        self.id = id
        self.to = to
        self.from = from
        self.body = body
        self.status = status
        self.deliveryStatus = deliveryStatus
        self.state = state
        self.failure = failure
        self.createdAt = createdAt
        self.segments = segments
    }
}
