import Foundation
import Glibc
import Store
import HTTPTesting
import Testing
import TestSupport
@testable import Dispatcher
import Sandbox

/// `dispatcher run` as a subprocess against an in-process sandbox: SIGTERM and kill -9.
@Suite("Worker shutdown")
struct WorkerShutdownTests {
    /// A `dispatcher run` child process; stderr goes to a temp file.
    final class Worker {
        let process: ChildProcess
        let log: URL

        init(config: URL, database: TestDatabase, arguments: [String] = []) throws {
            log = FileManager.default.temporaryDirectory.appendingPathComponent("worker-\(UUID().uuidString).log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            process = try ChildProcess(DispatcherBinary.url.path, ["run", "--config", config.path] + arguments,
                                       environment: ["DATABASE_URL": database.conninfo], stderr: log.path)
        }

        func signal(_ number: Int32) { process.signal(number) }

        /// Waits for the exit; nil on timeout (the worker is then killed).
        func exitStatus(timeout: Duration = .seconds(30)) async -> Int32? {
            if let status = await process.wait(timeout: timeout) { return status }
            signal(SIGKILL)
            return nil
        }

        var stderr: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
        deinit { try? FileManager.default.removeItem(at: log) }
    }

    func writeConfig(sandbox: URL, rate: Double, leaseSeconds: Double = 60) throws -> URL {
        let json = """
            {"providers": {"plum": {"kind": "plum", "base_url": "\(sandbox.absoluteString)", "username": "sandbox",
                                    "password_env": "TEST_PLUM_PASSWORD", "timeout_s": 1}},
             "default_sender": {"rate_per_second": \(rate), "burst": 2},
             "retry": {"base_delay_s": 0.1, "max_delay_s": 0.5},
             "lease_s": \(leaseSeconds), "concurrency": 4, "in_doubt": {"horizon_s": 3, "lookup_every_s": 0.5}, "listen": "127.0.0.1:0",
             "spool": "\(FileManager.default.temporaryDirectory.path)/spool-\(UUID().uuidString)"}
            """
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("worker-\(UUID().uuidString).json")
        try json.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func count(_ c: Connection, _ state: String) async throws -> Int {
        try await c.query("SELECT count(*) FROM messages WHERE state = \(state)").scalar(Int.self) ?? 0
    }

    @Test func sigtermLeavesNothingSending() async throws {
        setenv("TEST_PLUM_PASSWORD", "sandbox", 1)
        let db = try await TestPostgres.database()
        // callbacks off: these tests watch the send side, and a callback would move messages on to 'sent'
        let sandbox = try SandboxFixture.start { $0.sentDelay = 0; $0.callbacks = false }
        let c = try await db.connect()
        let campaign = try await insertCampaign(c)
        try await insertMessages(c, campaign: campaign, plainMessages(80))
        let config = try writeConfig(sandbox: sandbox.base, rate: 20)
        defer { try? FileManager.default.removeItem(at: config) }
        let worker = try Worker(config: config, database: db)
        #expect(try await eventually { try await count(c, "accepted") >= 10 })
        worker.signal(SIGTERM)
        let status = await worker.exitStatus()
        #expect(status == 0, "\(worker.stderr)")
        #expect(try await count(c, "sending") == 0)
        let accepted = try await count(c, "accepted")
        #expect(accepted < 80)
        #expect(try await count(c, "pending") == 80 - accepted)
        let stats = await sandbox.sandbox.stats()
        #expect(stats.accepted == accepted && stats.duplicates == 0)
        #expect(!worker.stderr.contains("sandbox\""))  // the password never shows
        await c.close()
        await sandbox.stop()
    }

    @Test func killMinusNineThenRestartSendsEveryMessageExactlyOnce() async throws {
        setenv("TEST_PLUM_PASSWORD", "sandbox", 1)
        let db = try await TestPostgres.database()
        // Slow answers keep requests in flight when the worker dies.
        let sandbox = try SandboxFixture.start { $0.slowAnswerRate = 0.3; $0.slowAnswerDelay = 0.5; $0.seed = 11; $0.callbacks = false }
        let c = try await db.connect()
        let campaign = try await insertCampaign(c)
        try await insertMessages(c, campaign: campaign, plainMessages(60))
        let config = try writeConfig(sandbox: sandbox.base, rate: 30, leaseSeconds: 4)
        defer { try? FileManager.default.removeItem(at: config) }
        let first = try Worker(config: config, database: db)
        #expect(try await eventually { try await count(c, "accepted") >= 10 })
        first.signal(SIGKILL)
        _ = await first.exitStatus()
        let sending = try await count(c, "sending")
        #expect(sending > 0)  // claims were held when it died: their leases must be rescued
        let second = try Worker(config: config, database: db, arguments: ["--until-idle"])
        let status = await second.exitStatus(timeout: .seconds(60))
        #expect(status == 0, "\(second.stderr)")
        #expect(try await stateCounts(c) == ["accepted": 60], "left sending after the kill: \(sending)")
        let stats = await sandbox.sandbox.stats()
        #expect(stats.accepted == 60)
        #expect(stats.duplicates == 0)
        await c.close()
        await sandbox.stop()
    }
    /// A worker frozen (SIGSTOP) past its lease while another takes its messages over, then
    /// thawed (SIGCONT), completes nothing and sends nothing the other has taken: its
    /// completions fail the fencing check and its unsent claims are released unsent.
    @Test func aFrozenWorkerThawedAfterATakeoverSendsNothingTwice() async throws {
        setenv("TEST_PLUM_PASSWORD", "sandbox", 1)
        let db = try await TestPostgres.database()
        // slow answers: requests are in flight when the worker freezes
        let sandbox = try SandboxFixture.start { $0.slowAnswerRate = 0.5; $0.slowAnswerDelay = 0.6; $0.seed = 21; $0.callbacks = false }
        let c = try await db.connect()
        let campaign = try await insertCampaign(c)
        try await insertMessages(c, campaign: campaign, plainMessages(40))
        let config = try writeConfig(sandbox: sandbox.base, rate: 10, leaseSeconds: 4)
        defer { try? FileManager.default.removeItem(at: config) }
        let zombie = try Worker(config: config, database: db, arguments: ["--worker-id", "zombie"])
        #expect(try await eventually { try await count(c, "accepted") >= 5 })
        zombie.signal(SIGSTOP)
        let held = try await c.query("SELECT count(*) FROM messages WHERE lease_owner = 'zombie' AND state = 'sending'").scalar(Int.self)!
        #expect(held > 0)  // frozen with claims in hand
        // another worker takes over once the leases expire, and finishes the campaign
        let other = try Worker(config: config, database: db, arguments: ["--worker-id", "other"])
        #expect(try await eventually(timeout: .seconds(60)) {
            try await c.query("SELECT count(*) FROM messages WHERE state = 'accepted'").scalar(Int.self) == 40
        })
        let takenOver = try await c.query("""
            SELECT count(*) FROM message_events WHERE kind = 'claimed' AND detail LIKE '% by other'
            """).scalar(Int.self)!
        #expect(takenOver > 0)
        // the zombie wakes up with its old claims and answers in hand
        zombie.signal(SIGCONT)
        try await Task.sleep(for: .seconds(3))
        zombie.signal(SIGTERM)
        other.signal(SIGTERM)
        #expect(await zombie.exitStatus() == 0, "\(zombie.stderr)")
        #expect(await other.exitStatus() == 0, "\(other.stderr)")
        #expect(try await stateCounts(c) == ["accepted": 40])
        let stats = await sandbox.sandbox.stats()
        // on failure: the timelines of the messages tried more than once or in doubt, and the logs
        let timelines = stats.accepted == 40 && stats.duplicates == 0 ? "" : try await retriedTimelines(c)
        #expect(stats.accepted == 40, "\(timelines)\nzombie:\n\(zombie.stderr)\nother:\n\(other.stderr)")
        #expect(stats.duplicates == 0)
        // nothing the zombie recorded after the takeover applied: every accepted message's
        // transition to accepted was made under its current lease
        let stale = try await c.query("""
            SELECT count(*) FROM messages m
             WHERE m.lease_owner = 'zombie' AND EXISTS (SELECT 1 FROM message_events e WHERE e.message_id = m.id
                                                          AND e.kind = 'claimed' AND e.detail LIKE '% by other')
            """).scalar(Int.self)!
        #expect(stale == 0)
        await c.close()
        await sandbox.stop()
    }
}
