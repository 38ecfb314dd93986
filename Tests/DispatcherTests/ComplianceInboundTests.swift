import Foundation
import Store
import TestSupport
import Testing
@testable import Dispatcher

/// The inbound route as a compliance tool: each intent, the configured keywords and texts,
/// one confirmation per opt-out, and hostile bodies.
/// Serialized: each test has its own database and pool; one at a time keeps this suite light on the shared cluster.
@Suite(.serialized) struct ComplianceInboundTests {
    static let sender = "2435678910"
    static let patient = "+19998881234"

    static var compliance: ComplianceConfiguration {
        var c = ComplianceConfiguration()
        c.stopWords = ["ALTO", "PARAR"]
        c.startWords = ["INICIO"]
        c.defaults.brand = "Acme Clinic"
        c.defaults.helpContact = "555-0100"
        var other = ComplianceConfiguration.Texts()
        other.brand = "Acme Dental"
        other.helpReply = "Acme Dental <reminders> & more: call 555-0199. Msg & data rates may apply. Reply STOP to opt out."
        c.senders["+12435678911"] = other
        return c
    }

    static func fixture(global: Bool = false) async throws -> ReconcileFixture {
        try await ReconcileFixture.start(optOutScope: global ? .global : .sender, senders: ["+12435678910": nil, "+12435678911": nil], compliance: compliance)
    }

    /// Posts a reply; returns the status and the `<sms_message>` texts of the answer.
    static func reply(_ f: ReconcileFixture, _ body: String, id: String? = nil, to: String = sender, from: String = patient)
        async throws -> (status: Int, messages: [String]) {
        var form = [("to", to), ("from", from), ("body", body)]
        if let id { form.insert(("sms_message_id", id), at: 0) }
        let response = try await f.post(ReconcileFixture.inboundPath, form: form)
        let xml = String(decoding: response.body, as: UTF8.self)
        if response.status == 200 {
            #expect(ReconcileTests.parsesAsXML(xml), "\(xml)")
            #expect(response.headers["Content-Type"]?.hasPrefix("application/xml") == true)
        }
        let messages = xml.matches(of: /<sms_message>([^<]*)<\/sms_message>/).map { String($0.1) }
        if response.status == 200 && messages.isEmpty { #expect(xml.hasSuffix("<reply/>\n"), "\(xml)") }
        return (response.status, messages.map { $0.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&amp;", with: "&") })
    }

    static func systemReplies(_ f: ReconcileFixture) async throws -> [String] {
        try await f.conn.query("""
            SELECT m.state || ' ' || m.to_number || ' ' || b.body FROM messages m JOIN campaigns c ON c.id = m.campaign_id
              JOIN message_bodies b ON b.message_id = m.id WHERE c.name = 'system:replies' ORDER BY m.id
            """).map { try $0.decode(String.self, at: 0) }
    }

    static func optOuts(_ f: ReconcileFixture) async throws -> [String] {
        try await f.conn.query("SELECT sender || '/' || source FROM opt_outs WHERE phone = \(patient) ORDER BY 1").map { try $0.decode(String.self, at: 0) }
    }

    // MARK: Each intent

    @Test func eachIntentIsRecordedAndOnlyTheClearOnesAreActedOn() async throws {
        let f = try await Self.fixture()
        let pending = try await f.messages(3, state: "pending", to: Self.patient)
        let stopText = ComplianceConfiguration.defaultStopConfirmation(brand: "Acme Clinic")

        // "might be a revocation": recorded for review with its reason, not acted on, no reply
        #expect(try await Self.reply(f, "stop by at 3?", id: "r1") == (200, []))
        #expect(try await Self.reply(f, "don't stop reminding me", id: "r2") == (200, []))
        #expect(try await Self.optOuts(f) == [])
        for (id, _) in pending { #expect(try await f.state(id).0 == "pending") }
        let reviews = try await f.conn.query("""
            SELECT intent, needs_review, review_reason FROM inbound_messages WHERE provider_message_id IN ('r1', 'r2') ORDER BY id
            """).map { try $0.decode((String, Bool, String).self) }
        #expect(reviews.map(\.0) == ["review", "review"])
        #expect(reviews.allSatisfy { $0.1 })
        #expect(reviews[0].2.contains("question"))
        #expect(reviews[1].2.contains("negation"))

        // an ordinary reply: recorded, nothing sent back
        #expect(try await Self.reply(f, "See you then!", id: "r3") == (200, []))
        #expect(try await f.conn.query("SELECT intent || ' ' || keyword || ' ' || needs_review FROM inbound_messages WHERE provider_message_id = 'r3'")
            .scalar(String.self) == "reply see false")
        // a reply that starts with a phone number: its keyword (shown to console viewers and in
        // reports) does not carry the number
        #expect(try await Self.reply(f, "+12025550143 is my new number", id: "r4") == (200, []))
        #expect(try await f.conn.query("SELECT keyword FROM inbound_messages WHERE provider_message_id = 'r4'")
            .scalar(String.self) == "[number]")

        // STOP (a phrase of clear intent): opt-out, pending suppressed, one confirmation in the reply and on record
        #expect(try await Self.reply(f, "Please stop texting me.", id: "s1") == (200, [stopText]))
        #expect(try await Self.optOuts(f) == ["+12435678910/inbound"])
        for (id, _) in pending { #expect(try await f.state(id).0 == "suppressed") }
        let stop = try #require(try await f.conn.query("""
            SELECT i.intent, i.keyword, i.opt_out_scope, i.suppressed, i.consent_changed, m.state, m.provider, m.from_number,
                   m.to_number, b.body, (SELECT count(*) FROM message_events e WHERE e.message_id = m.id AND e.kind = 'reply'),
                   (SELECT inbound_message_id FROM opt_outs WHERE phone = i.from_number) = i.id
              FROM inbound_messages i JOIN messages m ON m.id = i.reply_message_id JOIN message_bodies b ON b.message_id = m.id
             WHERE i.provider_message_id = 's1'
            """).first)
        let s = try stop.decode((String, String, String, Int, Bool, String, String, String, String, String, Int, Bool).self)
        #expect(s.0 == "optout" && s.1 == "stop" && s.2 == "+12435678910" && s.3 == 3 && s.4)
        #expect(s.5 == "sent" && s.6 == "plum" && s.7 == "+12435678910" && s.8 == Self.patient && s.9 == stopText && s.10 == 1 && s.11)

        // HELP: the help reply, every time, from the sender's configuration
        let help = ComplianceConfiguration.defaultHelpReply(brand: "Acme Clinic", helpContact: "555-0100")
        #expect(try await Self.reply(f, "HELP", id: "h1") == (200, [help]))
        #expect(try await Self.reply(f, "info?", id: "h2") == (200, [help]))
        #expect(try await Self.reply(f, "help", id: "h3", to: "2435678911") == (200, [Self.compliance.senders["+12435678911"]!.helpReply!]))

        // START: removes the inbound opt-out, its own confirmation
        let startText = ComplianceConfiguration.defaultStartConfirmation(brand: "Acme Clinic")
        #expect(try await Self.reply(f, "UNSTOP", id: "u1") == (200, [startText]))
        #expect(try await Self.optOuts(f) == [])
        #expect(try await Self.systemReplies(f).count == 5)
        #expect(try await f.conn.query("SELECT count(*) FROM inbound_messages WHERE reply_message_id IS NOT NULL").scalar(Int.self) == 5)
        await f.stop()
    }

    @Test func configuredExtraWordsOptOutAndIn() async throws {
        let f = try await Self.fixture()
        #expect(try await Self.reply(f, "  Alto! ", id: "a1") == (200, [ComplianceConfiguration.defaultStopConfirmation(brand: "Acme Clinic")]))
        #expect(try await Self.optOuts(f) == ["+12435678910/inbound"])
        #expect(try await Self.reply(f, "inicio", id: "a2").messages.count == 1)
        #expect(try await Self.optOuts(f) == [])
        #expect(try await Self.reply(f, "PARAR por favor", id: "a3").messages.count == 1)
        #expect(try await Self.optOuts(f) == ["+12435678910/inbound"])
        await f.stop()
        // without the configuration ALTO is an ordinary reply
        let plain = try await ReconcileFixture.start()
        #expect(try await Self.reply(plain, "ALTO", id: "b1") == (200, []))
        #expect(try await Self.optOuts(plain) == [])
        // and YES opts back in by default
        #expect(try await Self.reply(plain, "STOP", id: "b2").messages.count == 1)
        #expect(try await Self.reply(plain, "Yes", id: "b3").messages == [ComplianceConfiguration.defaultStartConfirmation(brand: "+12435678910")])
        #expect(try await Self.optOuts(plain) == [])
        await plain.stop()
    }

    @Test func theWorkersRoutesTakeTheConfiguredKeywordsAndTexts() throws {
        let worker = try DispatcherConfiguration.parse(Array("""
            {"compliance": {"stop_words": ["ALTO"], "default": {"brand": "Acme Clinic"},
                            "senders": {"2435678910": {"help_reply": "Call 555-0100."}}}}
            """.utf8))
        let routes = ReconcileRoutes.Configuration(worker)
        let alto = ReconcileRoutes.decision("alto", sender: "+12435678910", configuration: routes)
        #expect(alto.intent == .optOut && alto.replyText == ComplianceConfiguration.defaultStopConfirmation(brand: "Acme Clinic"))
        #expect(ReconcileRoutes.decision("HELP", sender: "+12435678910", configuration: routes).replyText == "Call 555-0100.")
        #expect(ReconcileRoutes.decision("HELP", sender: "+12435678911", configuration: routes).replyText
            == ComplianceConfiguration.defaultHelpReply(brand: "Acme Clinic", helpContact: nil))
    }

    // MARK: One confirmation per opt-out

    @Test func oneOptOutGetsOneConfirmation() async throws {
        for global in [false, true] {
            let f = try await Self.fixture(global: global)
            #expect(try await Self.reply(f, "STOP", id: "x1").messages.count == 1)
            // a replay of it (same provider id, or same text without one): empty reply, nothing recorded
            #expect(try await Self.reply(f, "STOP", id: "x1") == (200, []))
            #expect(try await Self.reply(f, "STOP") .messages.count == 0, "already opted out")
            #expect(try await Self.reply(f, "STOP") == (200, []), "a replay")
            // a second STOP while opted out, in other words: recorded, no second confirmation
            #expect(try await Self.reply(f, "unsubscribe", id: "x2") == (200, []))
            #expect(try await f.conn.query("SELECT count(*) FROM inbound_messages WHERE intent = 'optout'").scalar(Int.self) == 3)
            #expect(try await f.conn.query("SELECT count(*) FROM inbound_messages WHERE intent = 'optout' AND NOT consent_changed").scalar(Int.self) == 2)
            // START ends that opt-out; the next STOP is a new one and is confirmed
            #expect(try await Self.reply(f, "START", id: "x3").messages.count == 1)
            #expect(try await Self.reply(f, "START", id: "x4") == (200, []), "nothing to undo: no confirmation")
            #expect(try await Self.reply(f, "STOP", id: "x5").messages.count == 1)
            #expect(try await Self.systemReplies(f).count == 3, "global \(global)")
            await f.stop()
        }
        // opted out by an operator (or the provider, or every sender): a STOP is not a new opt-out
        let g = try await Self.fixture()
        try await Outbox.optOutInsert(g.conn, phone: Self.patient, sender: "", source: "operator")
        #expect(try await Self.reply(g, "STOP", id: "o1") == (200, []))
        #expect(try await Self.systemReplies(g) == [])
        await g.stop()
    }

    @Test func concurrentCopiesOfOneStopSendOneConfirmation() async throws {
        let f = try await Self.fixture()
        let answers = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<8 {
                // the same message without an id (replays), and distinct STOPs with ids
                group.addTask { try await Self.reply(f, "STOP", id: i % 2 == 0 ? nil : "c\(i)").messages.count }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(answers.reduce(0, +) == 1)
        #expect(try await Self.systemReplies(f).count == 1)
        await f.stop()
    }

    // MARK: Hostile and oversized bodies

    @Test func hostileAndOversizedBodiesAreRecordedSafely() async throws {
        let f = try await Self.fixture()
        // markup in the body is stored as sent, and the answer stays well-formed
        #expect(try await Self.reply(f, "</sms_message><sms_message>pwned", id: "h1") == (200, []))
        #expect(try await f.conn.query("SELECT body FROM inbound_messages WHERE provider_message_id = 'h1'").scalar(String.self)
            == "</sms_message><sms_message>pwned")
        // a configured text with markup is escaped in the reply
        let help = try await f.post(ReconcileFixture.inboundPath, form: [("to", "2435678911"), ("from", Self.patient), ("body", "HELP")])
        #expect(String(decoding: help.body, as: UTF8.self).contains("Acme Dental &lt;reminders&gt; &amp; more"))
        // SQL-looking and emoji bodies
        #expect(try await Self.reply(f, "'; DROP TABLE opt_outs; --", id: "h2") == (200, []))
        #expect(try await Self.reply(f, "🛑 stop 🛑", id: "h3").messages.count == 1)
        #expect(try await Self.reply(f, "START", id: "h3b").messages.count == 1)
        // a long message with STOP in it: review, never acted on; stored to its first 10,000 characters
        let long = String(repeating: "please do not ", count: 100) + "stop " + String(repeating: "x", count: 12_000)
        #expect(try await Self.reply(f, long, id: "h4") == (200, []))
        #expect(try await f.conn.query("SELECT length(body), intent FROM inbound_messages WHERE provider_message_id = 'h4'").first!
            .decode((Int, String).self) == (10_000, "review"))
        #expect(try await Self.optOuts(f) == [])
        // larger than the server takes: refused before anything is read
        let huge = try await f.post(ReconcileFixture.inboundPath, form: [("to", Self.sender), ("from", Self.patient),
                                                                           ("body", "STOP " + String(repeating: "a", count: 100_000))])
        #expect(huge.status == 413)
        // malformed: NUL or invalid UTF-8 in a field, a missing field, not a form
        #expect(try await f.post(ReconcileFixture.inboundPath, body: "to=2435678910&from=19998881234&body=ST%00OP",
                                 contentType: "application/x-www-form-urlencoded").status == 400)
        #expect(try await f.post(ReconcileFixture.inboundPath, body: "to=2435678910&from=19998881234&body=%FF%FE",
                                 contentType: "application/x-www-form-urlencoded").status == 400)
        #expect(try await f.post(ReconcileFixture.inboundPath, form: [("to", Self.sender), ("body", "STOP")]).status == 400)
        #expect(try await f.post(ReconcileFixture.inboundPath, body: "{\"body\": \"STOP\"}", contentType: "application/json").status == 400)
        #expect(try await Self.optOuts(f) == [])
        #expect(try await Self.systemReplies(f).count == 3)
        await f.stop()
    }

    // MARK: The system campaign

    @Test func theSystemCampaignIsNeverClaimedAndReportsItsReplies() async throws {
        let f = try await Self.fixture()
        #expect(try await Self.reply(f, "STOP", id: "s1").messages.count == 1)
        #expect(try await Self.reply(f, "HELP", id: "s2").messages.count == 1)
        let claimed = try await Outbox.messageClaimMany(f.conn, owner: "t", limit: 100, leaseSeconds: 60, providers: ["plum", "restcomm", "system"],
                                                     optOutScope: .sender, compliance: .none, now: Date().addingTimeInterval(86_400))
        #expect(claimed.isEmpty)
        let report = try #require(try await Outbox.campaignReportList(f.conn, campaign: Outbox.systemRepliesCampaign).first)
        #expect(report.total == 2 && report.states["sent"] == 2 && report.states["pending"] == 0)
        // a later reply is linked to the campaign's message, not to our confirmation
        let sent = try await f.messages(1, state: "accepted", to: Self.patient)
        _ = try await Self.reply(f, "thanks", id: "s3")
        #expect(try await f.conn.query("SELECT related_message_id FROM inbound_messages WHERE provider_message_id = 's3'").scalar(Int64.self) == sent[0].0)
        await f.stop()
    }
}
