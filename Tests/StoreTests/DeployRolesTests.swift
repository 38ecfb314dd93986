import Foundation
import Jobs
import Store
import TestSupport
import Testing

/// deploy/sql/roles.sql applied to a migrated database, as an operator would after `migrate`.
/// Serialized: roles are cluster-wide, and two runs of the script altering them at once collide.
@Suite(.serialized) struct DeployRolesTests {
    static let insufficientPrivilege = SQLState(rawValue: "42501")

    /// deploy/sql/roles.sql, found from this file: Tests/StoreTests/ → the package root.
    static func rolesScript() throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try String(contentsOf: root.appendingPathComponent("deploy/sql/roles.sql"), encoding: .utf8)
    }

    @Test func rolesScriptIsIdempotentAndGrantsOnlyWhatEachRoleNeeds() async throws {
        let script = try Self.rolesScript()
        let db = try await TestPostgres.database()
        let c = try await db.connect()  // superuser
        // Twice: the second run finds the roles (possibly made by another database of this
        // cluster) and converges on the same grants.
        try await c.executeScript(script)
        try await c.executeScript(script)
        #expect(try await c.query("SELECT count(*) FROM pg_roles WHERE rolname IN ('dispatcher_owner', 'dispatcher_worker', 'dispatcher_reporting')").scalar(Int.self) == 3)

        let campaign = try await c.query("""
            INSERT INTO campaigns (name, provider, from_number) VALUES ('roles', 'plum', '+12435678910') RETURNING id
            """).scalar(Int64.self)!
        let message = try await c.query("""
            INSERT INTO messages (campaign_id, external_id, provider, from_number, to_number, segments, due_at, next_attempt_at)
            VALUES (\(campaign), 'm1', 'plum', '+12435678910', '+12025550143', 1, now(), now()) RETURNING id
            """).scalar(Int64.self)!

        // Reporting: reads the views, writes nothing.
        try await c.execute("SET ROLE dispatcher_reporting")
        #expect(try await c.query("SELECT total FROM campaign_report WHERE campaign = 'roles'").scalar(Int.self) == 1)
        #expect(try await c.query("SELECT count(*) FROM message_report").scalar(Int.self) == 1)
        let reportingInsert = await #expect(throws: PostgresError.self) {
            try await c.execute("""
                INSERT INTO messages (campaign_id, external_id, provider, from_number, to_number, segments, due_at, next_attempt_at)
                VALUES (\(campaign), 'm2', 'plum', '+12435678910', '+12025550144', 1, now(), now())
                """)
        }
        #expect(reportingInsert?.sqlState == Self.insufficientPrivilege)
        try await c.execute("RESET ROLE")

        // Worker: appends events, never rewrites them, no DDL.
        try await c.execute("SET ROLE dispatcher_worker")
        #expect(try await c.execute("""
            INSERT INTO message_events (message_id, kind, source, to_state) VALUES (\(message), 'enqueued', 'dispatcher', 'pending')
            """) == 1)
        #expect(try await c.execute("UPDATE messages SET lease_token = nextval('message_lease_tokens') WHERE id = \(message)") == 1)
        let eventUpdate = await #expect(throws: PostgresError.self) {
            try await c.execute("UPDATE message_events SET detail = 'rewritten' WHERE message_id = \(message)")
        }
        #expect(eventUpdate?.sqlState == Self.insufficientPrivilege)
        #expect(eventUpdate?.message.contains("permission denied") == true)  // the grant, not just the append-only trigger
        let drop = await #expect(throws: PostgresError.self) { try await c.execute("DROP TABLE message_events") }
        #expect(drop?.sqlState == Self.insufficientPrivilege)
        let delete = await #expect(throws: PostgresError.self) { try await c.execute("DELETE FROM messages") }
        #expect(delete?.sqlState == Self.insufficientPrivilege)
        try await c.execute("RESET ROLE")
        #expect(try await c.query("SELECT count(*) FROM message_events WHERE detail IS NULL").scalar(Int.self) == 1)

        // Reporting can write nowhere; the worker can rewrite or delete no history.
        let reportingWrites = try await c.query("""
            SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'p')
               AND has_table_privilege('dispatcher_reporting', c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
            """).scalar(Int.self)
        #expect(reportingWrites == 0)
        #expect(try await c.query("""
            SELECT has_table_privilege('dispatcher_worker', 'message_events', 'UPDATE, DELETE, TRUNCATE')
                OR has_table_privilege('dispatcher_worker', 'messages', 'DELETE, TRUNCATE')
            """).scalar(Bool.self) == false)
        await c.close()
    }

    /// The worker role can claim under quiet hours (the tables the SQL functions read) and a
    /// frequency cap (its ledger).
    @Test func theWorkerRoleClaimsUnderQuietHoursAndAFrequencyCap() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        try await c.executeScript(try Self.rolesScript())
        let campaign = try await c.query("""
            INSERT INTO campaigns (name, provider, from_number, quiet_hours) VALUES ('roles-qh', 'plum', '+12435678910', 'us-strict')
            RETURNING id
            """).scalar(Int64.self)!
        try await c.execute("""
            INSERT INTO messages (campaign_id, external_id, provider, from_number, to_number, segments, due_at, next_attempt_at)
            SELECT \(campaign), 'm' || i, 'plum', '+12435678910', '+12125550143', 1, '2026-06-10T15:00:00Z', '2026-06-10T15:00:00Z'
              FROM generate_series(1, 2) AS i
            """)
        try await c.execute("SET ROLE dispatcher_worker")
        let noon = try Timestamp.parse("2026-06-10T16:00:00Z")  // 12:00 in New York, a Wednesday
        let compliance = SendingCompliance(quietHours: nil, frequencyCap: FrequencyCap(max: 1, per: .all, action: .defer))
        let claimed = try await Outbox.messageClaimMany(c, owner: "w", limit: 10, leaseSeconds: 60, providers: ["plum"],
                                                        optOutScope: .sender, compliance: compliance, now: noon)
        #expect(claimed.count == 1)
        try await c.execute("RESET ROLE")
        await c.close()
    }

    /// Reporting reads messages but not their callback tokens (whoever holds one can post
    /// delivery reports), and no message text (patient data) unless a site grants it the
    /// opt-in role on purpose; tokens stay out even then.
    @Test func reportingRoleReadsNeitherCallbackTokensNorMessageTexts() async throws {
        let script = try Self.rolesScript()
        let db = try await TestPostgres.database()
        let c = try await db.connect()  // superuser
        try await c.executeScript(script)
        let campaign = try await c.query("""
            INSERT INTO campaigns (name, provider, from_number) VALUES ('texts', 'plum', '+12435678910') RETURNING id
            """).scalar(Int64.self)!
        let message = try await c.query("""
            INSERT INTO messages (campaign_id, external_id, provider, from_number, to_number, segments, due_at, next_attempt_at)
            VALUES (\(campaign), 'm1', 'plum', '+12435678910', '+12025550143', 1, now(), now()) RETURNING id
            """).scalar(Int64.self)!
        try await c.execute("INSERT INTO message_bodies (message_id, body) VALUES (\(message), 'Hi Ana, your appointment')")
        try await c.execute("""
            INSERT INTO inbound_messages (provider, from_number, to_number, body) VALUES ('plum', '+12025550143', '+12435678910', 'CONFIRM')
            """)
        try await c.execute("""
            INSERT INTO callback_inbox (message_id, source, provider, provider_message_id, provider_status, state, raw)
            VALUES (\(message), 'callback', 'plum', 'p1', 'delivered', 'delivered', 'Body=Hi+Ana')
            """)
        // a callback's event keeps the fields as received (Restcomm's carry the Body)
        try await c.execute("""
            INSERT INTO message_events (message_id, kind, source, provider_status, detail)
            VALUES (\(message), 'callback', 'callback', 'delivered', 'applied; MessageSid=SM1&MessageStatus=delivered&Body=Hi+Ana')
            """)

        func denied(_ sql: SQL) async -> Bool {
            do {
                _ = try await c.query(sql)
                return false
            } catch let error as PostgresError {
                return error.sqlState == Self.insufficientPrivilege
            } catch {
                return false
            }
        }

        try await c.execute("SET ROLE dispatcher_reporting")
        // What reports need still works.
        #expect(try await c.query("SELECT count(*) FROM messages").scalar(Int.self) == 1)
        #expect(try await c.query("SELECT external_id FROM messages WHERE id = \(message)").scalar(String.self) == "m1")
        #expect(try await c.query("SELECT keyword IS NULL FROM inbound_messages").scalar(Bool.self) == true)
        #expect(try await c.query("SELECT count(*) FROM message_report").scalar(Int.self) == 1)
        // Secrets and texts do not.
        #expect(await denied("SELECT callback_token FROM messages"))
        #expect(await denied("SELECT * FROM messages"))
        #expect(await denied("SELECT body FROM message_bodies"))
        #expect(await denied("SELECT body FROM inbound_messages"))
        #expect(await denied("SELECT raw FROM callback_inbox"))
        #expect(await denied("SELECT detail FROM message_events"))
        #expect(try await c.query("SELECT kind FROM message_events WHERE message_id = \(message)").scalar(String.self) == "callback")
        try await c.execute("RESET ROLE")
        // No column of any table that holds a token or a text is readable by reporting.
        let readable = try await c.query("""
            SELECT a.attrelid::regclass::text || '.' || a.attname FROM pg_attribute a
              JOIN pg_class t ON t.oid = a.attrelid JOIN pg_namespace n ON n.oid = t.relnamespace
             WHERE n.nspname = 'public' AND t.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
               AND (a.attname IN ('callback_token', 'body', 'raw') OR (t.relname = 'message_events' AND a.attname = 'detail'))
               AND has_column_privilege('dispatcher_reporting', a.attrelid, a.attnum, 'SELECT')
             ORDER BY 1
            """).map { try $0.decode(String.self, at: 0) }
        #expect(readable == [])

        // The documented opt-in: texts become readable, tokens stay out; a re-run keeps it.
        try await c.execute("GRANT dispatcher_message_text TO dispatcher_reporting")
        do {
            try await c.executeScript(script)
            try await c.execute("SET ROLE dispatcher_reporting")
            #expect(try await c.query("SELECT body FROM message_bodies").scalar(String.self) == "Hi Ana, your appointment")
            #expect(try await c.query("SELECT body FROM inbound_messages").scalar(String.self) == "CONFIRM")
            #expect(try await c.query("SELECT raw FROM callback_inbox").scalar(String.self) == "Body=Hi+Ana")
            #expect(try await c.query("SELECT count(*) FROM message_events WHERE detail LIKE '%Body=Hi+Ana'").scalar(Int.self) == 1)
            #expect(await denied("SELECT callback_token FROM messages"))
            try await c.execute("RESET ROLE")
        } catch {
            _ = try? await c.execute("RESET ROLE")
            _ = try? await c.execute("REVOKE dispatcher_message_text FROM dispatcher_reporting")
            throw error
        }
        try await c.execute("REVOKE dispatcher_message_text FROM dispatcher_reporting")
        await c.close()
    }

    @Test func rolesScriptRefusesAnUnmigratedDatabase() async throws {
        let db = try await TestPostgres.database(migrated: false)
        let c = try await db.connect()
        let error = await #expect(throws: PostgresError.self) { try await c.executeScript(try Self.rolesScript()) }
        #expect(error?.message.contains("dispatcher migrate") == true)
        await c.close()
    }
}
