public import Foundation

/// An SMS provider account the dispatcher sends through. Implementations own the wire format.
public protocol SMSProvider: Sendable {
    /// The configured name ("plum", "restcomm").
    var name: String { get }
    /// Sends one message. Never throws: every outcome, including transport errors, is a result.
    func send(_ message: OutgoingSMS) async -> SendResult
    /// One message by provider id.
    func status(id: String) async throws(ProviderError) -> ProviderMessage
    /// Messages matching `filter`, following the provider's paging up to `filter.maxResults`.
    func list(_ filter: MessageFilter) async throws(ProviderError) -> [ProviderMessage]
}

/// One message to send. Numbers are E.164 (`+12025550143`); Restcomm also takes `client:NAME`.
public struct OutgoingSMS: Sendable, Equatable {
    public var from: String
    public var to: String
    public var body: String
    /// Where the provider posts status callbacks (Plum `result_url`, Restcomm `StatusCallback`).
    public var callbackURL: URL?

    public init(from: String, to: String, body: String, callbackURL: URL? = nil) {
        self.from = from
        self.to = to
        self.body = body
        self.callbackURL = callbackURL
    }
}

/// Which messages `list` returns: outbound ones between `from` and `to` within a time range.
public struct MessageFilter: Sendable, Equatable {
    public var to: String?
    public var from: String?
    public var start: Date?
    public var end: Date?
    /// Messages per request (Plum clamps to 50...1000).
    public var pageSize: Int
    /// Stop paging after this many messages.
    public var maxResults: Int

    public init(to: String? = nil, from: String? = nil, start: Date? = nil, end: Date? = nil,
                pageSize: Int = 100, maxResults: Int = 10_000) {
        self.to = to
        self.from = from
        self.start = start
        self.end = end
        self.pageSize = pageSize
        self.maxResults = maxResults
    }
}
