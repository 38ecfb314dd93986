import Foundation
import Jobs
import Store
import TestSupport
import Testing
@testable import Dispatcher

/// report, status, cancel, pause/resume and prune, run as the real executable.
@Suite struct OperatorCommandTests {
    /// A database with one submitted campaign of `count` messages; returns its conninfo.
    func seeded(_ campaign: String, count: Int = 6) async throws -> (TestDatabase, Connection) {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let dir = try TempDir()
        try dir.write("r.csv", csvRows(0..<count))
        let path = try dir.write("r.json", manifest(campaign, csv: "r.csv"))
        #expect(try await JobSubmitter(configuration: DispatcherConfiguration()).submit([.init(path: path)], on: c).committed)
        return (db, c)
    }

    @Test func reportFormats() async throws {
        let (db, c) = try await seeded("rep, 'quoted'")
        // give the messages a realistic spread of outcomes
        try await c.execute("""
            UPDATE messages SET state = 'delivered', accepted_at = due_at + interval '2 seconds',
                   final_at = due_at + interval '7 seconds' WHERE external_id IN ('m-0', 'm-1', 'm-2')
            """)
        try await c.execute("""
            UPDATE messages SET state = 'undelivered', error_code = '30006', error_class = 'landline',
                   accepted_at = due_at, final_at = due_at WHERE external_id = 'm-3'
            """)
        try await c.execute("""
            INSERT INTO inbound_messages (provider, provider_message_id, from_number, to_number, body, keyword, related_message_id)
            SELECT 'plum', 'in-1', to_number, from_number, 'Confirm', 'confirm', id FROM messages WHERE external_id = 'm-0'
            """)
        let env: [String: String?] = ["DATABASE_URL": db.conninfo]
        let json = try await DispatcherBinary.run(["report", "--format", "json"], environment: env)
        #expect(json.status == 0, "\(json.stderr)")
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(parsed.count == 1)
        let report = parsed[0]
        #expect(report["total"] as? Int == 6)
        #expect((report["states"] as? [String: Int])?["delivered"] == 3)
        #expect((report["states"] as? [String: Int])?["pending"] == 2)
        #expect(report["delivery_rate"] as? Double == 0.75)
        #expect(report["delivery_latency_p50"] as? Double == 5)
        #expect(report["send_latency_p95"] as? Double != nil)
        #expect((report["replies"] as? [String: Int])?["confirm"] == 1)
        let errors = try #require(report["errors"] as? [[String: Any]])
        #expect(errors.first?["error_class"] as? String == "landline")
        #expect(errors.first?["error_code"] as? String == "30006")

        let csv = try await DispatcherBinary.run(["report", "--format", "csv"], environment: env)
        let lines = csv.stdout.split(separator: "\n")
        #expect(lines.count == 2)  // a header and one row per campaign
        #expect(lines[0].hasPrefix("campaign,status,total,pending,"))
        #expect(lines[1].hasPrefix("\"rep, 'quoted'\",active,6,2,"))

        let table = try await DispatcherBinary.run(["report"], environment: env)
        #expect(table.stdout.contains("delivered   75.0% of finished messages"))
        #expect(table.stdout.contains("errors      landline (30006) 1"))
        #expect(try await DispatcherBinary.run(["report", "nope"], environment: env).status == 65)
        #expect(try await DispatcherBinary.run(["report", "--format", "xml"], environment: env).status == 64)
    }

    @Test func statusFindsMessagesByEveryIdForm() async throws {
        let (db, c) = try await seeded("stat")
        try await c.execute("UPDATE messages SET provider_message_id = 'abc123', state = 'accepted' WHERE external_id = 'm-2'")
        let id = try #require(try await c.query("SELECT id FROM messages WHERE external_id = 'm-2'").scalar(Int64.self))
        try await c.execute("""
            INSERT INTO message_events (message_id, kind, source, from_state, to_state, http_status, latency_ms)
            VALUES (\(id), 'attempt', 'dispatcher', 'sending', 'accepted', 200, 42)
            """)
        let env: [String: String?] = ["DATABASE_URL": db.conninfo]
        for form in [String(id), "abc123", "stat/m-2"] {
            let r = try await DispatcherBinary.run(["status", form], environment: env)
            #expect(r.status == 0, "\(form): \(r.stderr)")
            #expect(r.stdout.contains("message \(id)  stat/m-2  accepted"), "\(form)")
            #expect(r.stdout.contains("dispatcher/attempt sending -> accepted http=200 42ms"), "\(form)")
        }
        #expect(try await DispatcherBinary.run(["status", "stat/none"], environment: env).status == 65)
        let json = try await DispatcherBinary.run(["status", "abc123", "--json"], environment: env)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(parsed.first?["provider_message_id"] as? String == "abc123")
    }

    @Test func cancelFinalisesPendingAndLeavesInFlight() async throws {
        let (db, c) = try await seeded("cxl")
        try await c.execute("UPDATE messages SET state = 'sending' WHERE external_id = 'm-0'")
        try await c.execute("UPDATE messages SET state = 'delivered', final_at = now() WHERE external_id = 'm-1'")
        let r = try await DispatcherBinary.run(["cancel", "cxl"], environment: ["DATABASE_URL": db.conninfo])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("4 pending messages cancelled, 1 in flight"))
        let states = try await c.query("SELECT state, count(*) FROM messages GROUP BY 1 ORDER BY 1").map { try $0.decode((String, Int).self) }
        #expect(states.map { "\($0.0)=\($0.1)" } == ["cancelled=4", "delivered=1", "sending=1"])
        #expect(try await c.query("SELECT count(*) FROM message_events WHERE kind = 'cancelled' AND source = 'operator'").scalar(Int.self) == 4)
        #expect(try await c.query("SELECT status FROM campaigns").scalar(String.self) == "cancelled")
        #expect(try await DispatcherBinary.run(["cancel", "nope"], environment: ["DATABASE_URL": db.conninfo]).status == 65)
        #expect(try await DispatcherBinary.run(["pause", "cxl"], environment: ["DATABASE_URL": db.conninfo]).status == 65)
    }

    @Test func pauseAndResumeFlipTheCampaign() async throws {
        let (db, c) = try await seeded("pz")
        let env: [String: String?] = ["DATABASE_URL": db.conninfo]
        #expect(try await DispatcherBinary.run(["pause", "pz"], environment: env).status == 0)
        #expect(try await c.query("SELECT status FROM campaigns").scalar(String.self) == "paused")
        let resumed = try await DispatcherBinary.run(["resume", "pz"], environment: env)
        #expect(resumed.stdout.contains("resumed (6 pending messages)"))
        #expect(try await c.query("SELECT status FROM campaigns").scalar(String.self) == "active")
    }

    @Test func resumeClearsAHaltedSender() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        try await c.execute("""
            INSERT INTO rate_limits (key, rate, burst, slow_factor, halted_at, halt_reason)
            VALUES ('sender:+12435678910', 5, 5, 0.5, now(), 'auth_failed')
            """)
        let r = try await DispatcherBinary.run(["resume", "--sender", "2435678910"], environment: ["DATABASE_URL": db.conninfo])
        #expect(r.stdout.contains("resumed sender:+12435678910"), "\(r.stdout) \(r.stderr)")
        #expect(try await c.query("SELECT halted_at IS NULL FROM rate_limits").scalar(Bool.self) == true)
    }

    @Test func pruneRemovesOnlyFinishedCampaignsBeforeTheDate() async throws {
        let (db, c) = try await seeded("old-done", count: 7)
        let dir = try TempDir()
        for (name, count) in [("old-unfinished", 3), ("new-done", 2)] {
            try dir.write("\(name).csv", csvRows(0..<count))
            let path = try dir.write("\(name).json", manifest(name, csv: "\(name).csv"))
            #expect(try await JobSubmitter(configuration: DispatcherConfiguration()).submit([.init(path: path)], on: c).committed)
        }
        try await c.execute("""
            UPDATE messages m SET state = 'delivered', final_at = '2026-01-01T00:00:00Z'
              FROM campaigns c WHERE c.id = m.campaign_id AND c.name IN ('old-done', 'old-unfinished')
            """)
        try await c.execute("""
            UPDATE messages m SET state = 'pending', final_at = NULL FROM campaigns c
             WHERE c.id = m.campaign_id AND c.name = 'old-unfinished' AND m.external_id = 'm-0'
            """)
        try await c.execute("""
            UPDATE messages m SET state = 'failed', final_at = now() FROM campaigns c WHERE c.id = m.campaign_id AND c.name = 'new-done'
            """)
        try await c.execute("INSERT INTO message_events (message_id, kind, source) SELECT id, 'attempt', 'dispatcher' FROM messages")
        // a report that never applied (its provider id was never the message's) goes with its message
        try await c.execute("""
            INSERT INTO callback_inbox (message_id, source, provider, provider_message_id, provider_status, state)
            SELECT id, 'callback', 'plum', 'never-' || id, 'sent', 'sent' FROM messages
            """)
        // the frequency cap's ledger: rows without a send in the last 24 hours go, in batches
        try await c.execute("""
            INSERT INTO frequency_windows (recipient, sender, sends, granted)
            SELECT '+1555000' || lpad(n::text, 4, '0'), '', ARRAY[now() - interval '25 hours'], 1 FROM generate_series(1, 7) n
            UNION ALL SELECT '+15559990001', '', ARRAY[now() - interval '30 hours', now() - interval '1 hour'], 1
            UNION ALL SELECT '+15559990002', '', '{}', 0
            """)
        let r = try await DispatcherBinary.run(["prune", "--before", "2026-06-01", "--batch", "3"], environment: ["DATABASE_URL": db.conninfo])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("pruned 1 campaign: 7 messages and 7 events removed (old-done)"))
        #expect(r.stdout.contains("pruned 8 frequency-cap ledger rows with no send in the last 24 hours"), "\(r.stdout)")
        #expect(try await c.query("SELECT recipient FROM frequency_windows").scalar(String.self) == "+15559990001")
        let left = try await c.query("""
            SELECT c.name, count(m.id) FROM campaigns c LEFT JOIN messages m ON m.campaign_id = c.id GROUP BY 1 ORDER BY 1
            """).map { try $0.decode((String, Int).self) }
        #expect(left.map { "\($0.0)=\($0.1)" } == ["new-done=2", "old-done=0", "old-unfinished=3"])
        #expect(try await c.query("SELECT count(*) FROM message_events").scalar(Int.self) == 5)
        #expect(try await c.query("SELECT count(*) FROM message_bodies").scalar(Int.self) == 5)
        #expect(try await c.query("SELECT count(*) FROM callback_inbox").scalar(Int.self) == 5)
        #expect(try await DispatcherBinary.run(["prune"], environment: ["DATABASE_URL": db.conninfo]).status == 64)
        #expect(try await DispatcherBinary.run(["prune", "--before", "yesterday"], environment: ["DATABASE_URL": db.conninfo]).status == 64)
    }
}

/// What every command shares: `--config` is taken before the command's own options, and a
/// failure becomes one line with the command's prefix and its exit code.
@Suite struct CommandContextTests {
    @Test func everyCommandReadsConfigTheSameWay() async throws {
        let prefixes = ["validate": "validate", "submit": "submit", "run": "dispatcher run", "report": "report", "status": "status",
                        "resume": "dispatcher resume", "migrate": "dispatcher migrate", "bench-client": "bench-client",
                        "bench-copy": "dispatcher bench-copy", "sandbox": "sandbox"]
        for (command, prefix) in prefixes.sorted(by: { $0.key < $1.key }) {
            let r = try await DispatcherBinary.run([command, "--config"], environment: ["DATABASE_URL": nil])
            #expect(r.status == 64, "\(command): \(r.stderr)")
            #expect(r.stderr == "\(prefix): --config needs a value\n", "\(command)")
        }
    }
}
