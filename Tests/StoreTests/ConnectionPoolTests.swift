import Foundation
import Store
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
