import Foundation
@testable import Store
import TestSupport
import Testing

@Suite struct ConnectionPoolTests {
    /// A caller that would wait past `maxWaiters` gets `Exhausted` at once; the waiters
    /// within the bound get their connection when one comes back.
    @Test func waitersAreBoundedAndTheOneTooManyIsRefusedAtOnce() async throws {
        let db = try await TestPostgres.database()
        let pool = ConnectionPool(ConnectionPool.Configuration(conninfo: db.conninfo, maxConnections: 1, maxWaiters: 2))
        let (held, holding) = AsyncStream<Void>.makeStream()
        let (release, releasing) = AsyncStream<Void>.makeStream()
        let holder = Task {
            try await pool.withConnection { _ in
                holding.yield()
                for await _ in release {}
            }
        }
        for await _ in held { break }
        let waiters = (0..<2).map { _ in Task { try await pool.withConnection { try await $0.query("SELECT 1").scalar(Int.self) } } }
        var waiting = 0
        for _ in 0..<1000 where waiting < 2 {
            waiting = await pool.waiting
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(waiting == 2)
        await #expect(throws: ConnectionPool.Exhausted.self) {
            try await pool.withConnection { try await $0.query("SELECT 1") }
        }
        releasing.finish()
        try await holder.value
        for w in waiters { #expect(try await w.value == 1) }
        // room again
        #expect(try await pool.withConnection { try await $0.query("SELECT 1").scalar(Int.self) } == 1)
        await pool.close()
    }

    /// The database goes away while every connection is lent and callers wait: each waiter
    /// gets an error (and may retry later), none waits forever. Before, a broken connection
    /// coming back served one waiter's reconnect; when that failed, the others had nothing
    /// left to wake them.
    @Test func whenTheDatabaseGoesAwayNoWaiterWaitsForever() async throws {
        let db = try await TestPostgres.database()
        let relay = try HoldingRelay(server: db.conninfo)
        defer { relay.stop() }
        let pool = ConnectionPool(ConnectionPool.Configuration(conninfo: relay.conninfo(db.conninfo), maxConnections: 1))
        let (held, holding) = AsyncStream<Void>.makeStream()
        let (release, releasing) = AsyncStream<Void>.makeStream()
        let holder = Task {
            try await pool.withConnection { c in
                holding.yield()
                for await _ in release {}
                _ = try await c.query("SELECT 1")  // fails: the database is gone
            }
        }
        for await _ in held { break }
        let finished = Counter()
        let waiters = (0..<3).map { _ in
            Task {
                defer { finished.add() }
                return try await pool.withConnection { try await $0.query("SELECT 1").scalar(Int.self) }
            }
        }
        #expect(try await waitUntil { await pool.waiting == 3 })
        relay.stop()  // the server is out of reach, and the lent connection is cut
        releasing.finish()
        await #expect(throws: PostgresError.self) { try await holder.value }
        let allFinished = try await waitUntil { finished.value == 3 }
        let stillWaiting = await pool.waiting
        #expect(allFinished, "waiters still waiting: \(stillWaiting)")
        guard allFinished else { return }  // a waiter left waiting would hang the test run
        for w in waiters { await #expect(throws: (any Error).self) { try await w.value } }
        #expect(await pool.openConnections == 0)
        await pool.close()
    }
}

/// Polls `condition` every 20 ms for up to 20 s.
func waitUntil(_ condition: () async throws -> Bool) async throws -> Bool {
    for _ in 0..<1000 {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return false
}

/// Sessions carry limits suited to their role, and libpq keepalives.
@Suite struct SessionSettingsTests {
    func show(_ c: Connection, _ name: String) async throws -> String? {
        try await c.query("SELECT current_setting(\(name))").scalar(String.self)
    }

    @Test func eachRoleGetsItsTimeouts() async throws {
        let db = try await TestPostgres.database()
        let worker = ConnectionPool(conninfo: db.conninfo, maxConnections: 1)
        let w = try await worker.withConnection { c in
            [try await show(c, "statement_timeout"), try await show(c, "lock_timeout"), try await show(c, "idle_in_transaction_session_timeout")]
        }
        #expect(w == ["30s", "5s", "1min"])
        let http = ConnectionPool(conninfo: db.conninfo, maxConnections: 1, settings: .http)
        let h = try await http.withConnection { c in [try await show(c, "statement_timeout"), try await show(c, "lock_timeout")] }
        #expect(h == ["8s", "3s"])
        let command = try await Connection.connect(db.conninfo, settings: .command)
        #expect(try await show(command, "statement_timeout") == "0")
        #expect(try await show(command, "lock_timeout") == "10s")
        await command.close()
        // a statement past its limit is cancelled, and the session goes on
        let short = try await Connection.connect(db.conninfo, settings: .init(statementTimeout: .milliseconds(200)))
        await #expect(throws: PostgresError.self) { try await short.execute("SELECT pg_sleep(5)") }
        do { try await short.execute("SELECT pg_sleep(5)") } catch let e as PostgresError { #expect(e.sqlState == .queryCanceled) } catch {
            Issue.record("unexpected \(error)")
        }
        #expect(try await short.query("SELECT 1").scalar(Int.self) == 1)
        await short.close()
        await worker.close()
        await http.close()
    }

    @Test func connectionsAskForTCPKeepalives() {
        let p = Dictionary(uniqueKeysWithValues: Connection.defaultParameters(applicationName: "x"))
        #expect(p["keepalives"] == "1")
        #expect(p["keepalives_idle"] == "30" && p["keepalives_interval"] == "10" && p["keepalives_count"] == "3")
        #expect(p["tcp_user_timeout"] == "60000")
        #expect(p["connect_timeout"] == "10")
    }
}
