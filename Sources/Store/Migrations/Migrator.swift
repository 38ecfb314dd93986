/// Applies `Migration.all` to a database.
///
/// Everything happens in one transaction that first takes a transaction-level advisory
/// lock (`pg_advisory_xact_lock`), so several `dispatcher migrate` processes on several
/// hosts serialise, the later ones find nothing to do, and no session-level lock is held
/// (safe through PgBouncer in transaction mode). Applied versions are recorded in
/// `schema_migrations`.
public struct Migrator: Sendable {
    /// Arbitrary constant: the advisory lock key that serialises migrations.
    static let lockKey: Int64 = 0x6469_7370_6d69_67  // "dispmig"

    public var migrations: [Migration]

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
        try await connection.withTransaction { conn in
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
                    try await conn.executeScript(migration.sql)
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
