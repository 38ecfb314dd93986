/// Counters of `GET /sandbox/stats`. `accepted` counts every accepted send; `duplicates` counts
/// accepted sends whose (API, from, to, body) had been accepted before — what exactly-once tests
/// check.
public struct SandboxStats: Sendable, Codable, Equatable {
    public var requests = 0
    public var accepted = 0
    public var duplicates = 0
    public var refused = 0
    public var serverErrors = 0
    public var slowAnswers = 0
    public var rateLimited = 0
    public var authFailures = 0
    public var callbacksSent = 0
    public var callbacksFailed = 0
    /// Sends accepted, then answered 5xx (`accept_then_5xx_*`).
    public var acceptedThen5xx = 0
    /// Sends committed late (`late_commit_rate`).
    public var lateCommits = 0
    /// Provider requests refused by an outage, and how many of them were sends (POST).
    public var outageRequests = 0
    public var outageSends = 0
    /// Accepted messages by current state (queued, sent, delivered, undelivered, failed, unconfirmed).
    public var states: [String: Int] = [:]

    public init() {}

    private enum CodingKeys: String, CodingKey {
        case requests, accepted, duplicates, refused, states
        case serverErrors = "server_errors", slowAnswers = "slow_answers", rateLimited = "rate_limited"
        case authFailures = "auth_failures", callbacksSent = "callbacks_sent", callbacksFailed = "callbacks_failed"
        case acceptedThen5xx = "accepted_then_5xx", lateCommits = "late_commits"
        case outageRequests = "outage_requests", outageSends = "outage_sends"
    }
}
