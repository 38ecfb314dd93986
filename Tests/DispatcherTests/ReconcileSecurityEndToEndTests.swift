import Foundation
import Store
import TestSupport
import HTTPTesting
import Testing
@testable import Dispatcher
import HTTP

/// The reconciliation endpoints of a running `dispatcher run` on 127.0.0.1, as a provider or
/// an attacker reaches them.
@Suite struct ReconcileSecurityEndToEndTests {
    static let inboundKey = "e2e-inbound-key_0123456789abcdefABCDEF"

    /// `dispatcher run` with `config` (JSON), listening on a port of its choice.
    static func start(_ db: TestDatabase, config: String, environment: [String: String] = [:]) async throws -> WorkerProcess {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sec-\(UUID().uuidString).json")
        try config.write(to: file, atomically: true, encoding: .utf8)
        return try await WorkerProcess.start(config: file.path, conninfo: db.conninfo, environment: environment, arguments: ["--no-spool"])
    }

    static func config(key: Bool) -> String {
        """
        {"listen": "127.0.0.1:0",
         "providers": {"plum": {"kind": "plum", "base_url": "http://127.0.0.1:9", "username": "u", "password": "p"\(key ? #", "inbound_key_env": "E2E_INBOUND_KEY""# : "")},
                       "restcomm": {"kind": "restcomm", "base_url": "http://127.0.0.1:9", "account_sid": "AC1", "auth_token": "t"}},
         "senders": {"2435678910": {"provider": "plum", "rate_per_second": 1}}}
        """
    }

    static func post(_ client: HTTPClient, _ url: URL, form: [(String, String)]? = nil, body: String? = nil,
                     timeout: Duration = .seconds(10)) async throws -> Int {
        var request = HTTPClientRequest(method: "POST", url: url, timeout: timeout)
        if let form { request.setForm(form) }
        if let body {
            request.body = Array(body.utf8)
            request.headers.set("Content-Type", "application/x-www-form-urlencoded")
        }
        return try await client.execute(request).status
    }

    @Test func inboundOnARunningWorkerNeedsItsKey() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let client = HTTPClient()
        let stop = [("sms_message_id", "e2e-1"), ("to", "2435678910"), ("from", "2025550003"), ("body", "STOP")]
        // no key configured: inbound is off, said once at start
        let off = try await Self.start(db, config: Self.config(key: false))
        #expect(try await Self.post(client, off.base.appending(path: "/inbound/plum"), form: stop) == 404)
        #expect(try await Self.post(client, off.base.appending(path: "/inbound/plum/\(Self.inboundKey)"), form: stop) == 404)
        await off.stop()
        #expect(off.logText.components(separatedBy: "inbound SMS is off").count == 2, "\(off.logText)")
        // with a key
        let on = try await Self.start(db, config: Self.config(key: true), environment: ["E2E_INBOUND_KEY": Self.inboundKey])
        #expect(try await Self.post(client, on.base.appending(path: "/inbound/plum"), form: stop) == 404)
        #expect(try await Self.post(client, on.base.appending(path: "/inbound/plum/not-the-key-not-the-key-not-the-key"), form: stop) == 404)
        #expect(try await c.query("SELECT count(*) FROM inbound_messages").scalar(Int.self) == 0)
        #expect(try await Self.post(client, on.base.appending(path: "/inbound/plum/\(Self.inboundKey)"), form: stop) == 200)
        // to a number that is not a sender: 404
        #expect(try await Self.post(client, on.base.appending(path: "/inbound/plum/\(Self.inboundKey)"),
                                    form: [("to", "2025550100"), ("from", "2025550003"), ("body", "START")]) == 404)
        #expect(try await c.query("SELECT sender || '/' || source FROM opt_outs").scalar(String.self) == "+12435678910/inbound")
        await on.stop()
        #expect(!on.logText.contains(Self.inboundKey))
        #expect(on.logText.contains("inbound SMS for Plum account(s) plum"))
        await client.shutdown()
        await c.close()
    }

    @Test func aShortInboundKeyIsRefusedAtStart() async throws {
        let db = try await TestPostgres.database()
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("sec-\(UUID().uuidString).log")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sec-\(UUID().uuidString).json")
        try Self.config(key: true).write(to: file, atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = try ChildProcess(DispatcherBinary.url.path, ["run", "--config", file.path, "--no-spool"],
                                       environment: ["DATABASE_URL": db.conninfo, "E2E_INBOUND_KEY": "tooshort1234"], stderr: log.path)
        let status = await process.wait(timeout: .seconds(60))
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(status == 65, "\(text)")
        #expect(text.contains("providers.plum.inbound_key_env"))
        #expect(text.contains("at least 32 characters"))
        #expect(!text.contains("tooshort1234"))
    }

    /// 200 genuine callbacks and 20 with a NUL, all at once: every genuine one is acknowledged
    /// and applied; the poisoned ones get 400.
    @Test func aNULStormFailsOnlyThePoisonedCallbacks() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let campaign = try await c.query("""
            INSERT INTO campaigns (name, provider, from_number) VALUES ('storm', 'restcomm', '+12435678910') RETURNING id
            """).scalar(Int64.self)!
        let rows = try await c.query("""
            INSERT INTO messages (campaign_id, external_id, state, provider, from_number, to_number, segments, due_at,
                                  next_attempt_at, provider_message_id, accepted_at, poll_next_at)
            SELECT \(campaign), 'm' || i, 'accepted', 'restcomm', '+12435678910', '+12025550143', 1, now(), now(), 'SMstorm' || i, now(),
                   now() + interval '1 day'
              FROM generate_series(1, 220) i
            RETURNING id || '.' || callback_token, provider_message_id
            """).map { try $0.decode((String, String).self) }
        let worker = try await Self.start(db, config: Self.config(key: false))
        let client = HTTPClient()
        let statuses = try await withThrowingTaskGroup(of: (Bool, Int).self) { group in
            for (i, (token, sid)) in rows.enumerated() {
                let poisoned = i % 11 == 5
                let url = worker.base.appending(path: "/callbacks/restcomm/\(token)")
                group.addTask {
                    let body = "MessageSid=\(sid)" + (poisoned ? "%00" : "") + "&MessageStatus=delivered"
                    return (poisoned, try await Self.post(client, url, body: body, timeout: .seconds(60)))
                }
            }
            return try await group.reduce(into: [(Bool, Int)]()) { $0.append($1) }
        }
        let genuine = statuses.filter { !$0.0 }.map(\.1)
        let poisoned = statuses.filter(\.0).map(\.1)
        #expect(genuine.count == 200 && genuine.allSatisfy { $0 == 200 }, "\(Dictionary(grouping: genuine, by: { $0 }).mapValues(\.count))")
        #expect(poisoned.count == 20 && poisoned.allSatisfy { $0 == 400 }, "\(Dictionary(grouping: poisoned, by: { $0 }).mapValues(\.count))")
        #expect(await eventually(timeout: .seconds(60)) {
            (try? await c.query("SELECT count(*) FROM messages WHERE state = 'delivered'").scalar(Int.self)) == 200
        })
        await worker.stop()
        await client.shutdown()
        await c.close()
    }

    /// Inbound SMS stuck in the database (a lock held elsewhere): callbacks are still stored
    /// at once, /healthz still answers, and inbound requests past the bound get 503 rather
    /// than queueing without end; once the lock goes, the waiting ones complete.
    @Test func stuckInboundNeitherDelaysCallbacksNorHealthAndIsBounded() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let token = try await insertAcceptedMessage(c, campaign: "stuck", provider: "restcomm", providerMessageID: "SMstuck",
                                                    pollLater: true)
        let worker = try await Self.start(db, config: Self.config(key: true), environment: ["E2E_INBOUND_KEY": Self.inboundKey])
        let client = HTTPClient()
        let locker = try await db.connect()
        try await locker.execute("BEGIN")
        try await locker.execute("LOCK TABLE inbound_messages IN EXCLUSIVE MODE")
        let inboundURL = worker.base.appending(path: "/inbound/plum/\(Self.inboundKey)")
        let inbound = Task {
            try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<100 {
                    group.addTask {
                        try await Self.post(client, inboundURL, form: [("sms_message_id", "stuck-\(i)"), ("to", "2435678910"),
                                                                      ("from", "2025550003"), ("body", "hello \(i)")], timeout: .seconds(120))
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
        }
        // the inbound requests are stuck behind the lock
        #expect(await eventually(timeout: .seconds(30)) {
            (try? await c.query("SELECT count(*) FROM pg_locks WHERE relation = 'inbound_messages'::regclass AND NOT granted").scalar(Int.self) ?? 0) ?? 0 >= 1
        })
        // a callback is stored at once, and health answers
        #expect(try await Self.post(client, worker.base.appending(path: "/callbacks/restcomm/\(token)"),
                                    form: [("MessageSid", "SMstuck"), ("MessageStatus", "delivered")], timeout: .seconds(20)) == 200)
        let health = try await client.execute(HTTPClientRequest(url: worker.base.appending(path: "/healthz"), timeout: .seconds(20)))
        #expect(health.status == 200)
        #expect(await eventually(timeout: .seconds(30)) {
            (try? await c.query("SELECT state FROM messages WHERE provider_message_id = 'SMstuck'").scalar(String.self)) == "delivered"
        })
        try await locker.execute("COMMIT")
        let statuses = try await inbound.value
        let counts = Dictionary(grouping: statuses, by: { $0 }).mapValues(\.count)
        #expect(counts[503, default: 0] > 0, "\(counts)")
        #expect(counts[200, default: 0] > 0, "\(counts)")
        #expect(counts[200, default: 0] + counts[503, default: 0] == 100, "\(counts)")
        #expect(try await c.query("SELECT count(*) FROM inbound_messages").scalar(Int.self) == counts[200, default: 0])
        await worker.stop()
        await client.shutdown()
        await locker.close()
        await c.close()
    }
}
