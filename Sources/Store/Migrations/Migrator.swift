/// Applies `Migration.all` to a database.
///
/// Everything happens in one transaction that first takes a transaction-level advisory
/// lock (`pg_advisory_xact_lock`), so several `dispatcher migrate` processes on several
/// hosts serialise, the later ones find nothing to do, and no session-level lock is held
/// (safe through PgBouncer in transaction mode). Applied versions are recorded in
/// `schema_migrations`.
///
/// A migration that alters a table waits for an ACCESS EXCLUSIVE lock, and while it waits
/// every later statement on that table queues behind it: running workers would stall
/// behind one long reporting query. So the transaction sets `lock_timeout`: a lock not
/// granted in time rolls the whole run back, the workers' statements go through, and the
/// run is tried again after a growing pause, up to `maxAttempts` times.
public struct Migrator: Sendable {
    /// Arbitrary constant: the advisory lock key that serialises migrations.
    static let lockKey: Int64 = 0x6469_7370_6d69_67  // "dispmig"

    public var migrations: [Migration]
    /// How long one run waits for any lock before giving way.
    public var lockTimeout: Duration = .seconds(2)
    /// Runs tried before giving up with the lock error.
    public var maxAttempts = 30
    /// Pause after the first lock timeout; it doubles up to `maxRetryDelay`.
    public var retryDelay: Duration = .milliseconds(500)
    public var maxRetryDelay: Duration = .seconds(5)
    /// Called before each retry (attempt number, the error): for a progress line.
    public var onRetry: @Sendable (Int, PostgresError) -> Void = { _, _ in }

    public init(migrations: [Migration] = Migration.all) {
        self.migrations = migrations
    }

    public struct Outcome: Sendable, Equatable {
        /// Versions applied by this run, in order.
        public var applied: [Int]
        /// The schema version after the run.
        public var currentVersion: Int
    }

    /// Applies what is missing and reports what it did.
    public func migrate(_ connection: Connection) async throws -> Outcome {
        var delay = retryDelay
        for attempt in 1... {
            do {
                return try await migrateOnce(connection)
            } catch let error as PostgresError where error.sqlState == .lockNotAvailable && attempt < maxAttempts {
                onRetry(attempt, error)
                try await Task.sleep(for: delay * Double.random(in: 0.8...1.2))
                delay = min(delay * 2, maxRetryDelay)
            }
        }
        fatalError("unreachable")
    }

    private func migrateOnce(_ connection: Connection) async throws -> Outcome {
        try await connection.withTransaction { conn in
            // for this transaction only; milliseconds
            let milliseconds = String(Int(lockTimeout / .milliseconds(1)))
            try await conn.execute("SELECT set_config('lock_timeout', \(milliseconds), true)")
            try await conn.execute("SELECT pg_advisory_xact_lock(\(Self.lockKey))")
            try await conn.execute("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version    integer PRIMARY KEY,
                    name       text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """)
            let done = Set(try await conn.query("SELECT version FROM schema_migrations").map { try $0.decode(Int.self, at: 0) })
            var applied: [Int] = []
            for migration in migrations.sorted(by: { $0.version < $1.version }) where !done.contains(migration.version) {
                do {
                    try await conn.executeScript(migration.sql, statement: "migration \(migration.version) (\(migration.name))")
                    try await migration.load?(conn)
                } catch let error as PostgresError {
                    var e = error
                    e.message = "migration \(migration.version) (\(migration.name)) failed: \(error.message)"
                    throw e
                }
                try await conn.execute("INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))")
                applied.append(migration.version)
            }
            let current = max(done.max() ?? 0, applied.max() ?? 0)
            return Outcome(applied: applied, currentVersion: current)
        }
    }
}
