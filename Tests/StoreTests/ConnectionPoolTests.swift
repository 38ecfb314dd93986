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
