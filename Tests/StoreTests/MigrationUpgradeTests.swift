import Foundation
import Store
import TestSupport
import Testing

/// Migrations applied to a database that already holds data from the earlier ones.
@Suite struct MigrationUpgradeTests {
    /// Migration 4 over a version-3 outbox: applied inbox reports go (their events are their
    /// record), unapplied ones stay and stay applicable; the reshaped keys keep their rules.
    @Test func leanerWritesKeepsUnappliedReportsAndTheKeysRules() async throws {
        let db = try await TestPostgres.database(migrated: false)
        let c = try await db.connect()
        #expect(try await Migrator(migrations: Array(Migration.all.prefix(3))).migrate(c).currentVersion == 3)
        try await c.execute("INSERT INTO campaigns (name, provider, from_number) VALUES ('up', 'restcomm', '+12435678910')")
        try await c.execute("""
            INSERT INTO messages (campaign_id, external_id, state, provider, from_number, to_number, segments, due_at,
                                  next_attempt_at, provider_message_id)
            SELECT (SELECT id FROM campaigns), 'm' || n, 'accepted', 'restcomm', '+12435678910', '+12025550143', 1, now(), now(), 'SM' || n
              FROM generate_series(1, 3) n
            """)
        try await c.execute("""
            INSERT INTO callback_inbox (message_id, source, provider, provider_message_id, provider_status, state, applied_at, outcome)
            SELECT id, 'callback', 'restcomm', provider_message_id, 'delivered', 'delivered',
                   CASE WHEN external_id = 'm1' THEN now() END, CASE WHEN external_id = 'm1' THEN 'applied' END
              FROM messages
            """)
        try await c.execute("INSERT INTO message_events (message_id, kind, source) SELECT id, 'attempt', 'dispatcher' FROM messages")
        let outcome = try await Migrator().migrate(c)
        #expect(outcome.applied == Migration.all.map(\.version).filter { $0 >= 4 })
        // the applied report is gone, the two others wait to be applied
        #expect(try await c.query("""
            SELECT string_agg(m.external_id, ',' ORDER BY m.external_id) FROM callback_inbox i JOIN messages m ON m.id = i.message_id
            """).scalar(String.self) == "m2,m3")
        let applied = try await Outbox.inboxApplyMany(c, limit: 1_000)
        #expect(applied.outcomes == ["applied": 2])
        #expect(try await c.query("SELECT count(*) FROM callback_inbox").scalar(Int.self) == 0)
        // events survive without their key; a provider id is still unique per provider
        #expect(try await c.query("SELECT count(*) FROM message_events").scalar(Int.self) == 5)
        let duplicate = await #expect(throws: PostgresError.self) {
            try await c.execute("UPDATE messages SET provider_message_id = 'SM1' WHERE external_id = 'm2'")
        }
        #expect(duplicate?.sqlState == .uniqueViolation)
        await c.close()
    }
}
