import Foundation
import Jobs
import Store
import TestSupport
import HTTPTesting
import Testing
@testable import Dispatcher
import HTTP
import Sandbox

/// Whole paths through a running worker, the sandbox and the reconciliation endpoints.
@Suite struct EndToEndTests {
    @Test func pauseStopsClaimingResumeContinuesCancelFinalises() async throws {
        let db = try await TestPostgres.database()
        let sandbox = try SandboxFixture.start()
        let c = try await db.connect()
        let dir = try TempDir()
        for name in ["paused", "cancelled"] {
            try dir.write("\(name).csv", csvRows(0..<30))
            let path = try dir.write("\(name).json", manifest(name, csv: "\(name).csv"))
            #expect(try await JobSubmitter(configuration: DispatcherConfiguration()).submit([.init(path: path)], on: c).committed)
        }
        try await c.execute("UPDATE campaigns SET from_number = from_number")  // both exist
        _ = try await Outbox.campaignSetPaused(c, name: "paused", paused: true)
        _ = try await Outbox.campaignSetPaused(c, name: "cancelled", paused: true)
        // 10 messages a second: slow enough to act while it runs
        let running = RunningWorker.start(workerConfiguration(sandbox: sandbox.base, rate: 10), database: db)
        try await Task.sleep(for: .seconds(1))
        #expect(await sandbox.sandbox.stats().accepted == 0)  // paused: nothing claimed
        _ = try await Outbox.campaignSetPaused(c, name: "cancelled", paused: false)
        #expect(await eventually { await sandbox.sandbox.stats().accepted >= 5 })
        let cancel = try await Outbox.campaignCancel(c, name: "cancelled", user: nil)
        #expect(cancel.cancelledMessages > 0)
        let sentBeforeCancel = try await c.query("""
            SELECT count(*) FROM messages m JOIN campaigns c ON c.id = m.campaign_id
             WHERE c.name = 'cancelled' AND m.state NOT IN ('pending', 'cancelled')
            """).scalar(Int.self) ?? 0
        _ = try await Outbox.campaignSetPaused(c, name: "paused", paused: false)
        #expect(try await eventually(timeout: .seconds(30)) {
            try await c.query("""
                SELECT count(*) FROM messages m JOIN campaigns c ON c.id = m.campaign_id
                 WHERE c.name = 'paused' AND m.provider_message_id IS NOT NULL
                """).scalar(Int.self) == 30
        })
        try await running.stop()
        // nothing of the cancelled campaign went after the cancel
        let cancelled = try await c.query("""
            SELECT count(*) FILTER (WHERE m.state = 'cancelled'), count(*) FILTER (WHERE m.provider_message_id IS NOT NULL)
              FROM messages m JOIN campaigns c ON c.id = m.campaign_id WHERE c.name = 'cancelled'
            """).first!.decode((Int, Int).self)
        #expect(cancelled.0 == cancel.cancelledMessages)
        #expect(cancelled.1 == sentBeforeCancel)
        #expect(await sandbox.sandbox.stats().accepted == 30 + sentBeforeCancel)
        await c.close()
        await sandbox.stop()
    }

    @Test func stopMeansALaterCampaignSendsNothingToThatNumberAndStartReenables() async throws {
        let f = try await ReconcileFixture.start()
        let sandbox = try SandboxFixture.start()
        let stop = try await f.post(ReconcileFixture.inboundPath, form: [("sms_message_id", "in-9"), ("to", "2435678910"), ("from", "2025550003"), ("body", "STOP")])
        #expect(stop.status == 200)
        let dir = try TempDir()
        try dir.write("later.csv", csvRows(0..<5))
        let path = try dir.write("later.json", manifest("later", csv: "later.csv"))
        let submitted = try await JobSubmitter(configuration: DispatcherConfiguration()).submit([.init(path: path)], on: f.conn)
        #expect(submitted.files.first?.result?.suppressed == 1)
        let running = RunningWorker.start(workerConfiguration(sandbox: sandbox.base), database: f.db, untilIdle: true)
        #expect(try await running.finish())
        let requests = await sandbox.sandbox.store.allMessages().map(\.to)
        #expect(requests.count == 4)
        #expect(!requests.contains { $0.hasSuffix("2025550003") })
        // (the STOP's confirmation is a message to the number too, of the campaign system:replies)
        #expect(try await f.conn.query("""
            SELECT m.state FROM messages m JOIN campaigns c ON c.id = m.campaign_id WHERE m.to_number = '+12025550003' AND c.name = 'later'
            """).scalar(String.self) == "suppressed")
        // START: the next campaign reaches the number again
        _ = try await f.post(ReconcileFixture.inboundPath, form: [("sms_message_id", "in-10"), ("to", "2435678910"), ("from", "2025550003"), ("body", "start")])
        try dir.write("again.csv", csvRows(3..<4))
        let again = try dir.write("again.json", manifest("again", csv: "again.csv"))
        #expect(try await JobSubmitter(configuration: DispatcherConfiguration()).submit([.init(path: again)], on: f.conn).files.first?.result?.enqueued == 1)
        await sandbox.stop()
        await f.stop()
    }

    @Test func killMinusNineAfterAnAcknowledgedCallbackLosesNothing() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let token = try await insertAcceptedMessage(c, campaign: "k9", provider: "restcomm", providerMessageID: "SMk9")
        // port 0: the worker binds a free port and logs it (a port picked here and released
        // could be taken by a parallel test before the worker binds it)
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("k9-\(UUID().uuidString).json")
        try #"{"listen": "127.0.0.1:0", "spool": "\#(FileManager.default.temporaryDirectory.path)/k9-spool-\#(UUID().uuidString)"}"#
            .write(to: config, atomically: true, encoding: .utf8)
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("k9-\(UUID().uuidString).log")
        defer {
            try? FileManager.default.removeItem(at: config)
            try? FileManager.default.removeItem(at: log)
        }
        func startWorker() throws -> ChildProcess {
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            return try ChildProcess(DispatcherBinary.url.path, ["run", "--config", config.path],
                                    environment: ["DATABASE_URL": db.conninfo], stderr: log.path)
        }
        /// The port the worker logged, once it listens.
        func listeningPort() async -> Int? {
            var port: Int?
            _ = await eventually {
                let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                port = text.firstMatch(of: /listening on 127\.0\.0\.1:(\d+)/).flatMap { Int($0.1) }
                return port != nil
            }
            return port
        }
        let first = try startWorker()
        let port = try #require(await listeningPort())
        let client = HTTPClient()
        var request = HTTPClientRequest(method: "POST", url: URL(string: "http://127.0.0.1:\(port)/callbacks/restcomm/\(token)")!)
        request.setForm([("MessageSid", "SMk9"), ("MessageStatus", "delivered")])
        #expect(await eventually { (try? await client.execute(request).status) == 200 })
        first.signal(SIGKILL)  // right after the acknowledgement
        _ = await first.wait()
        // acknowledged means durable: the callback is in PostgreSQL whatever the worker did next
        // (still in the inbox, or already applied: then its event is its record)
        #expect(try await c.query("""
            SELECT (SELECT count(*) FROM callback_inbox WHERE provider_message_id = 'SMk9')
                 + (SELECT count(*) FROM message_events WHERE source = 'callback' AND detail LIKE '%MessageSid=SMk9%')
            """).scalar(Int.self)! >= 1)
        let second = try startWorker()
        #expect(await eventually {
            (try? await c.query("SELECT state FROM messages WHERE provider_message_id = 'SMk9'").scalar(String.self)) == "delivered"
        })
        second.signal(SIGTERM)
        _ = await second.wait()
        await client.shutdown()
        await c.close()
    }

}
