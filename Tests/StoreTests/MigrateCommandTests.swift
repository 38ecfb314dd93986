import Foundation
import Store
import TestSupport
import Testing

/// `dispatcher migrate` run as a real process against real databases.
@Suite struct MigrateCommandTests {
    @Test func migrateTwiceIsANoOp() async throws {
        let db = try await TestPostgres.database(migrated: false)
        let first = try await DispatcherBinary.run(["migrate"], environment: ["DATABASE_URL": db.conninfo])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("applied migration"))
        let c = try await db.connect()
        let before = try await c.query("SELECT count(*), max(applied_at) FROM schema_migrations").first!.decode((Int, Date).self)
        let second = try await DispatcherBinary.run(["migrate"], environment: ["DATABASE_URL": db.conninfo])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("up to date"))
        let after = try await c.query("SELECT count(*), max(applied_at) FROM schema_migrations").first!.decode((Int, Date).self)
        #expect(before == after)
        #expect(after.0 == Migration.all.count)
        // the schema is all there
        for table in ["campaigns", "messages", "message_bodies", "message_events", "opt_outs", "inbound_messages", "rate_limits",
                      "message_report", "campaign_report"] {
            #expect(try await c.query("SELECT to_regclass(\(table)) IS NOT NULL").scalar(Bool.self) == true, "\(table)")
        }
    }

    @Test func twoMigrateProcessesAtOnceBothSucceed() async throws {
        let db = try await TestPostgres.database(migrated: false)
        async let a = Task.detached { try await DispatcherBinary.run(["migrate"], environment: ["DATABASE_URL": db.conninfo]) }.value
        async let b = Task.detached { try await DispatcherBinary.run(["migrate"], environment: ["DATABASE_URL": db.conninfo]) }.value
        let (ra, rb) = try await (a, b)
        #expect(ra.status == 0, "\(ra.stderr)")
        #expect(rb.status == 0, "\(rb.stderr)")
        // exactly one of them applied the migrations
        #expect([ra, rb].filter { $0.stdout.contains("applied migration") }.count == 1)
        let c = try await db.connect()
        #expect(try await c.query("SELECT count(*) FROM schema_migrations").scalar(Int.self) == Migration.all.count)
    }

    @Test func wrongPasswordExits69WithOneLine() async throws {
        let server = try await TestPostgres.server()
        let cluster = try #require(server.cluster)
        let url = "postgresql://\(TestPostgres.passwordRole.user):wrong-secret@/postgres?host=\(cluster.directory)&port=\(cluster.port)"
        let r = try await DispatcherBinary.run(["migrate"], environment: ["DATABASE_URL": url])
        #expect(r.status == 69)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(r.stderr.contains("password authentication failed"))
        #expect(!r.stderr.contains("wrong-secret"))
    }

    @Test func unreachableHostExits69WithOneLine() async throws {
        let r = try await DispatcherBinary.run(["migrate"], environment: ["DATABASE_URL": "postgres://app:topsecret@127.0.0.1:1/db?connect_timeout=3"])
        #expect(r.status == 69)
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(r.stderr.contains("127.0.0.1"))
        #expect(!r.stderr.contains("topsecret"))
    }

    @Test func usageErrorsExit64() async throws {
        #expect(try await DispatcherBinary.run(["migrate", "extra"]).status == 64)
        #expect(try await DispatcherBinary.run(["migrate", "--bogus"]).status == 64)
        #expect(try await DispatcherBinary.run(["no-such-command"]).status == 64)
        #expect(try await DispatcherBinary.run([]).status == 64)
        let help = try await DispatcherBinary.run(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("migrate"))
    }
}

/// Migrations give way to the workers: a migration waiting for a table's lock holds up every
/// later statement on that table, so it waits at most `lockTimeout`, rolls back and retries.
@Suite struct MigrationLockTests {
    /// A session in a transaction that read `messages` (a long report: it holds ACCESS SHARE).
    func longReport(_ db: TestDatabase) async throws -> Connection {
        let reader = try await db.connect()
        try await reader.execute("BEGIN")
        _ = try await reader.query("SELECT count(*) FROM messages")
        return reader
    }

    /// The migrations, plus one that alters `messages` (it needs ACCESS EXCLUSIVE).
    func migrator(adding version: Int, column: String) -> Migrator {
        Migrator(migrations: Migration.all + [
            Migration(version: version, name: "needs an exclusive lock", sql: "ALTER TABLE messages ADD COLUMN \(column) integer"),
        ])
    }

    @Test func aMigrationWaitingForALockDoesNotStallOtherSessions() async throws {
        let db = try await TestPostgres.database()
        let reader = try await longReport(db)
        let worker = try await db.connect()
        let migrating = try await db.connect()
        var migrator = migrator(adding: 900, column: "lock_test")
        migrator.lockTimeout = .milliseconds(300)
        migrator.retryDelay = .milliseconds(200)
        migrator.maxRetryDelay = .milliseconds(400)
        let retries = Counter()
        migrator.onRetry = { _, error in
            #expect(error.sqlState == .lockNotAvailable)
            retries.add()
        }
        let running = Task { [migrator] in try await migrator.migrate(migrating) }
        // the migration met the lock and gave way at least once
        let deadline = ContinuousClock.now + .seconds(30)
        while retries.value == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(retries.value >= 1)
        // a worker's statement on the same table still runs while the migration waits
        // (queued behind a waiting ACCESS EXCLUSIVE request, it would wait as long as the report)
        try await worker.execute("SET statement_timeout = '5s'")
        #expect(try await worker.query("SELECT count(*) FROM messages").scalar(Int.self) == 0)
        try await reader.execute("COMMIT")
        let outcome = try await running.value
        #expect(outcome.applied == [900])
        #expect(try await worker.query("SELECT count(*) FROM information_schema.columns WHERE column_name = 'lock_test'").scalar(Int.self) == 1)
        await reader.close()
        await worker.close()
        await migrating.close()
    }

    @Test func aLockNeverGrantedEndsWithAClearError() async throws {
        let db = try await TestPostgres.database()
        let reader = try await longReport(db)
        let migrating = try await db.connect()
        var migrator = migrator(adding: 901, column: "lock_test2")
        migrator.lockTimeout = .milliseconds(100)
        migrator.retryDelay = .milliseconds(50)
        migrator.maxAttempts = 3
        await #expect(throws: PostgresError.self) { try await migrator.migrate(migrating) }
        do { _ = try await migrator.migrate(migrating) } catch let error as PostgresError {
            #expect(error.sqlState == .lockNotAvailable)
            #expect(error.message.contains("migration 901"))
        }
        try await reader.execute("ROLLBACK")
        // nothing half-applied
        #expect(try await migrating.query("SELECT count(*) FROM schema_migrations WHERE version = 901").scalar(Int.self) == 0)
        await reader.close()
        await migrating.close()
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add() { lock.lock(); n += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}
