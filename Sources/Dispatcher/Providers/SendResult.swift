/// What came of one send request.
public struct SendResult: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        /// The provider took the message: its id and its status word ("queued", "sending").
        case accepted(providerID: String, status: String)
        /// The provider refused it (or the request failed with an HTTP error answer).
        case rejected(ProviderFailure)
        /// The request may have reached the provider but no usable answer came (timeout after
        /// sending, connection lost, unparseable 2xx): the message is in doubt.
        case unknown(String)
        /// Nothing was sent (connection refused, DNS): safe to retry.
        case noConnection(String)
    }

    public var outcome: Outcome
    public var httpStatus: Int?
    /// From the start of the request to its outcome.
    public var latency: Duration

    public init(outcome: Outcome, httpStatus: Int?, latency: Duration) {
        self.outcome = outcome
        self.httpStatus = httpStatus
        self.latency = latency
    }

    public var providerID: String? {
        if case .accepted(let id, _) = outcome { return id }
        return nil
    }

    public var failure: ProviderFailure? {
        if case .rejected(let failure) = outcome { return failure }
        return nil
    }

    /// The normalised code for a non-accepted outcome.
    public var errorCode: ErrorCode? {
        switch outcome {
        case .accepted: nil
        case .rejected(let failure): failure.code
        case .unknown: .timeout
        case .noConnection: .noConnection
        }
    }
}
