import Foundation
public import Store

/// The worker's side of the shared rate limiter: takes segments from the database buckets a
/// little ahead (about `prefetch` worth, so the database is not asked for every message) and
/// paces sends evenly in between, at the bucket's effective rate, instead of bursting at the
/// start of each second.
public actor RateLimiter {
    private struct Bucket {
        var limit: RateLimit
        var configured = false
        var tokens = 0.0
        var effectiveRate: Double
        var nextSend: ContinuousClock.Instant = .now
    }

    private let pool: ConnectionPool
    private let prefetch: Double
    private let logger: Logger
    private var buckets: [String: Bucket] = [:]

    public init(pool: ConnectionPool, prefetch: Duration = .milliseconds(100), logger: Logger) {
        self.pool = pool
        self.prefetch = Double(prefetch.components.seconds) + Double(prefetch.components.attoseconds) / 1e18
        self.logger = logger
    }

    /// Waits until `segments` may go under `key` (capped at the burst: a message larger than
    /// the burst waits for a full bucket). Returns false when the key is halted.
    public func acquire(key: String, limit: RateLimit, segments: Int) async throws -> Bool {
        if buckets[key] == nil || buckets[key]!.limit != limit {
            buckets[key] = Bucket(limit: limit, effectiveRate: limit.perSecond)
        }
        if !buckets[key]!.configured {
            try await pool.withConnection { try await RateLimits.rateLimitsConfigure($0, key: key, rate: limit.perSecond, burst: limit.burst) }
            buckets[key]!.configured = true
        }
        let need = min(Double(segments), limit.burst)
        while true {
            try Task.checkCancellation()
            var bucket = buckets[key]!
            if bucket.tokens >= need {
                bucket.tokens -= need
                // Pace: this send no earlier than the previous one plus its share of a second.
                let now = ContinuousClock.now
                let at = max(now, bucket.nextSend)
                bucket.nextSend = at + .seconds(need / max(bucket.effectiveRate, 0.001))
                buckets[key] = bucket
                if at > now { try await Task.sleep(until: at, clock: .continuous) }
                return true
            }
            let ask = max(need - bucket.tokens, (bucket.effectiveRate * prefetch).rounded(.down))
            let grant = try await pool.withConnection { try await RateLimits.rateLimitsTake($0, key: key, requested: min(ask, limit.burst)) }
            guard let grant else {
                buckets[key]!.configured = false
                continue
            }
            if grant.halted { return false }
            buckets[key]!.tokens += grant.granted
            buckets[key]!.effectiveRate = grant.effectiveRate
            if buckets[key]!.tokens < need {
                // Wait for the bucket to refill what is missing (short sleeps: others share it).
                let missing = need - buckets[key]!.tokens
                let wait = min(0.25, max(0.005, missing / max(grant.effectiveRate, 0.001)))
                try await Task.sleep(for: .seconds(wait))
            }
        }
    }

    /// After a 429 / queue overflow: halves the shared rate (it recovers by itself).
    public func slowDown(key: String) async {
        do {
            let factor = try await pool.withConnection { try await RateLimits.rateLimitsSlowDown($0, key: key) }
            if let factor {
                buckets[key]?.effectiveRate = (buckets[key]?.limit.perSecond ?? 1) * factor
                logger.warning("provider asked to slow down; rate factor now \(String(format: "%.2f", factor))", ["rate.key": key])
            }
        } catch {
            logger.error("could not record the slow-down: \(error)", ["rate.key": key])
        }
    }
}
