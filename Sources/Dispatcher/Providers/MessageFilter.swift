public import Foundation

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
