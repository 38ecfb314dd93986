import Foundation
import Store
import TestSupport
import Testing

/// `campaignReportList` reads the report views, and each campaign gets its own breakdowns.
@Suite struct CampaignReportTests {
    @Test func reportsComeFromTheViewsPerCampaign() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        var ids: [String: Int64] = [:]
        for name in ["a", "b"] {
            ids[name] = try await c.query("""
                INSERT INTO campaigns (name, provider, from_number, created_at)
                VALUES (\(name), 'plum', '+12435678910', now() - interval '1 hour') RETURNING id
                """).scalar(Int64.self)
        }
        func message(_ campaign: String, _ external: String, to: String, state: String, errorClass: String? = nil) async throws {
            try await c.execute("""
                INSERT INTO messages (campaign_id, external_id, state, provider, from_number, to_number, segments, due_at,
                                      next_attempt_at, error_class)
                VALUES (\(ids[campaign]!), \(external), \(state), 'plum', '+12435678910', \(to), 1, now(), now(), \(errorClass))
                """)
        }
        try await message("a", "a1", to: "+15550000001", state: "delivered")
        try await message("a", "a2", to: "+15550000002", state: "failed", errorClass: "landline")
        try await message("b", "b1", to: "+15550000003", state: "undelivered", errorClass: "blocked")
        try await message("b", "b2", to: "+15550000004", state: "pending")
        try await c.execute("INSERT INTO opt_outs (phone, sender, source) VALUES ('+15550000003', '', 'inbound')")
        try await c.execute("""
            INSERT INTO inbound_messages (provider, provider_message_id, from_number, to_number, body, keyword, related_message_id)
            SELECT 'plum', 'in-' || external_id, to_number, from_number, 'yes', 'confirm', id FROM messages WHERE external_id IN ('a1', 'b1')
            """)
        try await c.execute("INSERT INTO job_rejections (campaign_id, location, error) VALUES (\(ids["b"]!), 'b.csv:3:1', 'bad number')")

        let reports = try await Outbox.campaignReportList(c, campaign: nil)
        #expect(reports.map(\.campaign) == ["a", "b"])
        let (a, b) = (reports[0], reports[1])
        #expect(a.states["delivered"] == 1 && a.states["failed"] == 1 && a.states.count == MessageState.allCases.count)
        #expect(a.errors.map { "\($0.errorClass) \($0.errorCode ?? "-") \($0.count)" } == ["landline - 1"])
        #expect(b.errors.map { "\($0.errorClass) \($0.errorCode ?? "-") \($0.count)" } == ["blocked - 1"])
        #expect(a.replies == ["confirm": 1] && b.replies == ["confirm": 1])
        #expect(a.optOuts == 0 && b.optOuts == 1)
        #expect(a.rejectedRows == 0 && b.rejectedRows == 1)
        #expect(try await Outbox.campaignReportList(c, campaign: "b").map(\.campaign) == ["b"])
        #expect(try await Outbox.campaignReportList(c, campaign: "none").isEmpty)
        // the same numbers for a reporting tool, from the views alone
        let viewRow = try #require(try await c.query("SELECT opt_outs, rejected_rows FROM campaign_report WHERE campaign = 'b'").first)
        #expect(try viewRow.decode((Int, Int).self) == (1, 1))
        #expect(try await c.query("SELECT sum(replies)::int FROM campaign_reply_report").scalar(Int.self) == 2)
        #expect(try await c.query("SELECT sum(messages)::int FROM campaign_error_report").scalar(Int.self) == 2)
        await c.close()
    }
}
