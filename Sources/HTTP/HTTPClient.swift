import Foundation

/// The HTTP client of the provider clients and the sandbox's callbacks.
///
/// `http://` goes over our own sockets (keep-alive pool, one event-loop thread) unless
/// `plainHTTPTransport` is `.urlSession`; `https://` always goes through URLSession so TLS
/// certificates and host names are verified by the platform. Errors say whether the request may
/// have reached the server (`HTTPClientError`); every HTTP status is a response, not an error.
public final class HTTPClient: Sendable {
    public enum Transport: String, Sendable {
        case sockets
        case urlSession
    }

    public struct Configuration: Sendable {
        /// Transport for `http://` URLs.
        public var plainHTTPTransport: Transport = .sockets
        public var maxIdleConnectionsPerHost = 64
        /// Idle pooled connections older than this are not reused (below common server idle timeouts).
        public var idleConnectionTimeout: Duration = .seconds(4)
        /// Limits on what a server may answer, on every transport (https included): a larger
        /// body or more header fields fail the exchange with `invalidResponse` as they arrive.
        public var maxResponseBodyBytes = 16 * 1024 * 1024
        public var maxResponseHeaderCount = 100
        /// Informational (1xx) answers accepted before the final one on the socket transport.
        /// (URLSession skips them itself; the request's timeout bounds how long.)
        public var maxInformationalResponses = 10

        public init() {}
    }

    public let configuration: Configuration
    private let sockets: SocketHTTPTransport?
    private let urlSession: URLSessionHTTPTransport

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        urlSession = URLSessionHTTPTransport(configuration: configuration)
        sockets = configuration.plainHTTPTransport == .sockets ? try? SocketHTTPTransport(configuration: configuration) : nil
    }

    public func execute(_ request: HTTPClientRequest) async throws(HTTPClientError) -> HTTPClientResponse {
        // (the socket transport checks `sendBy` again right before the first byte goes out)
        if let by = request.sendBy, ContinuousClock.now >= by {
            throw .noConnection("the send-by time passed before the request was written")
        }
        switch request.url.scheme?.lowercased() {
        case "http":
            if let sockets { return try await sockets.execute(request) }
            return try await urlSession.execute(request)
        case "https":
            return try await urlSession.execute(request)
        default:
            throw .invalidRequest("unsupported URL scheme in \(request.url.absoluteString)")
        }
    }

    /// Stops the socket transport's thread and closes pooled connections.
    public func shutdown() async {
        await sockets?.shutdown()
        urlSession.shutdown()
    }
}
