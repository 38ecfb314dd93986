import Foundation
import Jobs
import Store
import Testing
import TestSupport

/// `dispatcher report --compliance` as a real process.
@Suite struct ComplianceReportCommandTests {
    @Test func sendingSectionsInEveryFormat() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let campaign = try await ComplianceClaimTests.campaign(c, window: ("09:00", "20:00", "recipient"), policy: "us-federal")
        let t0 = ComplianceClaimTests.date("2026-06-10T07:00:00Z")  // 03:00 in New York
        try await insertMessages(c, campaign: campaign, [
            TestMessage(to: "+12125550001", nextAttemptAt: t0), TestMessage(to: "+13125550001", nextAttemptAt: t0),
            TestMessage(to: "+16025550001", nextAttemptAt: t0), TestMessage(to: "+12135550001", nextAttemptAt: t0),
        ])
        var t = t0
        while t < t0.addingTimeInterval(86_400) {
            _ = try await ComplianceClaimTests.claim(c, at: t)
            t = t.addingTimeInterval(900)
        }
        let name = try await c.query("SELECT name FROM campaigns").scalar(String.self)!
        let env = ["DATABASE_URL": db.conninfo]
        let table = try await DispatcherBinary.run(["report", "--compliance", name], environment: env)
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout.contains("09:00  ########################################  4"))
        #expect(table.stdout.contains("sent outside the window   0"))
        #expect(table.stdout.contains("quiet-hours deferrals     4"))
        let json = try await DispatcherBinary.run(["report", "--compliance", "--since", "2026-06-01T00:00:00Z", "--format", "json"], environment: env)
        #expect(json.status == 0, "\(json.stderr)")
        let decoded = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let sending = try #require(decoded["sending"] as? [String: Any])
        #expect(sending["sent_outside_window"] as? Int == 0)
        #expect((sending["sends_by_local_hour"] as? [Int])?[9] == 4)
        let csv = try await DispatcherBinary.run(["report", "--compliance", "--format", "csv"], environment: env)
        // one table: the sending rows fill the section and the last two columns (key, value)
        let rows = csv.stdout.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let header = try #require(rows.first)
        #expect(header.first == "section" && header.suffix(2) == ["key", "value"])
        #expect(rows.allSatisfy { $0.count == header.count })
        #expect(rows.contains { $0.first == "sends_by_local_hour" && $0.suffix(2) == ["9", "4"] })
        #expect(rows.contains { $0.first == "frequency_cap_suppressions" && $0.suffix(2) == ["", "0"] })
        // malformed and conflicting arguments are usage errors that do not echo much
        for bad in [["--since", "yesterday"], [name, "--since", "2026-06-01T00:00:00Z"], ["a", "b"],
                    ["--since", String(repeating: "9", count: 10_000)]] {
            let r = try await DispatcherBinary.run(["report", "--compliance"] + bad, environment: env)
            #expect(r.status != 0)
            #expect(r.stderr.count < 12_000)
        }
        await c.close()
    }
}
