import Foundation
import Store
import TestSupport
import Testing

struct Boom: Error, Equatable { var tag: String }

@Suite struct ConnectionTests {
    @Test func transactionThatThrowsRollsBackAndKeepsTheError() async throws {
        let db = try await TestPostgres.database(migrated: false)
        let c = try await db.connect()
        try await c.execute("CREATE TABLE t (v text)")
        await #expect(throws: Boom(tag: "original")) {
            try await c.withTransaction { tx in
                try await tx.execute("INSERT INTO t VALUES (\("gone"))")
                throw Boom(tag: "original")
            }
        }
        #expect(try await c.query("SELECT count(*) FROM t").scalar(Int.self) == 0)
        // a server error inside the transaction is kept too, and the connection stays usable
        let error = await #expect(throws: PostgresError.self) {
            try await c.withTransaction { tx in
                try await tx.execute("INSERT INTO t VALUES (\("also gone"))")
                try await tx.execute("SELECT 1/0")
            }
        }
        #expect(error?.sqlState == SQLState(rawValue: "22012"))
        #expect(try await c.query("SELECT count(*) FROM t").scalar(Int.self) == 0)
        let committed = try await c.withTransaction { tx in
            try await tx.execute("INSERT INTO t VALUES (\("kept"))")
        }
        #expect(committed == 1)
        #expect(try await c.query("SELECT v FROM t").scalar(String.self) == "kept")
    }

    @Test func nestedTransactionRollsBackToItsSavepoint() async throws {
        let db = try await TestPostgres.database(migrated: false)
        let c = try await db.connect()
        try await c.execute("CREATE TABLE t (v int4)")
        try await c.withTransaction { tx in
            try await tx.execute("INSERT INTO t VALUES (1)")
            _ = try? await tx.withTransaction { inner in
                try await inner.execute("INSERT INTO t VALUES (2)")
                throw Boom(tag: "inner")
            }
        }
        #expect(try await c.query("SELECT array_agg(v) FROM t").scalar([Int32].self) == [1])
    }

    @Test func uniqueViolationIsRecognisableBySQLState() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        try await c.execute("INSERT INTO campaigns (name, provider, from_number) VALUES (\("xyzzy-campaign"), \("plum"), \("+12435678910"))")
        let error = await #expect(throws: PostgresError.self) {
            try await c.execute("INSERT INTO campaigns (name, provider, from_number) VALUES (\("xyzzy-campaign"), \("plum"), \("+12435678910"))")
        }
        #expect(error?.sqlState == .uniqueViolation)
        #expect(error?.kind == .server)
        #expect(error?.constraint == "campaigns_name_key")
        // the DETAIL names the row's values: kept out of the loggable description
        #expect(error?.description.contains("xyzzy-campaign") == false)
        #expect(error?.debugDescription.contains("xyzzy-campaign") == true)
    }

    @Test func checkConstraintRejectsUnknownState() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let campaign = try await c.query("INSERT INTO campaigns (name, provider, from_number) VALUES ('c', 'plum', '+12435678910') RETURNING id").scalar(Int64.self)!
        let insert: (String) -> SQL = { state in
            """
            INSERT INTO messages (campaign_id, external_id, state, provider, from_number, to_number, segments, due_at, next_attempt_at)
            VALUES (\(campaign), \(UUID().uuidString), \(state), 'plum', '+12435678910', '+12025550143', 1, now(), now())
            """
        }
        let error = await #expect(throws: PostgresError.self) { try await c.execute(insert("lost")) }
        #expect(error?.sqlState == .checkViolation)
        for state in ["pending", "sending", "in_doubt", "accepted", "sent", "delivered", "undelivered", "failed",
                      "expired", "cancelled", "suppressed", "unconfirmed"] {
            #expect(try await c.execute(insert(state)) == 1, "state \(state)")
        }
    }

    @Test func copyStreamsTwoHundredThousandRows() async throws {
        let db = try await TestPostgres.database(migrated: false)
        let c = try await db.connect()
        try await c.execute("CREATE TABLE t (id int8, body text, at timestamptz, maybe text)")
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let count = try await c.copyFrom(table: "t", columns: ["id", "body", "at", "maybe"]) { writer in
            for i in 0..<200_000 {
                let maybe: String? = i % 10 == 0 ? nil : "tab\there \\ 'quote'"
                try await writer.append(Int64(i), "row \(i) ✓", start.addingTimeInterval(Double(i)), maybe)
            }
        }
        #expect(count == 200_000)
        let row = try #require(try await c.query("SELECT count(*), count(maybe), sum(id), max(at) FROM t").first)
        #expect(try row.decode(Int.self, at: 0) == 200_000)
        #expect(try row.decode(Int.self, at: 1) == 180_000)
        #expect(try row.decode(Int.self, at: 2) == 199_999 * 200_000 / 2)
        #expect(try row.decode(Date.self, at: 3) == start.addingTimeInterval(199_999))
        #expect(try await c.query("SELECT maybe FROM t WHERE id = 1").scalar(String.self) == "tab\there \\ 'quote'")
    }

    @Test func copyThatThrowsKeepsNothing() async throws {
        let db = try await TestPostgres.database(migrated: false)
        let c = try await db.connect()
        try await c.execute("CREATE TABLE t (id int8)")
        await #expect(throws: Boom(tag: "midway")) {
            try await c.copyFrom(table: "t", columns: ["id"]) { writer in
                for i in 0..<50_000 { try await writer.append(Int64(i)) }
                throw Boom(tag: "midway")
            }
        }
        #expect(try await c.query("SELECT count(*) FROM t").scalar(Int.self) == 0)
        // a type mismatch is the server's error, and the connection recovers
        await #expect(throws: PostgresError.self) {
            try await c.copyFrom(table: "t", columns: ["id"]) { writer in try await writer.append("not a number") }
        }
        #expect(try await c.query("SELECT 1").scalar(Int.self) == 1)
    }

    @Test func listenReceivesNotifyFromAnotherConnection() async throws {
        let db = try await TestPostgres.database(migrated: false)
        let listener = try await NotificationListener.start(conninfo: db.conninfo, channels: ["work_ready"])
        defer { listener.stop() }
        let sender = try await db.connect()
        try await sender.notify("work_ready", payload: "campaign 7 ✓")
        var iterator = listener.notifications.makeAsyncIterator()
        let received = await iterator.next()
        #expect(received?.channel == "work_ready")
        #expect(received?.payload == "campaign 7 ✓")
        #expect(received?.senderPID == sender.backendPID)
    }

    @Test func listenerRejectsHostileChannelNames() async throws {
        let db = try await TestPostgres.database(migrated: false)
        await #expect(throws: PostgresError.self) {
            _ = try await NotificationListener.start(conninfo: db.conninfo, channels: ["x; DROP TABLE messages"])
        }
    }

    @Test func terminatedConnectionFailsClearlyAndThePoolRecovers() async throws {
        let db = try await TestPostgres.database(migrated: false)
        let admin = try await db.connect()
        // a lone connection: the next query fails with a clear error, marked as a lost connection
        let victim = try await db.connect()
        try await admin.execute("SELECT pg_terminate_backend(\(victim.backendPID))")
        let error = await #expect(throws: PostgresError.self) { try await victim.query("SELECT 1") }
        #expect(error?.isUnavailable == true)
        #expect(error?.description.contains("connection") == true)
        #expect(victim.isBroken)

        // a pooled connection killed while in use is discarded; the next call gets a new one
        let pool = db.pool(maxConnections: 1)
        let pid = try await pool.withConnection { $0.backendPID }
        await #expect(throws: PostgresError.self) {
            try await pool.withConnection { c in
                try await admin.execute("SELECT pg_terminate_backend(\(c.backendPID))")
                try await c.query("SELECT 1")
            }
        }
        let fresh = try await pool.withConnection { c in (c.backendPID, try await c.query("SELECT 1").scalar(Int.self)) }
        #expect(fresh.1 == 1)
        #expect(fresh.0 != pid)

        // an idle pooled connection whose server went away is replaced before it is lent
        let idlePID = fresh.0
        try await admin.execute("SELECT pg_terminate_backend(\(idlePID))")
        try await Task.sleep(for: .milliseconds(200))
        let afterIdle = try await pool.withConnection { c in (c.backendPID, try await c.query("SELECT 2").scalar(Int.self)) }
        #expect(afterIdle.1 == 2)
        #expect(afterIdle.0 != idlePID)
        #expect(await pool.openConnections == 1)
    }

    @Test func poolLendsEachConnectionToOneTaskAtATime() async throws {
        let db = try await TestPostgres.database(migrated: false)
        let pool = db.pool(maxConnections: 3)
        try await pool.execute("CREATE TABLE t (pid int4, n int4)")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<30 {
                group.addTask {
                    try await pool.withTransaction { c in
                        try await c.execute("INSERT INTO t SELECT pg_backend_pid(), \(Int32(i))")
                        try await c.execute("SELECT pg_sleep(0.01)")
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await pool.query("SELECT count(*) FROM t").scalar(Int.self) == 30)
        #expect(try await pool.query("SELECT count(DISTINCT pid) FROM t").scalar(Int.self)! <= 3)
        #expect(await pool.openConnections <= 3)
    }

    @Test func connectFailuresAreOneReadableLineWithoutThePassword() async throws {
        let server = try await TestPostgres.server()
        let cluster = try #require(server.cluster)
        let wrong = "host=\(cluster.directory) port=\(cluster.port) dbname=postgres user=\(TestPostgres.passwordRole.user) password=hunter2-wrong"
        let error = await #expect(throws: PostgresError.self) { _ = try await Connection.connect(wrong) }
        #expect(error?.kind == .connectionFailed)
        #expect(error?.description.contains("password authentication failed") == true)
        #expect(error?.description.contains("hunter2") == false)
        #expect(error?.description.contains(cluster.directory) == true)
        #expect(error?.description.contains("\n") == false)
        // the right password works
        let right = "host=\(cluster.directory) port=\(cluster.port) dbname=postgres user=\(TestPostgres.passwordRole.user) password='\(TestPostgres.passwordRole.password)'"
        let ok = try await Connection.connect(right)
        #expect(try await ok.query("SELECT current_user").scalar(String.self) == TestPostgres.passwordRole.user)
    }

    @Test func secretsAreRedactedFromConnectionStrings() {
        #expect(redactConnectionSecrets("postgres://app:s3cr%40t@db:5432/x") == "postgres://app:****@db:5432/x")
        #expect(redactConnectionSecrets("host=db password=s3cret user=app") == "host=db password=**** user=app")
        #expect(redactConnectionSecrets("host=db password='s3 cret' user=app") == "host=db password=**** user=app")
        #expect(redactConnectionSecrets("postgres://db/x?password=abc&sslmode=require") == "postgres://db/x?password=****&sslmode=require")
    }
}
