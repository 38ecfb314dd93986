/// Why an HTTP exchange did not produce an answer. The distinction that matters for sending SMS
/// exactly once: did the request possibly reach the server?
public enum HTTPClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No complete request reached the server (connection refused, name not resolved, connect
    /// timed out, or the connection failed before the request was fully written): safe to retry.
    case noConnection(String)
    /// The request was written but no complete answer came in time: the outcome is unknown.
    case timeoutAfterSend
    /// The request was written, then the connection failed before a complete answer: outcome unknown.
    case connectionLostAfterSend(String)
    /// The server answered something that is not HTTP: outcome unknown.
    case invalidResponse(String)
    /// An HTTP error answer (from `HTTPClientResponse.successful()`).
    case httpStatus(Int, body: [UInt8])
    /// The request could not be built (bad URL, unsupported scheme): nothing was sent.
    case invalidRequest(String)

    var isConnectionLost: Bool {
        if case .connectionLostAfterSend = self { true } else { false }
    }

    /// True when the server certainly did not see the request.
    public var nothingWasSent: Bool {
        switch self {
        case .noConnection, .invalidRequest: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .noConnection(let why): "no connection: \(why)"
        case .timeoutAfterSend: "timed out after sending the request"
        case .connectionLostAfterSend(let why): "connection lost after sending the request: \(why)"
        case .invalidResponse(let why): "invalid response: \(why)"
        case .httpStatus(let status, let body): "HTTP \(status) (\(body.count) bytes)"
        case .invalidRequest(let why): "invalid request: \(why)"
        }
    }
}
