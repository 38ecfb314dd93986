import Foundation
import Glibc
import Store
import HTTPTesting
import Testing
import TestSupport
@testable import Dispatcher
import HTTP
import Sandbox

/// `dispatcher run` against a PostgreSQL of its own that is restarted (fast and immediate)
/// and whose sessions are terminated under it: the worker reconnects with backoff, loses
/// nothing, sends nothing twice; callbacks get 503 while the database is down and 2xx again
/// within seconds of its return.
@Suite("Database faults", .serialized)
struct DatabaseFaultTests {
    /// A private cluster (restarting the shared test cluster would disturb other tests).
    struct PrivateCluster {
        let cluster: LocalCluster
        let conninfo: String
        /// Commits are durable as in production (`synchronous_commit` on): an immediate
        /// shutdown loses nothing the server acknowledged. (`fsync` off only matters when the
        /// machine itself crashes.)
        static let settings = ["fsync": "off", "full_page_writes": "off"]

        static func start() async throws -> PrivateCluster {
            let directory = LocalCluster.scratchDirectory + "dispatcher-fault-" + UUID().uuidString.prefix(8)
            let cluster = try LocalCluster(directory: directory, port: 5433)
            try await cluster.initialize()
            try cluster.removeWhenProcessExits()
            try await cluster.start(settings: Self.settings)
            let admin = try await Connection.connect(cluster.conninfo())
            try await admin.execute("CREATE DATABASE dispatcher_fault")
            await admin.close()
            let conninfo = cluster.conninfo(database: "dispatcher_fault")
            let c = try await Connection.connect(conninfo)
            _ = try await Migrator().migrate(c)
            await c.close()
            return PrivateCluster(cluster: cluster, conninfo: conninfo)
        }

        func restart(mode: String) async throws {
            try await cluster.stop(mode: mode)
            try await cluster.start(settings: Self.settings)
        }

        func remove() async {
            try? await cluster.stop(mode: "immediate")
            try? FileManager.default.removeItem(atPath: cluster.directory)
        }
    }

    func writeConfig(sandbox: URL, dir: TempDir) throws -> String {
        try dir.write("dispatcher.json", """
            {"providers": {"plum": {"kind": "plum", "base_url": "\(sandbox.absoluteString)", "username": "sandbox",
                                    "password": "sandbox", "timeout_s": 2}},
             "default_sender": {"rate_per_second": 40, "burst": 5},
             "retry": {"base_delay_s": 0.2, "max_delay_s": 1},
             "poll": {"after_s": 1},
             "lease_s": 6, "concurrency": 4, "in_doubt": {"horizon_s": 3, "lookup_every_s": 0.5},
             "listen": "127.0.0.1:0", "spool": "\(dir.path)/spool"}
            """)
    }

    /// A fresh connection each time: the cluster comes and goes under this test too.
    func count(_ conninfo: String, _ sql: SQL) async -> Int? {
        guard let c = try? await Connection.connect(conninfo, applicationName: "fault-test") else { return nil }
        defer { Task { await c.close() } }
        return try? await c.query(sql).scalar(Int.self)
    }

    @Test func theWorkerRidesOutRestartsAndTerminatedSessions() async throws {
        let pg = try await PrivateCluster.start()
        let sandbox = try SandboxFixture.start { $0.sentDelay = 0.05; $0.deliveryDelayMin = 0.1; $0.deliveryDelayMax = 0.3 }
        let dir = try TempDir()
        let total = 240
        do {
            let c = try await Connection.connect(pg.conninfo, applicationName: "fault-test")
            let campaign = try await insertCampaign(c)
            try await insertMessages(c, campaign: campaign, plainMessages(total))
            // one message accepted long ago with a callback key: for the 503 check below
            await c.close()
        }
        let config = try writeConfig(sandbox: sandbox.base, dir: dir)
        let worker = try await WorkerProcess.start(config: config, conninfo: pg.conninfo)
        func stderr() -> String { worker.logText }
        let port = worker.port
        func accepted() async -> Int {
            await count(pg.conninfo, "SELECT count(*) FROM messages WHERE provider_message_id IS NOT NULL") ?? 0
        }
        let health = HTTPClient()
        func healthz() async -> Int? {
            let request = HTTPClientRequest(method: "GET", url: URL(string: "http://127.0.0.1:\(port)/healthz")!, timeout: .seconds(5))
            return try? await health.execute(request).status
        }

        // 1. every session of the worker terminated
        #expect(await eventually(timeout: .seconds(30)) { await accepted() >= 40 })
        let killed = await count(pg.conninfo, """
            SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                                   WHERE application_name = 'dispatcher' AND pid <> pg_backend_pid()) t
            """) ?? 0
        #expect(killed > 0)
        // 2. a fast restart, with a callback while the database is down
        #expect(await eventually(timeout: .seconds(60)) { await accepted() >= 100 })
        try await pg.cluster.stop(mode: "fast")
        #expect(await eventually(timeout: .seconds(20)) { await healthz() == 503 })
        var callback = HTTPClientRequest(method: "POST", url: URL(string: "http://127.0.0.1:\(port)/callbacks/plum/1.AAAAAAAAAAAAAAAAAAAAAAAA")!,
                                         timeout: .seconds(20))
        callback.setForm([("sms_message_id", "x"), ("status", "sent")])
        #expect((try? await health.execute(callback).status) == 503)
        try await Task.sleep(for: .seconds(2))
        try await pg.cluster.start(settings: PrivateCluster.settings)
        // back within seconds: health, and a wrong key is judged again (404, not 503)
        #expect(await eventually(timeout: .seconds(15)) { await healthz() == 200 })
        #expect(await eventually(timeout: .seconds(15)) { (try? await health.execute(callback).status) == 404 })
        // and a genuine callback is taken again (2xx)
        let genuine = try await Connection.connect(pg.conninfo, applicationName: "fault-test")
        let (key, pmid) = try await genuine.query("""
            SELECT id || '.' || callback_token, provider_message_id FROM messages WHERE provider_message_id IS NOT NULL LIMIT 1
            """).first!.decode((String, String).self)
        await genuine.close()
        var real = HTTPClientRequest(method: "POST", url: URL(string: "http://127.0.0.1:\(port)/callbacks/plum/\(key)")!,
                                     timeout: .seconds(20))
        real.setForm([("sms_message_id", pmid), ("status", "sent")])
        #expect(await eventually(timeout: .seconds(15)) { (try? await health.execute(real).status) == 200 })
        // 3. an immediate restart (a crash, as far as the server's clients can tell)
        #expect(await eventually(timeout: .seconds(60)) { await accepted() >= 160 })
        try await pg.restart(mode: "immediate")

        // everything final, each sent once, and the worker still running
        let done = await eventually(timeout: .seconds(120), every: .milliseconds(500)) {
            await count(pg.conninfo, "SELECT count(*) FROM messages WHERE state = 'delivered'") == total
        }
        let states = await count(pg.conninfo, "SELECT count(*) FROM messages WHERE state = 'delivered'")
        #expect(done, "delivered: \(states ?? -1) of \(total)\n\(stderr().suffix(4000))")
        let stats = await sandbox.sandbox.stats()
        #expect(stats.accepted == total)
        if stats.duplicates > 0 {
            // which messages, and what their timelines say
            let sent = await sandbox.sandbox.store.allMessages()
            let twice = Dictionary(grouping: sent, by: \.to).filter { $0.value.count > 1 }.map { "+1" + $0.key }
            let c = try await Connection.connect(pg.conninfo, applicationName: "fault-test")
            let events = try await c.query("""
                SELECT m.to_number || ' ' || e.at || ' ' || e.kind || ' ' || e.source || ' ' || coalesce(e.from_state, '-') || '>' ||
                       coalesce(e.to_state, '-') || ' ' || coalesce(e.detail, '')
                  FROM message_events e JOIN messages m ON m.id = e.message_id
                 WHERE m.to_number = ANY(\(twice)) ORDER BY m.id, e.id
                """).map { try $0.decode(String.self, at: 0) }
            await c.close()
            Issue.record("sent twice: \(twice)\n\(events.joined(separator: "\n"))\n\(stderr().suffix(3000))")
        }
        #expect(stats.duplicates == 0)
        let status = await worker.stop()
        #expect(status == 0, "\(stderr().suffix(4000))")
        #expect(!stderr().contains("password"))
        await health.shutdown()
        await sandbox.stop()
        await pg.remove()
        try? FileManager.default.removeItem(atPath: dir.path)
    }
    /// A callback whose statement waits on a lock is answered 503 within the session's lock
    /// and statement timeouts, not held open for as long as the lock is: the provider retries.
    @Test func aCallbackStuckBehindALockIsAnswered503() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let key = try await insertAcceptedMessage(c, campaign: "locked", provider: "restcomm", providerMessageID: "SMlock")
        let dir = try TempDir()
        let config = try dir.write("dispatcher.json", #"{"listen": "127.0.0.1:0"}"#)
        let worker = try await WorkerProcess.start(config: config, conninfo: db.conninfo, arguments: ["--no-spool"])
        let client = HTTPClient()
        var request = HTTPClientRequest(method: "POST", url: worker.base.appending(path: "/callbacks/restcomm/\(key)"), timeout: .seconds(40))
        request.setForm([("MessageSid", "SMlock"), ("MessageStatus", "delivered")])
        // another session holds the inbox for longer than any callback may wait
        let locker = try await db.connect()
        try await locker.execute("BEGIN")
        try await locker.execute("LOCK TABLE callback_inbox IN ACCESS EXCLUSIVE MODE")
        let stuck = try await client.execute(request)
        #expect(stuck.status == 503)
        try await locker.execute("ROLLBACK")
        // the lock gone, the same callback is taken
        #expect(await eventually { (try? await client.execute(request).status) == 200 })
        #expect(await eventually {
            (try? await c.query("SELECT state FROM messages WHERE provider_message_id = 'SMlock'").scalar(String.self)) == "delivered"
        })
        #expect(await worker.stop() == 0)
        await client.shutdown()
        await locker.close()
        await c.close()
    }
}
