public import Foundation
public import Store

/// The worker's side of the shared rate limiter: reserves segments in the database bucket a
/// little ahead (about `prefetch` worth, so the database is not asked for every message),
/// each reservation with the time it may start, and paces sends evenly from there at the
/// bucket's effective rate instead of bursting at the start of each second. A reservation
/// not used by its end is dropped, never spent late, so every worker together stays within
/// rate + burst in any one-second window.
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

    public init(pool: ConnectionPool, prefetch: Duration = .milliseconds(100), logger: Logger) {
        self.pool = pool
        self.prefetch = Double(prefetch.components.seconds) + Double(prefetch.components.attoseconds) / 1e18
        self.logger = logger
    }

    /// Waits until `segments` may go under `key` (capped at the burst: a message larger than
    /// the burst waits for a full bucket). Returns false when the key is halted.
    public func acquire(key: String, limit: RateLimit, segments: Int) async throws -> Bool {
        try await acquireSlot(key: key, limit: limit, segments: segments) != nil
    }

    /// As `acquire`, returning the time of the slot the send was given (nil when halted).
    public func acquireSlot(key: String, limit: RateLimit, segments: Int) async throws -> Date? {
        if buckets[key] == nil || buckets[key]!.limit != limit {
            buckets[key] = Bucket(limit: limit, effectiveRate: limit.perSecond)
        }
        if !buckets[key]!.configured {
            try await pool.withConnection { try await RateLimits.rateLimitsConfigure($0, key: key, rate: limit.perSecond, burst: limit.burst) }
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
            if bucket.reserved >= need && now <= bucket.reservationEnd + .milliseconds(20) {
                bucket.reserved -= need
                demand[key, default: 0] -= need
                waiting = false
                // Pace: this send no earlier than the previous one plus its share of a second.
                let at = max(now, bucket.nextSend)
                bucket.nextSend = at + .seconds(need / max(bucket.effectiveRate, 0.001))
                buckets[key] = bucket
                let slot = Date().addingTimeInterval((at - now).seconds)
                if at > now { try await Task.sleep(until: at, clock: .continuous) }
                return slot
            }
            if let inFlight = reserving[key] {
                if try await !inFlight.value { return nil }
                continue
            }
            // The task clears its own entry (on this actor) before anyone sees its value, so a
            // waiter never finds a finished reservation still marked in flight.
            let task = Task {
                defer { self.reserving[key] = nil }
                return try await self.reserve(key: key, limit: limit, need: need)
            }
            reserving[key] = task
            if try await !task.value { return nil }
        }
    }

    /// Reserves about `prefetch` worth (with what is left, at least `need`) and adds it to the
    /// bucket; a leftover past its reservation's end is dropped. False when halted.
    private func reserve(key: String, limit: RateLimit, need: Double) async throws -> Bool {
        var bucket = buckets[key]!
        let leftover = ContinuousClock.now <= bucket.reservationEnd ? bucket.reserved : 0
        // Reserve what the waiting senders need, and ahead only where it saves the database
        // real work (5 segments or more per `prefetch`): a reservation's unused part is lost
        // to everyone.
        let ahead = (bucket.effectiveRate * prefetch).rounded(.down)
        let ask = min(limit.burst, max(need - leftover, (demand[key] ?? need) - leftover, ahead >= 5 ? ahead : 0, 1))
        let reservation = try await pool.withConnection { try await RateLimits.rateLimitsReserve($0, key: key, requested: ask) }
        guard let reservation else {
            try await pool.withConnection { try await RateLimits.rateLimitsConfigure($0, key: key, rate: limit.perSecond, burst: limit.burst) }
            return true  // configured again; the caller loops and reserves
        }
        if reservation.halted { return false }
        let now = ContinuousClock.now
        let start = now + .seconds(max(0, reservation.start.timeIntervalSinceNow))
        let rate = max(reservation.effectiveRate, 0.001)
        bucket = buckets[key]!
        // A still-valid leftover joins the new reservation (spent from its start on): at most
        // one segment early in a window that, past the initial burst, holds only `rate`.
        let keep = ContinuousClock.now <= bucket.reservationEnd ? min(leftover, bucket.reserved) : 0
        bucket.reserved = keep + reservation.segments
        bucket.effectiveRate = rate
        bucket.nextSend = max(bucket.nextSend, start)
        bucket.reservationEnd = start + .seconds(reservation.segments / rate)
        buckets[key] = bucket
        return true
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
