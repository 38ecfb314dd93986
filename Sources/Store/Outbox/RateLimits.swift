public import Foundation

/// The shared rate limiter's statements: one token bucket per key in `rate_limits`
/// (`sender:+12435678910`, `provider:plum`), refilled lazily from `refreshed_at` at
/// `rate × slow_factor` segments per second up to `burst`. Every worker takes from the same
/// row, so a sender's rate holds across all of them. Times are the database server's clock.
public enum RateLimits {
    /// The key of a sender number's bucket.
    public static func senderKey(_ number: String) -> String { "sender:" + number }
    /// The key of a provider account's bucket (and halt switch).
    public static func providerKey(_ name: String) -> String { "provider:" + name }

    /// What a take returned.
    public struct Grant: Sendable, Equatable {
        /// Whole segments granted (0 … requested).
        public var granted: Double
        /// `rate × slow_factor` now, segments per second.
        public var effectiveRate: Double
        public var halted: Bool
    }

    /// A halted key.
    public struct Halt: Sendable, Equatable {
        public var key: String
        public var reason: String?
        public var at: Date
    }

    /// Creates the bucket (full) or updates its rate and burst from the configuration.
    public static func rateLimitsConfigure(_ connection: Connection, key: String, rate: Double, burst: Double) async throws {
        try await connection.execute("""
            INSERT INTO rate_limits (key, rate, burst, tokens)
            VALUES (\(key), \(rate), \(burst), \(burst))
                ON CONFLICT (key) DO UPDATE
               SET rate = excluded.rate,
                   burst = excluded.burst,
                   tokens = least(rate_limits.tokens, excluded.burst)
            """)
    }

    /// Takes up to `requested` whole segments in one statement: refills lazily, recovers the
    /// slow factor (×`recoveryPerSecond` per second, up to 1), and grants
    /// `floor(min(requested, available))`. Nil when the key has no bucket.
    public static func rateLimitsTake(
        _ connection: Connection, key: String, requested: Double, recoveryPerSecond: Double = 1.1
    ) async throws -> Grant? {
        let rows = try await connection.query("""
            -- 1. The bucket as of now: refilled since refreshed_at, slow factor recovered.
            WITH current AS (
                SELECT key,
                       least(burst, tokens + rate * slow_factor
                                             * greatest(0, extract(epoch FROM now() - refreshed_at)::float8)) AS available,
                       least(1, slow_factor * power(\(recoveryPerSecond),
                                                    greatest(0, extract(epoch FROM now() - refreshed_at)::float8))) AS slow
                  FROM rate_limits
                 WHERE key = \(key)
                   FOR UPDATE
            ),
            -- 2. What we may take (nothing while halted).
            g AS (
                SELECT key, available, slow,
                       CASE WHEN (SELECT halted_at FROM rate_limits WHERE key = current.key) IS NOT NULL THEN 0
                            ELSE floor(least(\(requested), available)) END AS granted
                  FROM current
            )
            -- 3. Take it.
            UPDATE rate_limits r
               SET tokens = g.available - g.granted,
                   slow_factor = g.slow,
                   refreshed_at = now()
              FROM g
             WHERE r.key = g.key
             RETURNING g.granted, r.rate * g.slow AS effective_rate, r.halted_at IS NOT NULL AS halted
            """)
        guard let row = rows.first else { return nil }
        return Grant(granted: try row["granted"], effectiveRate: try row["effective_rate"], halted: try row["halted"])
    }

    /// After a 429 or queue overflow: settles the bucket at the old speed, then multiplies the
    /// slow factor by `factor` (never below `floor`). Returns the new slow factor.
    @discardableResult
    public static func rateLimitsSlowDown(
        _ connection: Connection, key: String, factor: Double = 0.5, floor: Double = 0.05
    ) async throws -> Double? {
        let rows = try await connection.query("""
            UPDATE rate_limits
               SET tokens = least(burst, tokens + rate * slow_factor
                                                 * greatest(0, extract(epoch FROM now() - refreshed_at)::float8)),
                   refreshed_at = now(),
                   slow_factor = greatest(\(floor), slow_factor * \(factor))
             WHERE key = \(key)
             RETURNING slow_factor
            """)
        return try rows.scalar(Double.self)
    }

    /// Halts a key (auth failure, suspended account): its messages are not claimed until
    /// `rateLimitsResume`. Creates the row when the key had no bucket (unlimited rate).
    /// Returns true when this call halted it (false: it was halted already).
    @discardableResult
    public static func rateLimitsHalt(_ connection: Connection, key: String, reason: String) async throws -> Bool {
        let rows = try await connection.query("""
            INSERT INTO rate_limits (key, rate, burst, tokens, halted_at, halt_reason)
            VALUES (\(key), 1e9, 1e9, 1e9, now(), \(reason))
                ON CONFLICT (key) DO UPDATE
               SET halted_at = now(), halt_reason = excluded.halt_reason
             WHERE rate_limits.halted_at IS NULL
             RETURNING key
            """)
        return !rows.isEmpty
    }

    /// Clears a halt. Returns false when the key was not halted.
    @discardableResult
    public static func rateLimitsResume(_ connection: Connection, key: String) async throws -> Bool {
        try await connection.execute("""
            UPDATE rate_limits
               SET halted_at = NULL, halt_reason = NULL
             WHERE key = \(key)
               AND halted_at IS NOT NULL
            """) > 0
    }

    /// Every halted key.
    public static func rateLimitsHalted(_ connection: Connection) async throws -> [Halt] {
        let rows = try await connection.query("""
            SELECT key, halt_reason, halted_at
              FROM rate_limits
             WHERE halted_at IS NOT NULL
             ORDER BY key
            """)
        return try rows.map { Halt(key: try $0["key"], reason: try $0["halt_reason"], at: try $0["halted_at"]) }
    }
}
