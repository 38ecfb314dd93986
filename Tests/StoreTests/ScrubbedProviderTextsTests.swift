import Foundation
import Store
import Support
import TestSupport
import Testing

/// Migration 10: recipients' numbers out of provider texts stored before it, by the same rule
/// the dispatcher applies to the texts it stores now.
@Suite struct ScrubbedProviderTextsTests {
    static let texts = [
        "To number: +12025550112, is not a mobile number", "Invalid 'to' phone number", "30006", "code 123-4567",
        "call 202-555-0143 or (202) 555 0143", "+44 20 7946 0958 and +1.202.555.0143", "555--0143", "123456", "+",
        "++12025550143", "1234567", "Zahl：２０２５５５０１４３", "e\u{301} 2025550143 🙂", String(repeating: "9", count: 5_000),
    ]

    @Test func migrationTenScrubsStoredTextsLikeTheDispatcher() async throws {
        let db = try await TestPostgres.database(migrated: false)
        let c = try await db.connect()
        #expect(try await Migrator(migrations: Array(Migration.all.prefix(9))).migrate(c).currentVersion == 9)
        try await c.execute("INSERT INTO campaigns (name, provider, from_number) VALUES ('up', 'plum', '+12435678910')")
        try await c.execute("""
            INSERT INTO messages (campaign_id, external_id, state, provider, from_number, to_number, segments, due_at,
                                  next_attempt_at, error_code)
            SELECT (SELECT id FROM campaigns), 'm' || n, 'failed', 'plum', '+12435678910', '+12025550112', 1, now(), now(), t
              FROM unnest(\(Self.texts)::text[]) WITH ORDINALITY AS x(t, n)
            """)
        try await c.execute("""
            INSERT INTO message_events (message_id, kind, source, error_code) SELECT id, 'attempt', 'dispatcher', error_code FROM messages
            """)
        let outcome = try await Migrator().migrate(c)
        #expect(outcome.applied.contains(10))
        let stored: [(String, SQL)] = [
            ("messages", "SELECT external_id, error_code FROM messages"),
            ("message_events", "SELECT m.external_id, e.error_code FROM message_events e JOIN messages m ON m.id = e.message_id"),
        ]
        for (table, statement) in stored {
            let rows = try await c.query(statement)
            #expect(rows.count == Self.texts.count)
            for row in rows {
                let index = Int(try row["external_id", as: String.self].dropFirst())! - 1
                #expect(try row["error_code", as: String.self] == PhoneNumberScrubbing.scrub(Self.texts[index]),
                        "\(table): \(Self.texts[index].prefix(40))")
            }
        }
        // the events are append-only again
        let update = await #expect(throws: PostgresError.self) { try await c.execute("UPDATE message_events SET detail = 'x'") }
        #expect(update?.sqlState == SQLState(rawValue: "42501"))
        await c.close()
    }
}
