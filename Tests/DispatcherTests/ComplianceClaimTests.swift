import Foundation
import Jobs
import Store
import Testing
import TestSupport

/// Quiet hours and frequency caps in the claim statement, driven with its `now:` clock.
@Suite("Claim: quiet hours and frequency caps")
struct ComplianceClaimTests {
    static func campaign(_ c: Connection, window: (String, String, String)?, policy: String?) async throws -> Int64 {
        let id = try await insertCampaign(c)
        try await c.execute("""
            UPDATE campaigns SET window_start = \(window?.0)::time, window_end = \(window?.1)::time, window_tz = \(window?.2),
                                 quiet_hours = \(policy)
             WHERE id = \(id)
            """)
        return id
    }

    static func date(_ text: String) -> Date { try! Timestamp.parse(text) }

    static func claim(_ c: Connection, at now: Date, compliance: SendingCompliance = .none, limit: Int = 1_000) async throws -> [ClaimedMessage] {
        try await Outbox.messageClaimMany(c, owner: "w", limit: limit, leaseSeconds: 60, providers: ["plum"], optOutScope: .sender,
                                          compliance: compliance, now: now)
    }

    /// Recipients in New York, Chicago, Phoenix and Los Angeles; a `"tz": "recipient"` campaign
    /// under `us-federal`; the claim clock steps through two days around a DST change. No
    /// message is first attempted outside 09:00–20:00 (and so 08:00–21:00) in its own zone,
    /// and each goes within one step of when the Swift `QuietHours` says its window opens.
    @Test(arguments: ["2026-03-07T10:00:00Z", "2026-10-31T10:00:00Z"])
    func fourZoneCampaignNeverSendsOutsideItsHours(start: String) async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let campaign = try await Self.campaign(c, window: ("09:00", "20:00", "recipient"), policy: "us-federal")
        let zones = ["+1212": "America/New_York", "+1312": "America/Chicago", "+1602": "America/Phoenix", "+1213": "America/Los_Angeles"]
        let t0 = Self.date(start)
        var messages: [TestMessage] = []
        for (prefix, _) in zones.sorted(by: { $0.key < $1.key }) {
            for i in 0..<12 {
                // due every 4 hours from the start, so some fall in every zone's night
                messages.append(TestMessage(to: prefix + String(format: "555%04d", i), nextAttemptAt: t0.addingTimeInterval(Double(i) * 14_400)))
            }
        }
        let ids = try await insertMessages(c, campaign: campaign, messages)
        let swift = QuietHours(policy: .usFederal, window: try CampaignWindow(start: "09:00", end: "20:00", timeZone: "recipient"),
                               fallbackTimeZone: TimeZone(identifier: SendingCompliance.fallbackTimeZone)!)
        let step = 600.0
        var firstAttempt: [Int64: Date] = [:]
        var t = t0
        while t < t0.addingTimeInterval(3 * 86_400) {
            for m in try await Self.claim(c, at: t) {
                #expect(firstAttempt[m.id] == nil)
                firstAttempt[m.id] = t
                try await c.execute("UPDATE messages SET state = 'sent', lease_owner = NULL WHERE id = \(m.id)")
            }
            t = t.addingTimeInterval(step)
        }
        #expect(firstAttempt.count == messages.count)
        for (index, id) in ids.enumerated() {
            let to = messages[index].to
            let zone = TimeZone(identifier: zones[String(to.prefix(5))]!)!
            guard let sent = firstAttempt[id] else { Issue.record("\(to) never sent"); continue }
            var cal = Calendar(identifier: .gregorian)
            cal.timeZone = zone
            let local = cal.dateComponents([.hour, .minute], from: sent)
            let minute = local.hour! * 60 + local.minute!
            #expect(minute >= 9 * 60 && minute < 20 * 60, "\(to) first attempted at \(local.hour!):\(local.minute!) local")
            let due = messages[index].nextAttemptAt!
            let opens: Date = switch swift.decision(for: to, at: due) {
            case .allowed: due
            case let .deferred(until): until
            case .noCommonWindow: .distantFuture
            }
            #expect(sent >= opens && sent < opens.addingTimeInterval(step), "\(to) due \(due) opens \(opens) sent \(sent)")
        }
        // every deferral was recorded with its reason
        let deferrals = try await c.query("""
            SELECT count(*) FROM message_events WHERE error_class = 'quiet_hours' AND from_state = 'pending' AND to_state = 'pending'
            """).scalar(Int.self)
        #expect((deferrals ?? 0) > 0)
        // the report's proof: every send inside 09–20 local, none outside the window
        let report = try await Outbox.complianceSendingReportGet(c, campaign: nil, since: nil, defaultPolicy: nil)
        #expect(report.sendsByLocalHour.reduce(0, +) == messages.count)
        #expect(report.sendsByLocalHour.enumerated().allSatisfy { (9..<20).contains($0.offset) || $0.element == 0 })
        #expect(report.sentOutsideWindow == 0)
        #expect(report.quietHoursDeferrals == deferrals)
        // a send recorded at 03:00 in New York is counted outside
        try await c.execute("UPDATE messages SET first_attempt_at = '2026-06-10T07:00:00Z' WHERE id = \(ids[0])")
        let after = try await Outbox.complianceSendingReportGet(c, campaign: nil, since: nil, defaultPolicy: nil)
        #expect(after.sentOutsideWindow == 1)
        #expect(after.sendsByLocalHour[3] == 1)
        await c.close()
    }

    /// A job file's `"tz": "recipient"` window and `quiet_hours` reach the campaign row through
    /// submit's enqueuer, and the claim applies them.
    @Test func aSubmittedRecipientWindowCampaignIsDeferredByTheClaim() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let submitted = Self.date("2026-06-10T05:00:00Z")
        let job = ValidatedJob(reading: JobReader(json: Array("""
            {"campaign": "recipient-window", "from": "2435678910", "provider": "plum", "quiet_hours": "us-strict",
             "window": {"start": "10:00", "end": "17:00", "tz": "recipient"},
             "messages": [{"id": "la", "to": "2135550143", "body": "x"}]}
            """.utf8), file: "job.json", options: JobOptions(now: submitted)))
        let header = try #require(job.header)
        try await c.withTransaction { conn in
            let enqueuer = try await CampaignEnqueuer(connection: conn, header: header, sourceFile: nil, optOutScope: .sender)
            for m in job.messages { try await enqueuer.add(m) }
            _ = try await enqueuer.finish()
        }
        let row = try #require(try await c.query("SELECT window_tz, quiet_hours, window_start::text, window_end::text FROM campaigns").first)
        #expect(try row.decode((String, String, String, String).self) == ("recipient", "us-strict", "10:00:00", "17:00:00"))
        // 05:00Z is 22:00 in Los Angeles: deferred to 10:00 PDT (17:00Z)
        #expect(try await Self.claim(c, at: submitted).isEmpty)
        #expect(try await c.query("SELECT next_attempt_at FROM messages").scalar(Date.self) == Self.date("2026-06-10T17:00:00Z"))
        #expect(try await Self.claim(c, at: Self.date("2026-06-10T17:00:00Z")).count == 1)
        await c.close()
    }

    @Test func outsideHoursIsDeferredWithAnEventExpiryWinsAndNoCommonWindowIsHeld() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let now = Self.date("2026-06-10T07:00:00Z")  // 03:00 in New York
        let federal = try await Self.campaign(c, window: nil, policy: "us-federal")
        let ids = try await insertMessages(c, campaign: federal, [
            TestMessage(to: "+12125550001", nextAttemptAt: now.addingTimeInterval(-60)),
            TestMessage(to: "+12125550002", nextAttemptAt: now.addingTimeInterval(-60), expiresAt: now.addingTimeInterval(-1)),
        ])
        // a fixed 02:00–03:00 UTC window never meets New York's 08:00–21:00
        let never = try await Self.campaign(c, window: ("02:00", "03:00", "UTC"), policy: "us-federal")
        let held = try await insertMessages(c, campaign: never, [TestMessage(to: "+12125550003", nextAttemptAt: now.addingTimeInterval(-60))])
        #expect(try await Self.claim(c, at: now).isEmpty)
        let rows = try await c.query("SELECT id, state, next_attempt_at, attempts FROM messages ORDER BY id")
        let byID = Dictionary(uniqueKeysWithValues: try rows.map { (try $0.decode(Int64.self, at: 0), try $0.decode((Int64, String, Date, Int).self)) })
        #expect(byID[ids[0]]?.1 == "pending")
        #expect(byID[ids[0]]?.2 == Self.date("2026-06-10T12:00:00Z"))  // 08:00 EDT
        #expect(byID[ids[0]]?.3 == 0)
        #expect(byID[ids[1]]?.1 == "expired")
        #expect(byID[held[0]]?.1 == "pending")
        #expect(byID[held[0]]?.2 == now.addingTimeInterval(86_400))
        let events = try await c.query("""
            SELECT message_id, error_class, detail, scheduled_at FROM message_events WHERE error_class = 'quiet_hours' ORDER BY message_id
            """)
        #expect(events.count == 2)
        #expect(try events.map { try $0.decode(Int64.self, at: 0) } == [ids[0], held[0]])
        #expect(try events[1].decode(String.self, at: 2).contains("no allowed instant within 14 days"))
        // at 08:00 New York time it goes
        #expect(try await Self.claim(c, at: Self.date("2026-06-10T12:00:00Z")).map(\.id) == [ids[0]])
        await c.close()
    }

    @Test(arguments: [FrequencyCap.Action.defer, .suppress])
    func overTheCapIsDeferredOrSuppressed(action: FrequencyCap.Action) async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let campaign = try await insertCampaign(c)
        let t0 = Self.date("2026-06-10T15:00:00Z")
        let ids = try await insertMessages(c, campaign: campaign, (0..<5).map {
            TestMessage(externalID: "r\($0)", to: "+12125550001", nextAttemptAt: t0.addingTimeInterval(Double($0)))
        } + [TestMessage(externalID: "other", to: "+12125550002", nextAttemptAt: t0)])
        let cap = SendingCompliance(quietHours: nil, frequencyCap: FrequencyCap(max: 2, per: .sender, action: action))
        // one earlier first send to the same recipient, an hour before
        #expect(try await Self.claim(c, at: t0.addingTimeInterval(-3_600), compliance: cap).isEmpty)  // nothing due yet
        try await c.execute("""
            INSERT INTO frequency_windows (recipient, sender, sends, granted)
            VALUES ('+12125550001', '+12435678910', ARRAY[\(t0.addingTimeInterval(-3_600))::timestamptz], 1)
            """)
        let claimed = try await Self.claim(c, at: t0.addingTimeInterval(10), compliance: cap)
        #expect(Set(claimed.map(\.id)) == [ids[0], ids[5]])
        let rest = try await states(c, Array(ids[1...4]))
        let events = try await c.query("SELECT count(*) FROM message_events WHERE error_class = 'frequency_cap'").scalar(Int.self)
        #expect(events == 4)
        switch action {
        case .defer:
            #expect(Set(rest.values) == ["pending"])
            // the first over the cap waits for the earlier send to leave the 24 hours, the rest for the new one
            let next = try await c.query("SELECT next_attempt_at FROM messages WHERE id = ANY(\(Array(ids[1...4]))) ORDER BY id")
                .map { try $0.decode(Date.self, at: 0) }
            #expect(next == [t0.addingTimeInterval(-3_600 + 86_400), t0.addingTimeInterval(10 + 86_400),
                             t0.addingTimeInterval(10 + 86_400), t0.addingTimeInterval(10 + 86_400)])
            // nothing more within the day; after the hour-old send leaves, one more goes
            #expect(try await Self.claim(c, at: t0.addingTimeInterval(3_600), compliance: cap).isEmpty)
            #expect(try await Self.claim(c, at: t0.addingTimeInterval(-3_600 + 86_400), compliance: cap).map(\.id) == [ids[1]])
        case .suppress:
            #expect(Set(rest.values) == ["suppressed"])
            #expect(try await c.query("SELECT DISTINCT error_class FROM messages WHERE id = ANY(\(Array(ids[1...4])))").scalar(String.self) == "frequency_cap")
        }
        let report = try await Outbox.complianceSendingReportGet(c, campaign: nil, since: nil, defaultPolicy: nil)
        #expect(report.frequencyCapDeferrals == (action == .defer ? 4 : 0))
        #expect(report.frequencyCapSuppressions == (action == .suppress ? 4 : 0))
        await c.close()
    }

    /// Two claimers at once, each holding its transaction open a moment, on interleaved
    /// messages to the same recipients: together they never first-send more than the cap.
    @Test func theCapHoldsWithTwoConcurrentClaimers() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let campaign = try await insertCampaign(c)
        let t0 = Self.date("2026-06-10T15:00:00Z")
        let recipients = (0..<20).map { String(format: "+1212555%04d", $0) }
        var messages: [TestMessage] = []
        for round in 0..<6 {
            for (i, r) in recipients.enumerated() {
                messages.append(TestMessage(externalID: "\(r)-\(round)", to: r, nextAttemptAt: t0.addingTimeInterval(Double(round * 20 + i))))
            }
        }
        try await insertMessages(c, campaign: campaign, messages)
        let cap = SendingCompliance(quietHours: nil, frequencyCap: FrequencyCap(max: 3, per: .all, action: .defer))
        let pool = db.pool(maxConnections: 2)
        let now = t0.addingTimeInterval(1_000)
        let claimed = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<2 {
                group.addTask {
                    var mine: [String] = []
                    while true {
                        let got = try await pool.withTransaction { conn in
                            let got = try await Self.claim(conn, at: now, compliance: cap, limit: 15)
                            try await conn.execute("SELECT pg_sleep(0.05)")
                            return got.map(\.to)
                        }
                        mine += got
                        let pending = try await pool.withConnection { conn in
                            try await conn.query("SELECT count(*) FROM messages WHERE state = 'pending' AND next_attempt_at <= \(now)").scalar(Int.self)
                        }
                        if pending == 0 { return mine }
                    }
                }
            }
            var all: [[String]] = []
            for try await got in group { all.append(got) }
            return all
        }
        // both claimed something, and every recipient got exactly the cap
        #expect(claimed.allSatisfy { !$0.isEmpty })
        let perRecipient = Dictionary(grouping: claimed.flatMap { $0 }, by: { $0 }).mapValues(\.count)
        #expect(perRecipient == Dictionary(uniqueKeysWithValues: recipients.map { ($0, 3) }))
        #expect(try await stateCounts(c) == ["sending": 60, "pending": 60])
        await pool.close()
        await c.close()
    }
}
