import Support

/// Counts consecutive transport failures per provider account in this worker: no connection,
/// an unknown outcome (timeout or reset after sending), a 5xx. Any other answer resets the
/// count. Reaching `threshold` opens the breaker: the sender marks the account unavailable in
/// `rate_limits`, where every worker's claims see it, and `ProviderProber` closes it again.
public final class CircuitBreaker: Sendable {
    /// Failures in a row that open the breaker (`breaker.failures`).
    public let threshold: Int
    /// The first probe comes this long after opening (`breaker.probe_after_s`).
    public let firstProbeSeconds: Double
    private let counts = LockedValue<[String: Int]>([:])

    public init(threshold: Int, firstProbeSeconds: Double = 5) {
        self.threshold = max(1, threshold)
        self.firstProbeSeconds = firstProbeSeconds
    }

    /// Records one outcome; true when this failure reached the threshold (and the count restarts).
    public func record(provider: String, failure: Bool) -> Bool {
        counts.withLock { counts in
            guard failure else {
                counts[provider] = 0
                return false
            }
            let n = counts[provider, default: 0] + 1
            counts[provider] = n >= threshold ? 0 : n
            return n >= threshold
        }
    }
}
