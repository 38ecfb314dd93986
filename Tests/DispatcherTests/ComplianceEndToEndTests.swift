import HTTP
import HTTPTesting
import Foundation
import Store
import TestSupport
import Testing
@testable import Dispatcher

/// A STOP in the middle of a campaign, on a running `dispatcher run` sending to the sandbox,
/// and the compliance report that proves what happened.
@Suite struct ComplianceEndToEndTests {
    static let inboundKey = "e2e-compliance-key_0123456789abcdefABCDEF"
    static let sender = "+12435678910"
    /// The recipient who replies STOP: 4 of the campaign's 12 messages are theirs.
    static let stopper = "+12025550199"
    static let helper = "+12025550130"
    static let helpText = "Acme Clinic reminders. Help: 555-0100 or acme.example/help. Msg & data rates may apply. Reply STOP to opt out."

    @Test func aStopMidCampaignStopsTheRestWithOneConfirmationAndNoSendAfterIt() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let sandbox = try SandboxFixture.start()
        let dir = try TempDir()
        // a slow sender (2 messages a second) so the campaign is still going when the STOP comes
        let config = try dir.write("dispatcher.json", """
            {"listen": "127.0.0.1:0",
             "providers": {"plum": {"kind": "plum", "base_url": "\(sandbox.base.absoluteString)", "username": "sandbox",
                                    "password": "sandbox", "timeout_s": 2, "inbound_key": "\(Self.inboundKey)"}},
             "senders": {"\(Self.sender)": {"provider": "plum", "rate_per_second": 2, "burst": 1}}, "concurrency": 8,
             "compliance": {"stop_words": ["ALTO", "PARAR"],
                            "default": {"brand": "Acme Clinic", "help_contact": "555-0100"},
                            "senders": {"\(Self.sender)": {"help_reply": "\(Self.helpText)"}}}}
            """)
        let campaign = try await insertCampaign(c, name: "clinic-reminders", provider: "plum", from: Self.sender)
        let messages = (0..<12).map { i in
            TestMessage(externalID: "m\(i)", to: i % 3 == 1 ? Self.stopper : "+120255501\(30 + i)",
                        body: "Acme Clinic: reminder \(i), your appointment is tomorrow at 10:30.")
        }
        let ids = try await insertMessages(c, campaign: campaign, provider: "plum", from: Self.sender, messages)
        let stopperIDs = zip(ids, messages).filter { $0.1.to == Self.stopper }.map(\.0)

        let worker = try await WorkerProcess.start(config: config, conninfo: db.conninfo, arguments: ["--no-spool"])
        // mid-campaign: one of the stopper's messages went out, at least two are still to go
        // (claimed and waiting for their rate slot, or pending)
        let started = try await eventually(timeout: .seconds(60), every: .milliseconds(10)) {
            let s = try await states(c, stopperIDs).values
            return s.contains { ["accepted", "sent", "delivered"].contains($0) } && s.filter { ["pending", "sending"].contains($0) }.count >= 2
        }
        #expect(started, "\(worker.logText.suffix(2000))")
        let client = HTTPClient()
        let inbound = worker.base.appending(path: "/inbound/plum/\(Self.inboundKey)")
        func post(_ form: [(String, String)]) async throws -> (Int, String) {
            var request = HTTPClientRequest(method: "POST", url: inbound, timeout: .seconds(10))
            request.setForm(form)
            let response = try await client.execute(request)
            return (response.status, String(decoding: response.body, as: UTF8.self))
        }
        let stop = [("sms_message_id", "in-stop-1"), ("to", "2435678910"), ("from", "2025550199"), ("body", "Stop texting me!")]
        let (status, xml) = try await post(stop)
        let confirmation = ComplianceConfiguration.defaultStopConfirmation(brand: "Acme Clinic")
        #expect(status == 200)
        #expect(xml.components(separatedBy: "<sms_message>").count == 2, "\(xml)")
        #expect(xml.contains("<sms_message>\(confirmation)</sms_message>"), "\(xml)")
        let pendingAtStop = try await c.query("SELECT count(*) FROM messages WHERE campaign_id = \(campaign) AND state IN ('pending', 'sending')")
            .scalar(Int.self) ?? 0
        #expect(pendingAtStop > 0, "the campaign had finished before the STOP")
        // Plum retries the same inbound: an empty reply, no second confirmation
        #expect(try await post(stop) == (200, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<reply/>\n"))
        // HELP gets the configured reply
        let (helpStatus, helpXML) = try await post([("sms_message_id", "in-help-1"), ("to", "2435678910"), ("from", "2025550130"), ("body", "help")])
        #expect(helpStatus == 200)
        #expect(helpXML.contains("<sms_message>\(Self.helpText.replacingOccurrences(of: "&", with: "&amp;"))</sms_message>"), "\(helpXML)")

        // a reply that only might be a revocation: recorded for review, nothing sent back, nothing stopped
        #expect(try await post([("sms_message_id", "in-review-1"), ("to", "2435678910"), ("from", "2025550133"), ("body", "Can I stop by at 3?")])
            == (200, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<reply/>\n"))

        // the campaign runs to its end
        let drained = try await eventually(timeout: .seconds(60), every: .milliseconds(100)) {
            try await c.query("SELECT count(*) FROM messages WHERE campaign_id = \(campaign) AND state IN ('pending', 'sending', 'in_doubt')")
                .scalar(Int.self) == 0
        }
        let counts = try await stateCounts(c)
        #expect(drained, "\(counts)")
        await worker.stop()

        // the stopper's messages after the STOP were suppressed, none sent after it
        let stopAt = try #require(try await c.query("SELECT received_at FROM inbound_messages WHERE provider_message_id = 'in-stop-1'").scalar(Date.self))
        let stopperStates = try await states(c, stopperIDs)
        #expect(stopperStates.values.contains("suppressed"), "\(stopperStates)")
        // (a send is a request: one under way when the STOP came may be accepted after it)
        let sentAfter = try await c.query("""
            SELECT count(*) FROM messages m WHERE m.to_number = \(Self.stopper) AND m.campaign_id = \(campaign)
               AND EXISTS (SELECT 1 FROM message_events e WHERE e.message_id = m.id AND e.kind = 'attempt' AND e.at > \(stopAt))
            """).scalar(Int.self)
        #expect(sentAfter == 0)
        // everyone else got theirs
        let others = try await c.query("SELECT count(*) FROM messages WHERE campaign_id = \(campaign) AND to_number <> \(Self.stopper) AND state IN ('accepted', 'sent', 'delivered')")
            .scalar(Int.self)
        #expect(others == 8)
        // exactly one confirmation on record, as a sent message of the system campaign, and the help reply
        let replies = try await c.query("""
            SELECT m.to_number, m.state, b.body FROM messages m JOIN campaigns k ON k.id = m.campaign_id
              JOIN message_bodies b ON b.message_id = m.id WHERE k.name = 'system:replies' ORDER BY m.id
            """).map { try $0.decode((String, String, String).self) }
        #expect(replies.count == 2)
        #expect(replies.first.map { $0 == (Self.stopper, "sent", confirmation) } == true)
        #expect(replies.last.map { $0 == (Self.helper, "sent", Self.helpText) } == true)

        // the compliance report: printed for the record, then read as JSON
        let env: [String: String?] = ["DATABASE_URL": db.conninfo]
        let table = try await DispatcherBinary.run(["report", "--compliance", "clinic-reminders"], environment: env, directory: URL(fileURLWithPath: dir.path))
        #expect(table.status == 0, "\(table.stderr)")
        print("---- dispatcher report --compliance clinic-reminders ----\n\(table.stdout)---- end of report ----")
        #expect(table.stdout.contains("+1******0199"))
        #expect(!table.stdout.contains(Self.stopper))
        let json = try await DispatcherBinary.run(["report", "--compliance", "--since", "2000-01-01", "--format", "json", "--full-numbers"],
                                                  environment: env, directory: URL(fileURLWithPath: dir.path))
        #expect(json.status == 0, "\(json.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let revocations = try #require(object["revocations"] as? [[String: Any]])
        #expect(revocations.count == 1)
        let revocation = try #require(revocations.first)
        #expect(revocation["phone"] as? String == Self.stopper)
        #expect(revocation["words"] as? String == "Stop texting me!")
        #expect(revocation["scope"] as? String == Self.sender)
        #expect(revocation["confirmation_sent_at"] is String)
        #expect(revocation["sends_after"] as? Int == 0)
        #expect((revocation["suppressed"] as? Int ?? 0) == stopperStates.values.filter { $0 == "suppressed" }.count)
        let help = try #require(object["help_replies"] as? [[String: Any]])
        #expect(help.count == 1 && help.first?["reply"] as? String == Self.helpText)
        let reviews = try #require(object["reviews"] as? [[String: Any]])
        #expect(reviews.count == 1 && reviews.first?["words"] as? String == "Can I stop by at 3?")
        #expect(try await c.query("SELECT count(*) FROM messages WHERE to_number = '+12025550133' AND state = 'suppressed'").scalar(Int.self) == 0)
        // the campaign report counts the system campaign's replies as sent, nothing pending
        let report = try await DispatcherBinary.run(["report", "system:replies", "--format", "json"], environment: env, directory: URL(fileURLWithPath: dir.path))
        #expect(report.stdout.contains("\"sent\" : 2"), "\(report.stdout)")
        await client.shutdown()
        await sandbox.stop()
    }
}
