import Foundation
import Jobs
import Store
import TestSupport
import Testing
@testable import Dispatcher

/// `dispatcher report --compliance`: what each section counts, its filters, and its formats.
@Suite(.serialized) struct ComplianceReportTests {
    static let patient = "+19998881234"

    /// A message to `patient` from `from`, attempted (an `attempt` event) and accepted at `at`.
    func sent(_ f: ReconcileFixture, from: String, at: String) async throws {
        let campaign = try await insertCampaign(f.conn, from: from)
        let id = try await insertMessages(f.conn, campaign: campaign, from: from, [TestMessage(to: Self.patient)])[0]
        try await f.conn.execute("""
            UPDATE messages SET state = 'accepted', attempts = 1, first_attempt_at = \(at)::timestamptz, accepted_at = \(at)::timestamptz
             WHERE id = \(id)
            """)
        try await f.conn.execute("INSERT INTO message_events (message_id, at, kind, source) VALUES (\(id), \(at)::timestamptz, 'attempt', 'dispatcher')")
    }

    func post(_ f: ReconcileFixture, _ id: String, _ body: String, to: String = "2435678910", at: String) async throws {
        #expect(try await f.post(ReconcileFixture.inboundPath, form: [("sms_message_id", id), ("to", to), ("from", Self.patient), ("body", body)]).status == 200)
        try await f.conn.execute("UPDATE inbound_messages SET received_at = \(at)::timestamptz WHERE provider_message_id = \(id)")
    }

    @Test func sendsAfterCountOnlyTheRevocationsScopeWhileItIsInForce() async throws {
        let f = try await ReconcileFixture.start(senders: ["+12435678910": nil, "+12435678911": nil])
        try await sent(f, from: "+12435678910", at: "2026-11-01T09:00:00Z")          // before: not counted
        // under way when the STOP came: requested before it, its acceptance recorded after; not a send after it
        try await sent(f, from: "+12435678910", at: "2026-11-01T09:59:59Z")
        try await f.conn.execute("UPDATE messages SET accepted_at = '2026-11-01T10:00:01Z' WHERE first_attempt_at = '2026-11-01T09:59:59Z'")
        try await post(f, "s1", "STOP", at: "2026-11-01T10:00:00Z")
        try await post(f, "s2", "stop", at: "2026-11-01T10:30:00Z")                    // already opted out
        try await sent(f, from: "+12435678910", at: "2026-11-01T11:00:00Z")          // in scope, in force: a violation
        try await sent(f, from: "+12435678911", at: "2026-11-01T11:00:00Z")          // another sender: not in scope
        try await post(f, "s3", "START", at: "2026-11-01T12:00:00Z")
        try await sent(f, from: "+12435678910", at: "2026-11-01T13:00:00Z")          // after START: consent again
        try await post(f, "r1", "don't stop", at: "2026-11-01T14:00:00Z")
        try await post(f, "h1", "HELP", at: "2026-11-01T15:00:00Z")

        let report = try #require(try await Outbox.complianceReport(f.conn, filter: .init()))
        let revocations = try #require(report.revocations)
        #expect(revocations.map(\.words) == ["STOP", "stop"])
        #expect(revocations.map(\.scope) == ["+12435678910", "+12435678910"])
        #expect(revocations.map(\.newOptOut) == [true, false])
        #expect(revocations[0].confirmationSentAt != nil && revocations[1].confirmationSentAt == nil)
        #expect(revocations[0].sendsAfter == 1)
        #expect(report.reviews?.map(\.words) == ["don't stop"])
        #expect(report.reviews?.first?.reason.contains("negation") == true)
        #expect(report.helpReplies?.first?.reply == ComplianceConfiguration.defaultHelpReply(brand: "+12435678910", helpContact: nil))
        // the STOP confirmation sent back at 02:00 local is an answer, not a campaign send:
        // the sending section counts neither it nor its hour
        let replies = try await f.conn.query("""
            UPDATE messages SET first_attempt_at = '2026-11-01T07:00:00Z'
             WHERE campaign_id = (SELECT id FROM campaigns WHERE name = \(Outbox.systemRepliesCampaign)) RETURNING id
            """)
        #expect(replies.count == 3)  // the STOP and START confirmations and the HELP reply
        let sending = try await Outbox.complianceSendingReportGet(f.conn, campaign: nil, since: nil, defaultPolicy: .usStrict)
        // the campaign's own five, at 04:00 to 08:00 in New York (the unknown area code's zone), are outside its hours
        #expect(sending.sentOutsideWindow == 5)
        #expect(sending.sendsByLocalHour.reduce(0, +) == 5)  // the five campaign messages only
        // --since leaves out what came before
        let since = try #require(try await Outbox.complianceReport(f.conn, filter: .init(since: try Timestamp.parse("2026-11-01T10:15:00Z"))))
        #expect(since.revocations?.map(\.words) == ["stop"] && since.reviews?.count == 1)
        // a campaign: replies from its recipients since it was created; no such campaign: nil
        #expect(try await Outbox.complianceReport(f.conn, filter: .init(campaign: "no-such-campaign")) == nil)
        await f.stop()
    }

    @Test func theCommandMasksNumbersAndKeepsHostileWordsInertInEachFormat() async throws {
        let f = try await ReconcileFixture.start()
        try await post(f, "s1", "STOP", at: "2026-11-01T10:00:00Z")
        try await post(f, "r1", "=HYPERLINK(\"http://x\",\"stop?\")\n,\"", at: "2026-11-01T11:00:00Z")
        // a number the reply quotes (in its words and in the review's reason) is no more shown than the sender's
        try await post(f, "r2", "stop 2025550143 please", at: "2026-11-01T12:00:00Z")
        let env: [String: String?] = ["DATABASE_URL": f.db.conninfo]
        let dir = URL(fileURLWithPath: NSTemporaryDirectory())
        let table = try await DispatcherBinary.run(["report", "--compliance"], environment: env, directory: dir)
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout.contains("+1******1234") && !table.stdout.contains(Self.patient))
        #expect(table.stdout.contains("revocations (1)") && table.stdout.contains("replies waiting for review (2)"))
        #expect(!table.stdout.contains("2025550143") && table.stdout.contains("stop [number] please"), "\(table.stdout)")
        let csv = try await DispatcherBinary.run(["report", "--compliance", "--format", "csv"], environment: env, directory: dir)
        #expect(csv.status == 0, "\(csv.stderr)")
        let lines = csv.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first == "section,inbound_id,received_at,phone,sender,words,scope,new_opt_out,replied_at,suppressed,sends_after,reply,review_reason,key,value")
        #expect(csv.stdout.contains("revocation,") && csv.stdout.contains(",+1******1234,+12435678910,STOP,+12435678910,true,"))
        // the formula is quoted and prefixed with ', the newline and quotes kept inside one field
        #expect(csv.stdout.contains("\"'=HYPERLINK(\"\"http://x\"\",\"\"stop?\"\")\n,\"\"\""), "\(csv.stdout)")
        #expect(!csv.stdout.contains(Self.patient) && !csv.stdout.contains("2025550143"))
        let json = try await DispatcherBinary.run(["report", "--compliance", "--format", "json"], environment: env, directory: dir)
        #expect(json.status == 0 && !json.stdout.contains(Self.patient) && !json.stdout.contains("2025550143"), "\(json.stdout)")
        #expect(json.stdout.contains("followed by \\\"[number]\\\""), "\(json.stdout)")
        let full = try await DispatcherBinary.run(["report", "--compliance", "--format", "json", "--full-numbers"], environment: env, directory: dir)
        #expect(full.stdout.contains("\"phone\" : \"\(Self.patient)\""), "\(full.stdout)")
        #expect(full.stdout.contains("stop 2025550143 please"))
        // usage errors: 64; an unknown campaign: 65
        for args in [["--since", "yesterday"], ["--since", "2026-13-01"], ["c", "--since", "2026-11-01"], ["a", "b"], ["--format", "xml"]] {
            let r = try await DispatcherBinary.run(["report", "--compliance"] + args, environment: env, directory: dir)
            #expect(r.status == 64, "\(args): \(r.stderr)")
        }
        #expect(try await DispatcherBinary.run(["report", "--compliance", "nope"], environment: env, directory: dir).status == 65)
        await f.stop()
    }
}
