public import Foundation

/// When a failed send goes again: exponential backoff with full jitter, bounded by
/// `max_attempts` and never past the message's `expires_at`. Pure; tested without I/O.
public struct RetryPolicy: Sendable, Equatable {
    public var maxAttempts: Int
    public var baseDelaySeconds: Double
    public var maxDelaySeconds: Double

    public init(maxAttempts: Int = 5, baseDelaySeconds: Double = 30, maxDelaySeconds: Double = 3600) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelaySeconds = max(0, baseDelaySeconds)
        self.maxDelaySeconds = max(self.baseDelaySeconds, maxDelaySeconds)
    }

    /// What to do after attempt number `attempts` failed with a retryable error.
    public enum Decision: Sendable, Equatable {
        case retry(at: Date)
        /// Retries exhausted: final `failed`.
        case exhausted
        /// The next attempt would come after `expires_at`: final `expired`.
        case expired
    }

    /// The ceiling of the delay after attempt `attempt` (1-based): base × 2^(attempt−1), at most max.
    public func delayCeiling(afterAttempt attempt: Int) -> Double {
        let exponent = Double(max(0, min(attempt - 1, 60)))
        return min(maxDelaySeconds, baseDelaySeconds * pow(2, exponent))
    }

    /// A delay drawn uniformly between base and the ceiling (full jitter above the base).
    public func delay<R: RandomNumberGenerator>(afterAttempt attempt: Int, using random: inout R) -> Double {
        let ceiling = delayCeiling(afterAttempt: attempt)
        return ceiling > baseDelaySeconds ? Double.random(in: baseDelaySeconds...ceiling, using: &random) : ceiling
    }

    /// `rule.maxRetries` (e.g. unreachable: 2) tightens `maxAttempts` for that error.
    public func decide<R: RandomNumberGenerator>(attempts: Int, rule: ErrorRule, expiresAt: Date?, now: Date,
                                                using random: inout R) -> Decision {
        let limit = rule.maxRetries.map { min(maxAttempts, $0 + 1) } ?? maxAttempts
        if attempts >= limit { return .exhausted }
        let at = now.addingTimeInterval(delay(afterAttempt: attempts, using: &random))
        if let expiresAt, at >= expiresAt { return .expired }
        return .retry(at: at)
    }
}
