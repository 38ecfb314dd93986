public import Foundation
public import Store
public import Support

/// The worker's side of the shared rate limiter: reserves segments in the database bucket
/// (GCRA, `RateLimits.rateLimitReserve`) for the senders waiting — or about `prefetch` worth
/// at high rates — so the database is asked once per wave of sends, not per message. Each
/// reservation comes with the time it may start; sends go on its slots, 1/rate apart, never
/// on a slot already past and never on an older reservation's, so all workers together keep
/// to rate + burst in any one-second window of scheduled slots.
public actor RateLimiter {
    private struct Bucket {
        var limit: RateLimit
        var configured = false
        /// Segments left in the current reservation.
        var reserved = 0.0
        var effectiveRate: Double
        var nextSend: ContinuousClock.Instant = .now
        var reservationEnd: ContinuousClock.Instant = .now
    }

    private let pool: ConnectionPool
    private let prefetch: Double
    private let logger: Logger
    private var buckets: [String: Bucket] = [:]
    /// One reservation request in flight per key; other senders wait for it.
    private var reserving: [String: Task<Bool, any Error>] = [:]
    /// Segments the senders waiting on a key need: one reservation covers them all, so the
    /// database round trip is paid once per wave of sends, not once per message.
    private var demand: [String: Double] = [:]

    /// A slowed bucket's rate factor grows by this factor per second back to 1.
    public static let recoveryPerSecond = 1.1
    /// A 429 or queue overflow multiplies the shared rate by this, down to `slowDownFloor`.
    public static let slowDownFactor = 0.5
    public static let slowDownFloor = 0.05

    public init(pool: ConnectionPool, prefetch: Duration = .milliseconds(100), logger: Logger) {
        self.pool = pool
        self.prefetch = Double(prefetch.components.seconds) + Double(prefetch.components.attoseconds) / 1e18
        self.logger = logger
    }

    /// What `acquireSlot` gives a send.
    public enum Grant: Sendable, Equatable {
        /// Go at this time (already waited for).
        case granted(Date)
        /// The key is halted.
        case halted
        /// The first free slot is at this time, later than the caller's `notAfter`: nothing
        /// was taken, the slot stays for a send that can still use it.
        case tooLate(Date)
    }

    /// Waits until `segments` may go under `key` (capped at the burst: a message larger than
    /// the burst waits for a full bucket). Returns false when the key is halted.
    public func acquire(key: String, limit: RateLimit, segments: Int) async throws -> Bool {
        if case .granted = try await acquireSlot(key: key, limit: limit, segments: segments) { return true }
        return false
    }

    /// As `acquire`, with the time of the slot the send was given. With `notAfter`, a slot
    /// later than it is not taken (`.tooLate`): a worker holding a message under a lease
    /// must not spend a slot it cannot use — spent slots it cannot use pushed the shared
    /// bucket ever further ahead, until no claimed message's slot fell within its lease.
    public func acquireSlot(key: String, limit: RateLimit, segments: Int,
                            notAfter: ContinuousClock.Instant? = nil) async throws -> Grant {
        if buckets[key] == nil || buckets[key]!.limit != limit {
            buckets[key] = Bucket(limit: limit, effectiveRate: limit.perSecond)
        }
        if !buckets[key]!.configured {
            try await pool.withConnection { try await RateLimits.rateLimitConfigure($0, key: key, rate: limit.perSecond, burst: limit.burst) }
            buckets[key]!.configured = true
        }
        let need = min(Double(segments), limit.burst)
        demand[key, default: 0] += need
        var waiting = true
        defer { if waiting { demand[key, default: 0] -= need } }
        while true {
            try Task.checkCancellation()
            var bucket = buckets[key]!
            let now = ContinuousClock.now
            let rate = max(bucket.effectiveRate, 0.001)
            // Slots run from `nextSend` every 1/rate. A slot already past is skipped (never
            // spent late, so sends stay in the order the shared bucket scheduled them), and a
            // message of n segments goes at its first slot, taking n.
            let behind = now > bucket.nextSend ? ((now - bucket.nextSend).seconds * rate).rounded(.up) : 0
            if bucket.reserved - behind >= need {
                let at = bucket.nextSend + .seconds(behind / rate)
                if let notAfter, at > notAfter {
                    return .tooLate(Date().addingTimeInterval((at - now).seconds))
                }
                bucket.reserved -= behind + need
                bucket.nextSend = at + .seconds(need / rate)
                demand[key, default: 0] -= need
                waiting = false
                buckets[key] = bucket
                let slot = Date().addingTimeInterval((at - now).seconds)
                // A slot less than a quarter millisecond away is taken now: a timer that short
                // costs more than it paces (at high rates every slot is microseconds away).
                if at - now > .microseconds(250) { try await Task.sleep(until: at, clock: .continuous) }
                return .granted(slot)
            }
            if let inFlight = reserving[key] {
                if try await !inFlight.value { return .halted }
                continue
            }
            // The task clears its own entry (on this actor) before anyone sees its value, so a
            // waiter never finds a finished reservation still marked in flight.
            let task = Task {
                defer { self.reserving[key] = nil }
                return try await self.reserve(key: key, limit: limit, need: need)
            }
            reserving[key] = task
            if try await !task.value { return .halted }
        }
    }

    /// Reserves what the waiting senders need (or about `prefetch` worth at high rates) and
    /// makes it the bucket's current reservation. False when halted.
    private func reserve(key: String, limit: RateLimit, need: Double) async throws -> Bool {
        var bucket = buckets[key]!
        // Reserve what the waiting senders need, and ahead only where it saves the database
        // real work (5 segments or more per `prefetch`): a reservation's unused part is lost
        // to everyone.
        let ahead = (bucket.effectiveRate * prefetch).rounded(.down)
        let ask = min(limit.burst, max(need, demand[key] ?? need, ahead >= 5 ? ahead : 0, 1))
        let reservation = try await pool.withConnection { try await RateLimits.rateLimitReserve($0, key: key, requested: ask,
                                                                                                     recoveryPerSecond: Self.recoveryPerSecond) }
        guard let reservation else {
            try await pool.withConnection { try await RateLimits.rateLimitConfigure($0, key: key, rate: limit.perSecond, burst: limit.burst) }
            return true  // configured again; the caller loops and reserves
        }
        if reservation.halted { return false }
        let now = ContinuousClock.now
        let start = now + .seconds(max(0, reservation.start.timeIntervalSinceNow))
        let rate = max(reservation.effectiveRate, 0.001)
        bucket = buckets[key]!
        // What is left of the previous reservation is dropped: its slots lie before this one's,
        // and spending them now would put more in a window than the bucket allowed.
        bucket.reserved = reservation.segments
        bucket.effectiveRate = rate
        bucket.nextSend = start
        bucket.reservationEnd = start + .seconds(reservation.segments / rate)
        buckets[key] = bucket
        return true
    }

    /// After a 429 / queue overflow: halves the shared rate (it recovers by itself).
    public func slowDown(key: String) async {
        do {
            let factor = try await pool.withConnection { try await RateLimits.rateLimitSlowDown($0, key: key, factor: Self.slowDownFactor, floor: Self.slowDownFloor) }
            if let factor {
                buckets[key]?.effectiveRate = (buckets[key]?.limit.perSecond ?? 1) * factor
                logger.warning("provider asked to slow down; rate factor now \(String(format: "%.2f", factor))", ["rate.key": key])
            }
        } catch {
            logger.error("could not record the slow-down: \(error)", ["rate.key": key])
        }
    }
}
