import Foundation
import Store
import Testing
import TestSupport
@testable import Dispatcher
import Sandbox

/// Everything works through PgBouncer in transaction mode, where a client's
/// prepared statements and settings stay on whichever server connection it had.
@Suite("Through PgBouncer (transaction mode)", .serialized)
struct PgBouncerTests {
    @Test func preparedStatementsFromManyClientsOverTwoServerConnections() async throws {
        let db = try await TestPostgres.database(migrated: false)
        let bouncer = try await PgBouncer.start(poolSize: 2)
        defer { bouncer.stop() }
        let setup = try await db.connect()
        try await setup.execute("CREATE TABLE t (id int8 PRIMARY KEY, v text)")
        try await setup.execute("INSERT INTO t SELECT i, 'v' || i FROM generate_series(1, 100) i")
        await setup.close()
        // Six clients, two server connections: each statement lands on whichever is free.
        let wrong = try await withThrowingTaskGroup(of: Int.self) { group in
            for client in 0..<6 {
                group.addTask {
                    let c = try await Connection.connect(bouncer.conninfo(database: db.name))
                    var wrong = 0
                    for round in 0..<40 {
                        let id = Int64((client * 40 + round) % 100 + 1)
                        let v = try await c.query("SELECT v FROM t WHERE id = \(id)", prepared: true).scalar(String.self)
                        if v != "v\(id)" { wrong += 1 }
                        let n = try await c.query("SELECT count(*) FROM t WHERE id <= \(id)", prepared: true).scalar(Int64.self)
                        if n != id { wrong += 1 }
                        // a transaction keeps its server connection; a missing statement aborts it once
                        let inTx: String? = try await retryingOnce {
                            try await c.withTransaction { tx in
                                try await tx.query("SELECT v FROM t WHERE id = \(id) FOR UPDATE", prepared: true).scalar(String.self)
                            }
                        }
                        if inTx != "v\(id)" { wrong += 1 }
                    }
                    await c.close()
                    return wrong
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(wrong == 0)
    }

    @Test func aWorkerSendsEveryMessageOnceThroughPgBouncer() async throws {
        let db = try await TestPostgres.database()
        let bouncer = try await PgBouncer.start(poolSize: 2)
        defer { bouncer.stop() }
        let sandbox = try SandboxFixture.start()
        let c = try await db.connect()
        let campaign = try await insertCampaign(c)
        try await insertMessages(c, campaign: campaign, plainMessages(150))
        let running = RunningWorker.start(workerConfiguration(sandbox: sandbox.base, concurrency: 16), database: db,
                                          conninfo: bouncer.conninfo(database: db.name), untilIdle: true)
        #expect(try await running.finish(timeout: .seconds(60)))
        #expect(try await stateCounts(c) == ["accepted": 150])
        let stats = await sandbox.sandbox.stats()
        #expect(stats.accepted == 150)
        #expect(stats.duplicates == 0)
        let events = try await c.query("SELECT kind, count(*) FROM message_events GROUP BY kind ORDER BY kind")
        let byKind = Dictionary(uniqueKeysWithValues: try events.map { (try $0.decode(String.self, at: 0), try $0.decode(Int.self, at: 1)) })
        #expect(byKind == ["attempt": 150, "claimed": 150])
        // The worker's connections went through PgBouncer: its two server connections stay
        // open in the pool (a direct pool would have opened up to eight, all closed by now).
        let pooled = try await c.query("""
            SELECT count(*) FROM pg_stat_activity WHERE datname = \(db.name) AND pid <> pg_backend_pid()
            """).scalar(Int.self)
        #expect(pooled.map { (1...2).contains($0) } == true)
        await c.close()
        await sandbox.stop()
    }
}

/// Runs `body`, and once more if it throws (a transaction aborted by a statement the server
/// connection did not have prepared).
private func retryingOnce<T>(_ body: () async throws -> T) async throws -> T {
    do { return try await body() } catch { return try await body() }
}
