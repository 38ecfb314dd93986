import Foundation
import Glibc
import Store
import HTTPTesting
import Testing
import TestSupport
@testable import Dispatcher
import Sandbox

/// `dispatcher submit` and `dispatcher run` as a user runs them, against the sandbox over real
/// HTTP, under every reading of the provider documents the sandbox offers:
/// - its default, literal to the documents: Plum's result_url says `sent` (or `failed`) and
///   nothing about delivery, Plum's list items carry `status` alone, so Plum delivery comes
///   from `status.json`; Restcomm posts a sent event, then a delivery event;
/// - callbacks off: everything settled by status polls;
/// - Plum's result_url carrying the delivery status, in `status` or in `delivery_status`;
/// - `delivery_status` in Plum's list items;
/// - a sent callback only, delivery learnt by polling.
///
/// Two provider accounts with names of their own, `plum-prod` (kind plum) and `rc-eu` (kind
/// restcomm), each owning a sender number; one campaign names the kind, the other the account.
/// Every campaign must end with each message in its right final state, each sent once.
@Suite("Provider conformance end to end", .serialized)
struct ConformanceEndToEndTests {
    static let plumSender = "+12435678910"
    static let restcommSender = "+12435678911"
    /// Per campaign: 8 delivered, one undelivered (xx 13), one failed (xx 16).
    static let recipients = (1...8).map { String(format: "+1555200%04d", $0) } + ["+12025550113", "+12025550116"]
    static let expected = ["delivered": 16, "undelivered": 2, "failed": 2]

    struct Setup {
        let db: TestDatabase
        let c: Connection
        let sandbox: SandboxServer
        let sandboxURL: URL
        let dir: TempDir
        let config: String
    }

    /// A sandbox with `knobs` (by their documented names) over the perfect profile, a
    /// configuration naming two accounts, and both campaigns submitted with `dispatcher submit`.
    func setUp(knobs: [String: String], pollAfter: Double = 1, leaseSeconds: Double = 60) async throws -> Setup {
        let db = try await TestPostgres.database()
        var sandboxConfiguration = SandboxConfiguration(knobs: .perfect)
        for (name, value) in knobs { try sandboxConfiguration.setKnob(name, value) }
        sandboxConfiguration.port = 0
        let sandbox = SandboxServer(configuration: sandboxConfiguration)
        let port = try sandbox.start()
        let base = URL(string: "http://127.0.0.1:\(port)")!
        let dir = try TempDir()
        let config = try dir.write("dispatcher.json", """
            {"listen": "127.0.0.1:0", "spool": "\(dir.path)/spool",
             "providers": {
                "plum-prod": {"kind": "plum", "base_url": "\(base.absoluteString)", "username": "sandbox",
                              "password_env": "CONFORMANCE_PLUM_PASSWORD", "timeout_s": 1},
                "rc-eu": {"kind": "restcomm", "base_url": "\(base.absoluteString)/restcomm", "account_sid": "ACsandbox",
                          "auth_token_env": "CONFORMANCE_RESTCOMM_TOKEN", "timeout_s": 1}},
             "senders": {"\(Self.plumSender)": {"provider": "plum-prod", "rate_per_second": 500, "burst": 50},
                         "\(Self.restcommSender)": {"provider": "rc-eu", "rate_per_second": 500, "burst": 50}},
             "retry": {"base_delay_s": 0.2, "max_delay_s": 0.5},
             "poll": {"after_s": \(pollAfter)}, "lease_s": \(leaseSeconds), "concurrency": 8,
             "in_doubt": {"horizon_s": 3, "lookup_every_s": 0.5}}
            """)
        func job(_ name: String, provider: String, from: String) throws -> String {
            let messages = Self.recipients.enumerated().map { i, to in
                #"{"id": "m\#(i)", "to": "\#(to)", "body": "Reminder \#(i): appointment tomorrow at 10:30."}"#
            }
            return try dir.write("\(name).json", """
                {"campaign": "\(name)", "from": "\(from)", "provider": "\(provider)", "messages": [\(messages.joined(separator: ","))]}
                """)
        }
        // one campaign names the kind (its sender's account is plum-prod), the other the account
        let plumJob = try job("conf-plum", provider: "plum", from: Self.plumSender)
        let restcommJob = try job("conf-rc", provider: "rc-eu", from: Self.restcommSender)
        let submitted = try await DispatcherBinary.run(["submit", "--config", config, plumJob, restcommJob],
                                                       environment: ["DATABASE_URL": db.conninfo])
        #expect(submitted.status == 0, "\(submitted.stderr)")
        let c = try await db.connect()
        let accounts = try await c.query("SELECT DISTINCT provider FROM messages ORDER BY 1").map { try $0.decode(String.self, at: 0) }
        #expect(accounts == ["plum-prod", "rc-eu"])
        return Setup(db: db, c: c, sandbox: sandbox, sandboxURL: base, dir: dir, config: config)
    }

    func startWorker(_ s: Setup, log: String) throws -> ChildProcess {
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        return try ChildProcess(DispatcherBinary.url.path, ["run", "--config", s.config],
                                environment: ["DATABASE_URL": s.db.conninfo, "CONFORMANCE_PLUM_PASSWORD": "sandbox",
                                              "CONFORMANCE_RESTCOMM_TOKEN": "sandbox"],
                                stderr: log)
    }

    func finalCounts(_ c: Connection) async throws -> [String: Int] {
        try await stateCounts(c).filter { Outbox.finalStates.map(\.rawValue).contains($0.key) }
    }

    /// Runs the worker until every message is final (or `timeout`), stops it with SIGTERM and
    /// checks the outcome: the right final state for each message, each sent exactly once.
    func runToTheEnd(_ s: Setup, timeout: Duration = .seconds(60)) async throws {
        let log = s.dir.path + "/run.log"
        let worker = try startWorker(s, log: log)
        let settled = try await eventually(timeout: timeout, every: .milliseconds(200)) {
            try await finalCounts(s.c).values.reduce(0, +) == 20
        }
        worker.signal(SIGTERM)
        let status = await worker.wait(timeout: .seconds(30))
        let stderr = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        let states = try await stateCounts(s.c)
        #expect(settled, "states: \(states)\n\(stderr.suffix(3000))")
        #expect(status == 0, "\(stderr.suffix(3000))")
        try await checkOutcome(s)
    }

    func checkOutcome(_ s: Setup) async throws {
        #expect(try await stateCounts(s.c) == Self.expected)
        let perCampaign = try await s.c.query("""
            SELECT campaign, delivered, undelivered, failed FROM campaign_report ORDER BY campaign
            """).map { try $0.decode((String, Int, Int, Int).self) }
        #expect(perCampaign.map(\.0) == ["conf-plum", "conf-rc"])
        #expect(perCampaign.allSatisfy { $0.1 == 8 && $0.2 == 1 && $0.3 == 1 })
        let stats = await s.sandbox.stats()
        #expect(stats.accepted == 20)
        #expect(stats.duplicates == 0)
        // every send went through the account owning its sender: one provider id per message
        #expect(try await s.c.query("SELECT count(DISTINCT provider_message_id) FROM messages").scalar(Int.self) == 20)
    }

    func tearDown(_ s: Setup) async {
        await s.c.close()
        await s.sandbox.stop()
        try? FileManager.default.removeItem(atPath: s.dir.path)
    }

    @Test func theDocumentedDefaultsReachDelivered() async throws {
        let s = try await setUp(knobs: [:])
        try await runToTheEnd(s)
        // Plum's callbacks said `sent` only: its deliveries came from status polls
        let plumDeliveries = try await s.c.query("""
            SELECT e.source, count(*) FROM message_events e JOIN messages m ON m.id = e.message_id
             WHERE m.provider = 'plum-prod' AND e.to_state = 'delivered' GROUP BY 1
            """).map { try $0.decode((String, Int).self) }
        #expect(plumDeliveries.map(\.0) == ["poll"] && plumDeliveries.first?.1 == 8)
        await tearDown(s)
    }

    @Test func callbacksOffSettlesEverythingByPolling() async throws {
        let s = try await setUp(knobs: ["callbacks": "false"])
        try await runToTheEnd(s)
        #expect(try await s.c.query("SELECT count(*) FROM message_events WHERE source = 'callback'").scalar(Int.self) == 0)
        await tearDown(s)
    }

    @Test(arguments: ["status", "delivery_status"])
    func plumResultURLCarryingTheDeliveryStatus(reading: String) async throws {
        // polls far off: the deliveries must come from the callbacks themselves
        let s = try await setUp(knobs: ["plum_callback_delivery": reading], pollAfter: 3600)
        try await runToTheEnd(s)
        #expect(try await s.c.query("""
            SELECT count(*) FROM message_events e JOIN messages m ON m.id = e.message_id
             WHERE m.provider = 'plum-prod' AND e.to_state = 'delivered' AND e.source = 'callback'
            """).scalar(Int.self) == 8)
        await tearDown(s)
    }

    @Test func deliveryStatusInPlumListItems() async throws {
        let s = try await setUp(knobs: ["plum_list_delivery_status": "true", "callbacks": "false"])
        try await runToTheEnd(s)
        await tearDown(s)
    }

    @Test func aSentCallbackOnlyWithDeliveryLearntByPolling() async throws {
        let s = try await setUp(knobs: ["delivery_callbacks": "false"])
        try await runToTheEnd(s)
        #expect(try await s.c.query("""
            SELECT count(*) FROM message_events WHERE source = 'callback' AND to_state = 'delivered'
            """).scalar(Int.self) == 0)
        await tearDown(s)
    }

    /// kill -9 while requests are in flight, then a restart: every message is final within
    /// poll.after_s plus the lease and a few seconds, and none is sent twice.
    @Test func killMinusNineMidCampaignThenRestart() async throws {
        // slow answers keep requests in flight when the worker dies
        let s = try await setUp(knobs: ["slow_answer_rate": "0.3", "slow_answer_delay_s": "0.8", "seed": "5"],
                                pollAfter: 2, leaseSeconds: 4)
        let log = s.dir.path + "/first.log"
        let first = try startWorker(s, log: log)
        #expect(try await eventually(timeout: .seconds(30)) {
            try await s.c.query("SELECT count(*) FROM messages WHERE state <> 'pending'").scalar(Int.self)! >= 6
        })
        first.signal(SIGKILL)
        _ = await first.wait(timeout: .seconds(10))
        // the kill left claims whose requests were in flight: their leases must be rescued
        let held = try await s.c.query("SELECT count(*) FROM messages WHERE state IN ('sending', 'in_doubt')").scalar(Int.self)!
        #expect(held > 0)
        let restarted = ContinuousClock.now
        // poll.after_s 2 + lease 4 + lookup delay 2 + a few seconds of slack on a busy machine
        try await runToTheEnd(s, timeout: .seconds(40))
        let took = ContinuousClock.now - restarted
        #expect(took < .seconds(40), "took \(took)")
        await tearDown(s)
    }
}
