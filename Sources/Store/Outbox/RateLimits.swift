public import Foundation

/// The shared rate limiter's statements: one GCRA bucket per key in `rate_limits`
/// (`sender:+12435678910`, `provider:plum`) at `rate × slow_factor` segments per second with
/// `burst`. Workers reserve a few segments at a time with a start time, so a sender's rate
/// holds across all of them. Times are the database server's clock.
public enum RateLimits {
    /// The key of a sender number's bucket.
    public static func senderKey(_ number: String) -> String { "sender:" + number }
    /// The key of a provider account's bucket (and halt switch).
    public static func providerKey(_ name: String) -> String { "provider:" + name }

    /// A reservation of `segments` in a shared bucket: they may go from `start` on,
    /// spaced `1 / effectiveRate` apart.
    public struct Reservation: Sendable, Equatable {
        public var segments: Double
        public var start: Date
        public var effectiveRate: Double
        public var halted: Bool
    }

    public struct Halt: Sendable, Equatable {
        public var key: String
        public var reason: String?
        public var at: Date
    }

    /// Creates the bucket (full) or updates its rate and burst from the configuration.
    public static func rateLimitConfigure(_ connection: Connection, key: String, rate: Double, burst: Double) async throws {
        try await connection.execute("""
            INSERT INTO rate_limits (key, rate, burst)
            VALUES (\(key), \(rate), \(burst))
                ON CONFLICT (key) DO UPDATE
               SET rate = excluded.rate,
                   burst = excluded.burst
            """)
    }

    /// Reserves `requested` segments (at most the burst) in one statement: the caller may
    /// send them from `start` on, paced at `effectiveRate`. Nothing is reserved while the key
    /// is halted. Nil when the key is not configured.
    public static func rateLimitReserve(
        _ connection: Connection, key: String, requested: Double, recoveryPerSecond: Double
    ) async throws -> Reservation? {
        let rows = try await connection.query("""
            -- 1. The bucket now: the slow factor recovered since refreshed_at, tat not in the past.
            WITH current AS (
                SELECT key, rate, burst, halted_at IS NOT NULL AS halted,
                       least(1, slow_factor * power(\(recoveryPerSecond),
                                                    greatest(0, extract(epoch FROM now() - refreshed_at)::float8))) AS slow,
                       greatest(tat, now()) AS t0
                  FROM rate_limits
                 WHERE key = \(key)
                   FOR UPDATE
            ),
            -- 2. The reservation: never more than the burst.
            g AS (
                SELECT key, halted, slow, t0, burst, rate * slow AS eff, least(\(requested), burst) AS k
                  FROM current
            )
            -- 3. Move tat past it; it starts once tat - burst/rate has come.
            UPDATE rate_limits r
               SET tat = CASE WHEN g.halted THEN r.tat ELSE g.t0 + make_interval(secs => g.k / g.eff) END,
                   slow_factor = g.slow,
                   refreshed_at = now()
              FROM g
             WHERE r.key = g.key
            RETURNING CASE WHEN g.halted THEN 0 ELSE g.k END AS segments,
                      greatest(now(), g.t0 + make_interval(secs => (g.k - g.burst) / g.eff)) AS start_at,
                      g.eff AS effective_rate, g.halted AS halted
            """, prepared: true)
        guard let row = rows.first else { return nil }
        return Reservation(segments: try row["segments"], start: try row["start_at"],
                           effectiveRate: try row["effective_rate"], halted: try row["halted"])
    }

    @discardableResult
    public static func rateLimitSlowDown(
        _ connection: Connection, key: String, factor: Double, floor: Double
    ) async throws -> Double? {
        let rows = try await connection.query("""
            UPDATE rate_limits
               SET refreshed_at = now(),
                   slow_factor = greatest(\(floor), slow_factor * \(factor))
             WHERE key = \(key)
             RETURNING slow_factor
            """)
        return try rows.scalar(Double.self)
    }

    /// Halts a key (auth failure, suspended account): its messages are not claimed until
    /// `rateLimitResume`. Creates the row when the key had no bucket (unlimited rate).
    /// Returns true when this call halted it (false: it was halted already).
    @discardableResult
    public static func rateLimitHalt(_ connection: Connection, key: String, reason: String) async throws -> Bool {
        let rows = try await connection.query("""
            INSERT INTO rate_limits (key, rate, burst, halted_at, halt_reason)
            VALUES (\(key), 1e9, 1e9, now(), \(reason))
                ON CONFLICT (key) DO UPDATE
               SET halted_at = now(), halt_reason = excluded.halt_reason
             WHERE rate_limits.halted_at IS NULL
             RETURNING key
            """)
        return !rows.isEmpty
    }

    /// Clears a halt. Returns false when the key was not halted.
    @discardableResult
    public static func rateLimitResume(_ connection: Connection, key: String) async throws -> Bool {
        try await connection.execute("""
            UPDATE rate_limits
               SET halted_at = NULL, halt_reason = NULL
             WHERE key = \(key)
               AND halted_at IS NOT NULL
            """) > 0
    }

    /// Every halted key.
    public static func rateLimitHaltedList(_ connection: Connection) async throws -> [Halt] {
        let rows = try await connection.query("""
            SELECT key, halt_reason, halted_at
              FROM rate_limits
             WHERE halted_at IS NOT NULL
             ORDER BY key
            """)
        return try rows.map { Halt(key: try $0["key"], reason: try $0["halt_reason"], at: try $0["halted_at"]) }
    }

    // MARK: Provider availability (the circuit breaker)

    /// A provider account marked unavailable.
    public struct Unavailable: Sendable, Equatable {
        public var key: String
        public var since: Date
        /// When the next probe may run.
        public var nextProbe: Date?
    }

    /// Marks a key unavailable (the breaker opened): its messages are not claimed until
    /// `rateLimitMarkAvailable`; the first probe may run `probeAfterSeconds` later. Creates the
    /// row when the key had no bucket. True when this call marked it (false: it was already).
    @discardableResult
    public static func rateLimitMarkUnavailable(_ connection: Connection, key: String, probeAfterSeconds: Double) async throws -> Bool {
        let rows = try await connection.query("""
            INSERT INTO rate_limits (key, rate, burst, unavailable_since, unavailable_until, probe_interval_s)
            VALUES (\(key), 1e9, 1e9, now(), now() + make_interval(secs => \(probeAfterSeconds)), \(probeAfterSeconds))
                ON CONFLICT (key) DO UPDATE
               SET unavailable_since = excluded.unavailable_since,
                   unavailable_until = excluded.unavailable_until,
                   probe_interval_s = excluded.probe_interval_s
             WHERE rate_limits.unavailable_since IS NULL
             RETURNING key
            """)
        return !rows.isEmpty
    }

    /// Takes the probes that are due among `keys`: each taken key's next probe moves one
    /// (doubled, at most `maxIntervalSeconds`) interval on, so one worker probes at a time and
    /// a failed probe needs no second write. Returns the keys to probe.
    public static func rateLimitProbeClaimMany(_ connection: Connection, keys: [String], maxIntervalSeconds: Double) async throws -> [String] {
        guard !keys.isEmpty else { return [] }
        let rows = try await connection.query("""
            UPDATE rate_limits
               SET probe_interval_s = least(\(maxIntervalSeconds), coalesce(probe_interval_s, 1) * 2),
                   unavailable_until = now() + make_interval(secs => least(\(maxIntervalSeconds), coalesce(probe_interval_s, 1) * 2))
             WHERE key = ANY(\(keys))
               AND unavailable_since IS NOT NULL
               AND coalesce(unavailable_until, now()) <= now()
             RETURNING key
            """)
        return try rows.map { try $0.decode(String.self, at: 0) }
    }

    /// Clears the unavailable mark (a probe succeeded). Returns when it had been marked, nil
    /// when it was not.
    @discardableResult
    public static func rateLimitMarkAvailable(_ connection: Connection, key: String) async throws -> Date? {
        let rows = try await connection.query("""
            UPDATE rate_limits r
               SET unavailable_since = NULL, unavailable_until = NULL, probe_interval_s = NULL
              FROM (SELECT key, unavailable_since FROM rate_limits WHERE key = \(key) FOR UPDATE) old
             WHERE r.key = old.key
               AND old.unavailable_since IS NOT NULL
             RETURNING old.unavailable_since
            """)
        return try rows.scalar(Date.self)
    }

    /// Every key marked unavailable.
    public static func rateLimitUnavailableList(_ connection: Connection) async throws -> [Unavailable] {
        let rows = try await connection.query("""
            SELECT key, unavailable_since, unavailable_until
              FROM rate_limits
             WHERE unavailable_since IS NOT NULL
             ORDER BY key
            """)
        return try rows.map { Unavailable(key: try $0["key"], since: try $0["unavailable_since"], nextProbe: try $0["unavailable_until"]) }
    }
}
