import Foundation
import Store
import TestSupport
import Testing
@testable import Dispatcher
#if canImport(FoundationXML)
import FoundationXML
import Support
import HTTP
import Sandbox
#endif

/// A dispatcher-side HTTP server with the reconciliation routes, over a test database.
struct ReconcileFixture {
    let db: TestDatabase
    let conn: Connection
    let pool: ConnectionPool
    let metrics: Metrics
    let applier: ReportApplier
    let server: HTTPServer
    let base: URL
    let client: HTTPClient

    /// The inbound key of the fixture's `plum` account: `/inbound/plum/\(inboundKey)`.
    static let inboundKey = "fixture-inbound-key-0123456789abcdef"
    static var inboundPath: String { "/inbound/plum/\(inboundKey)" }

    static func start(optOutScope: OptOutScope = .sender, stopReply: String? = nil,
                      messageCountsMaxAge: Duration = .seconds(5), healthMaxAge: Duration = .seconds(1),
                      inboundKeys: [String: Secret] = ["plum": Secret(inboundKey)],
                      senders: [String: String?] = ["+12435678910": nil],
                      compliance: ComplianceConfiguration? = nil) async throws -> ReconcileFixture {
        let db = try await TestPostgres.database()
        let pool = db.pool(maxConnections: 4)
        let metrics = Metrics()
        let applier = ReportApplier(pool: pool, metrics: metrics, logger: .silent)
        let ingest = CallbackIngest(pool: pool)
        var configuration = ReconcileRoutes.Configuration(accounts: ["plum": .plum, "restcomm": .restcomm])
        configuration.inboundKeys = inboundKeys
        configuration.senders = senders
        configuration.healthMaxAge = healthMaxAge
        configuration.optOutScope = optOutScope
        if let compliance { configuration.compliance = compliance }
        if let stopReply { configuration.stopReply = stopReply }
        configuration.messageCountsMaxAge = messageCountsMaxAge
        var router = HTTPRouter()
        ReconcileRoutes(pool: pool, ingest: ingest, metrics: metrics, configuration: configuration).register(on: &router)
        let server = HTTPServer(configuration: .init(host: "127.0.0.1", port: 0), router: router)
        let port = try server.start()
        return ReconcileFixture(db: db, conn: try await db.connect(), pool: pool, metrics: metrics, applier: applier, server: server,
                                base: URL(string: "http://127.0.0.1:\(port)")!, client: HTTPClient())
    }

    /// One campaign with `count` messages; returns (id, callback URL token `ID.TOKEN`) per message.
    func messages(_ count: Int, provider: String = "restcomm", state: String = "accepted", to: String = "+12025550143") async throws -> [(Int64, String)] {
        let campaign = try await conn.query("""
            INSERT INTO campaigns (name, provider, from_number) VALUES (\(UUID().uuidString), \(provider), '+12435678910') RETURNING id
            """).scalar(Int64.self)!
        var out: [(Int64, String)] = []
        for i in 0..<count {
            let pmid: String? = state == "accepted" ? "SM\(campaign)x\(i)" : nil
            let row = try await conn.query("""
                INSERT INTO messages (campaign_id, external_id, state, provider, from_number, to_number, segments, due_at,
                                      next_attempt_at, provider_message_id, accepted_at)
                VALUES (\(campaign), \("m\(i)"), \(state), \(provider), '+12435678910', \(to), 1, now(), now(), \(pmid),
                        CASE WHEN \(state) = 'accepted' THEN now() END)
                RETURNING id, id || '.' || callback_token
                """).first!
            out.append(try row.decode((Int64, String).self))
        }
        return out
    }

    func post(_ path: String, form: [(String, String)]? = nil, body: String? = nil, contentType: String? = nil) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(method: "POST", url: base.appending(path: path))
        if let form { request.setForm(form) }
        if let body {
            request.body = Array(body.utf8)
            if let contentType { request.headers.set("Content-Type", contentType) }
        }
        return try await client.execute(request)
    }

    func state(_ id: Int64) async throws -> (String, String?, String?) {
        try await conn.query("SELECT state, error_code, error_class FROM messages WHERE id = \(id)").first!.decode((String, String?, String?).self)
    }

    func stop() async {
        await server.stop()
        await client.shutdown()
    }
}

@Suite struct ReconcileTests {
    @Test func callbacksMoveForwardOnlyAndEveryOneIsAnEvent() async throws {
        let f = try await ReconcileFixture.start()
        let (id, token) = try await f.messages(1)[0]
        let sid = try await f.conn.query("SELECT provider_message_id FROM messages WHERE id = \(id)").scalar(String.self)!
        func restcomm(_ status: String, code: String? = nil) async throws -> Int {
            var form = [("MessageSid", sid), ("MessageStatus", status), ("AccountSid", "ACsandbox"), ("From", "+12435678910"), ("To", "+12025550143")]
            if let code { form.append(("ErrorCode", code)) }
            return try await f.post("/callbacks/restcomm/\(token)", form: form).status
        }
        #expect(try await restcomm("sent") == 200)
        try await f.applier.applyAvailable()
        #expect(try await f.state(id).0 == "sent")
        #expect(try await restcomm("delivered") == 200)
        #expect(try await restcomm("delivered") == 200)     // duplicate
        #expect(try await restcomm("sent") == 200)          // late, out of order
        #expect(try await restcomm("undelivered", code: "30006") == 200)  // a second, conflicting final state
        try await f.applier.applyAvailable()
        #expect(try await f.state(id).0 == "delivered")
        let events = try await f.conn.query("""
            SELECT coalesce(from_state, '') || '>' || coalesce(to_state, '') || ' ' || split_part(detail, ';', 1)
              FROM message_events WHERE message_id = \(id) ORDER BY id
            """).map { try $0.decode(String.self, at: 0) }
        #expect(events == [
            "accepted>sent applied", "sent>delivered applied", "> duplicate: message is already delivered",
            "> stale: message is already delivered", "> conflict: delivered was recorded first and stands",
        ])
        #expect(events.filter { $0.contains("applied") }.count == 2)
        // every event keeps the raw fields
        #expect(try await f.conn.query("SELECT count(*) FROM message_events WHERE message_id = \(id) AND detail LIKE '%MessageSid=%'").scalar(Int.self) == 5)
        await f.stop()
    }

    @Test func undeliveredKeepsItsErrorCodeAndAConflictingFinalIsOnlyAnEvent() async throws {
        let f = try await ReconcileFixture.start()
        let (id, token) = try await f.messages(1)[0]
        let sid = try await f.conn.query("SELECT provider_message_id FROM messages WHERE id = \(id)").scalar(String.self)!
        _ = try await f.post("/callbacks/restcomm/\(token)", form: [("MessageSid", sid), ("MessageStatus", "undelivered"), ("ErrorCode", "30006")])
        try await f.applier.applyAvailable()
        _ = try await f.post("/callbacks/restcomm/\(token)", form: [("MessageSid", sid), ("MessageStatus", "delivered")])
        try await f.applier.applyAvailable()
        let (state, code, cls) = try await f.state(id)
        #expect(state == "undelivered")
        #expect(code == "30006")
        #expect(cls == "landline")
        #expect(try await f.conn.query("SELECT split_part(detail, ':', 1) FROM message_events WHERE source = 'callback' ORDER BY id DESC LIMIT 1").scalar(String.self) == "conflict")
        // applied reports leave the inbox; their events are their record
        #expect(try await f.conn.query("SELECT count(*) FROM callback_inbox").scalar(Int.self) == 0)
        await f.stop()
    }

    @Test func forgedAndMalformedCallbacksChangeNothing() async throws {
        let f = try await ReconcileFixture.start()
        let two = try await f.messages(2, provider: "plum")
        let (id, token) = two[0]
        let pmid = try await f.conn.query("SELECT provider_message_id FROM messages WHERE id = \(id)").scalar(String.self)!
        let other = try #require(CallbackKey(two[1].1))
        // unknown token, syntactically fine or hostile
        #expect(try await f.post("/callbacks/plum/AAAAAAAAAAAAAAAAAAAAAAAA", form: [("sms_message_id", pmid), ("status", "failed")]).status == 404)
        #expect(try await f.post("/callbacks/plum/\(id).AAAAAAAAAAAAAAAAAAAAAAAA", form: [("sms_message_id", pmid), ("status", "failed")]).status == 404)
        // this message's id with the other message's token, and the other way round
        #expect(try await f.post("/callbacks/plum/\(id).\(other.token)", form: [("sms_message_id", pmid), ("status", "failed")]).status == 404)
        let mine = try #require(CallbackKey(token))
        #expect(try await f.post("/callbacks/plum/\(other.messageID).\(mine.token)", form: [("sms_message_id", pmid), ("status", "failed")]).status == 404)
        // the bare token (URLs before migration 4) is not a key any more
        #expect(try await f.post("/callbacks/plum/\(mine.token)", form: [("sms_message_id", pmid), ("status", "failed")]).status == 404)
        #expect(try await f.post("/callbacks/plum/x'%3B%20DROP%20TABLE%20messages", form: [("sms_message_id", pmid), ("status", "failed")]).status == 404)
        // right token at the wrong provider's route
        #expect(try await f.post("/callbacks/restcomm/\(token)", form: [("MessageSid", pmid), ("MessageStatus", "failed")]).status == 404)
        // right token, someone else's provider id
        #expect(try await f.post("/callbacks/plum/\(token)", form: [("sms_message_id", "deadbeef"), ("status", "failed")]).status == 404)
        // malformed with the right key: not a form, missing fields
        #expect(try await f.post("/callbacks/plum/\(token)", body: "{\"status\":\"failed\"}", contentType: "application/json").status == 400)
        #expect(try await f.post("/callbacks/plum/\(token)", form: [("status", "failed")]).status == 400)
        #expect(try await f.post("/callbacks/plum/\(token)", form: [("sms_message_id", pmid)]).status == 400)
        #expect(try await f.post("/callbacks/plum/\(token)", body: String(repeating: "a", count: 70_000), contentType: "application/x-www-form-urlencoded").status == 413)
        try await f.applier.applyAvailable()
        #expect(try await f.state(id).0 == "accepted")
        #expect(try await f.conn.query("SELECT count(*) FROM callback_inbox").scalar(Int.self) == 0)
        // the mismatch is on the record, as a rejected callback
        #expect(try await f.conn.query("SELECT count(*) FROM message_events WHERE kind = 'callback_rejected'").scalar(Int.self) == 1)
        await f.stop()
    }

    @Test func theKeyIsJudgedBeforeTheBody() async throws {
        let f = try await ReconcileFixture.start()
        let (id, token) = try await f.messages(1, provider: "plum")[0]
        let mine = try #require(CallbackKey(token))
        let wrongKeys = ["/callbacks/plum/\(id).AAAAAAAAAAAAAAAAAAAAAAAA", "/callbacks/plum/AAAAAAAAAAAAAAAAAAAAAAAA",
                         "/callbacks/plum/\(id + 1000).\(mine.token)", "/callbacks/twilio/\(token)", "/callbacks/restcomm/\(token)"]
        for path in wrongKeys {
            // whatever the body: odd, empty, missing fields, an unknown status
            #expect(try await f.post(path, body: "{\"status\":\"failed\"}", contentType: "application/json").status == 404, "\(path)")
            #expect(try await f.post(path, body: "", contentType: "application/x-www-form-urlencoded").status == 404, "\(path)")
            #expect(try await f.post(path, form: [("status", "failed")]).status == 404, "\(path)")
            #expect(try await f.post(path, form: [("sms_message_id", "x"), ("status", "exploded")]).status == 404, "\(path)")
            #expect(try await f.post(path, form: [("MessageSid", "x")]).status == 404, "\(path)")
        }
        // only the right key earns a 400
        #expect(try await f.post("/callbacks/plum/\(token)", form: [("status", "failed")]).status == 400)
        #expect(try await f.conn.query("SELECT count(*) FROM message_events WHERE message_id = \(id)").scalar(Int.self) == 0)
        await f.stop()
    }

    @Test func anAuthenticatedCallbackWithAStatusNotUnderstoodIsKeptAndPolled() async throws {
        let f = try await ReconcileFixture.start()
        let (id, token) = try await f.messages(1, provider: "plum")[0]
        let pmid = try await f.conn.query("SELECT provider_message_id FROM messages WHERE id = \(id)").scalar(String.self)!
        try await f.conn.execute("UPDATE messages SET poll_next_at = now() + interval '1 hour' WHERE id = \(id)")
        let body = "sms_message_id=\(pmid)&status=exploded&extra=%C3%A9t%C3%A9"
        #expect(try await f.post("/callbacks/plum/\(token)", body: body, contentType: "application/x-www-form-urlencoded").status == 200)
        // "received" is a status Plum documents, but not one an outbound message moves by
        #expect(try await f.post("/callbacks/plum/\(token)", form: [("sms_message_id", pmid), ("status", "received")]).status == 200)
        try await f.applier.applyAvailable()
        #expect(try await f.state(id).0 == "accepted")
        let events = try await f.conn.query("""
            SELECT kind, provider_status, detail FROM message_events WHERE message_id = \(id) ORDER BY id
            """).map { try $0.decode((String, String?, String).self) }
        #expect(events.map(\.0) == ["callback", "callback"])
        #expect(events.map(\.1) == ["exploded", "received"])
        #expect(events[0].2.hasPrefix("not understood"))
        #expect(events[0].2.hasSuffix(body))   // the body as received
        // its status poll is due now, not in an hour
        #expect(try await f.conn.query("SELECT poll_next_at <= now() FROM messages WHERE id = \(id)").scalar(Bool.self) == true)
        // a wrong provider id is still refused, and recorded as such
        #expect(try await f.post("/callbacks/plum/\(token)", form: [("sms_message_id", "deadbeef"), ("status", "exploded")]).status == 404)
        await f.stop()
    }

    /// Plum posts "the most recent SMS status" to the result URL: a delivery status may come
    /// in `status` itself, or in `delivery_status` beside or instead of `status`.
    @Test(arguments: [
        ([("status", "delivered")], "delivered"),
        ([("status", "undelivered")], "undelivered"),
        ([("status", "unconfirmed")], "unconfirmed"),
        ([("status", "sent"), ("delivery_status", "delivered")], "delivered"),
        ([("status", "sent"), ("delivery_status", "undelivered")], "undelivered"),
        ([("delivery_status", "delivered")], "delivered"),
        ([("status", "sent")], "sent"),
        ([("status", "failed")], "failed"),
        ([("status", "queued")], "accepted"),
        ([("status", "DELIVERED")], "delivered"),
    ])
    func plumResultURLCarriesAnyStatusOfTheDocuments(fields: [(String, String)], expected: String) async throws {
        let f = try await ReconcileFixture.start()
        let (id, token) = try await f.messages(1, provider: "plum")[0]
        let pmid = try await f.conn.query("SELECT provider_message_id FROM messages WHERE id = \(id)").scalar(String.self)!
        #expect(try await f.post("/callbacks/plum/\(token)", form: [("sms_message_id", pmid)] + fields).status == 200)
        try await f.applier.applyAvailable()
        #expect(try await f.state(id).0 == expected)
        await f.stop()
    }

    @Test func anEarlyCallbackWaitsForItsProviderID() async throws {
        let f = try await ReconcileFixture.start()
        let (id, token) = try await f.messages(1, state: "sending")[0]
        #expect(try await f.post("/callbacks/restcomm/\(token)", form: [("MessageSid", "SMearly"), ("MessageStatus", "delivered")]).status == 200)
        try await f.applier.applyAvailable()
        #expect(try await f.state(id).0 == "sending")   // kept, not applied, not lost
        // the worker records the send's answer
        try await f.conn.execute("UPDATE messages SET state = 'accepted', provider_message_id = 'SMearly', accepted_at = now() WHERE id = \(id)")
        try await f.applier.applyAvailable()
        #expect(try await f.state(id).0 == "delivered")
        await f.stop()
    }

    @Test func manyCallbacksInParallelAreAllDurable() async throws {
        let f = try await ReconcileFixture.start()
        let messages = try await f.messages(200)
        let sids = try await f.conn.query("SELECT id, provider_message_id FROM messages").map { try $0.decode((Int64, String).self) }
        let sidOf = Dictionary(uniqueKeysWithValues: sids)
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for (id, token) in messages {
                group.addTask {
                    try await f.post("/callbacks/restcomm/\(token)", form: [("MessageSid", sidOf[id]!), ("MessageStatus", "delivered")]).status
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.allSatisfy { $0 == 200 })
        // acknowledged means stored, before any apply
        #expect(try await f.conn.query("SELECT count(*) FROM callback_inbox").scalar(Int.self) == 200)
        try await f.applier.applyAvailable()
        #expect(try await f.conn.query("SELECT count(*) FROM messages WHERE state = 'delivered'").scalar(Int.self) == 200)
        await f.stop()
    }

    @Test func inboundStopSuppressesAndStartReenables() async throws {
        let f = try await ReconcileFixture.start(stopReply: "Unsubscribed <ok> & \"done\"")
        _ = try await f.messages(1, state: "accepted", to: "+19998881234")
        let pending = try await f.messages(2, state: "pending", to: "+19998881234")
        let stop = try await f.post(ReconcileFixture.inboundPath, form: [("sms_message_id", "in1"), ("to", "2435678910"), ("from", "19998881234"), ("body", "  stop ")])
        #expect(stop.status == 200)
        let xml = String(decoding: stop.body, as: UTF8.self)
        #expect(xml.contains("<sms_message>Unsubscribed &lt;ok&gt; &amp; &quot;done&quot;</sms_message>"))
        #expect(Self.parsesAsXML(xml))
        #expect(try await f.conn.query("SELECT count(*) FROM opt_outs WHERE phone = '+19998881234' AND sender = '+12435678910'").scalar(Int.self) == 1)
        for (id, _) in pending { #expect(try await f.state(id).0 == "suppressed") }
        let inbound = try #require(try await f.conn.query("SELECT keyword, related_message_id IS NOT NULL FROM inbound_messages").first)
        #expect(try inbound.decode((String, Bool).self) == ("stop", true))
        // a retried delivery of the same inbound message changes nothing more
        #expect(try await f.post(ReconcileFixture.inboundPath, form: [("sms_message_id", "in1"), ("to", "2435678910"), ("from", "19998881234"), ("body", "STOP")]).status == 200)
        #expect(try await f.conn.query("SELECT count(*) FROM inbound_messages").scalar(Int.self) == 1)
        let start = try await f.post(ReconcileFixture.inboundPath, form: [("sms_message_id", "in2"), ("to", "2435678910"), ("from", "19998881234"), ("body", "Unstop")])
        #expect(String(decoding: start.body, as: UTF8.self).contains("<sms_message>"))
        #expect(try await f.conn.query("SELECT count(*) FROM opt_outs").scalar(Int.self) == 0)
        let confirm = try await f.post(ReconcileFixture.inboundPath, form: [("sms_message_id", "in3"), ("to", "2435678910"), ("from", "19998881234"),
                                                               ("body", "CONFIRM <script>&amp;</script>")])
        let confirmXML = String(decoding: confirm.body, as: UTF8.self)
        #expect(confirmXML.hasSuffix("<reply/>\n"))
        #expect(Self.parsesAsXML(confirmXML))
        #expect(try await f.conn.query("SELECT body FROM inbound_messages WHERE keyword = 'confirm'").scalar(String.self) == "CONFIRM <script>&amp;</script>")
        #expect(try await f.post(ReconcileFixture.inboundPath, form: [("to", "2435678910")]).status == 400)
        #expect(try await f.post(ReconcileFixture.inboundPath, body: "<xml/>", contentType: "application/xml").status == 400)
        await f.stop()
    }

    @Test func callbackKeysParseOnlyInTheirOneShape() {
        let key = CallbackKey("42.AbCdEfGhIjKlMnOp-_qrstuv")
        #expect(key == CallbackKey(messageID: 42, token: "AbCdEfGhIjKlMnOp-_qrstuv"))
        #expect(key?.description == "42.AbCdEfGhIjKlMnOp-_qrstuv")
        let token = String(repeating: "A", count: 24)
        for bad in ["", ".", "42", "42.", ".\(token)", "x42.\(token)", "-42.\(token)", "+42.\(token)", "0.\(token)",
                    "4 2.\(token)", "42.\(token).", "42.\(token)=", "42..\(token)", "42.\(String(repeating: "A", count: 15))",
                    "42.\(String(repeating: "A", count: 65))", "1234567890123456789.\(token)", "٤٢.\(token)", "42.\(token)é",
                    "42.\(token)%2F", "42.\(token)\u{0}", "42%2E\(token)"] {
            #expect(CallbackKey(bad) == nil, "\(bad)")
        }
        // the largest id it takes: 18 digits
        #expect(CallbackKey("123456789012345678.\(token)")?.messageID == 123_456_789_012_345_678)
    }

    @Test func stopWordsAreRecognisedInAnyCase() {
        let configuration = ReconcileRoutes.Configuration(accounts: [:])
        func intent(_ body: String) -> Outbox.InboundIntent { ReconcileRoutes.decision(body, sender: "+12435678910", configuration: configuration).intent }
        for body in ["STOP", "stop", " Stop ", "StopAll", "unsubscribe", "CANCEL", "end", "quit.", "STOP please"] {
            #expect(intent(body) == .optOut, "\(body)")
        }
        for body in ["START", "unstop", "Yes"] { #expect(intent(body) == .optIn, "\(body)") }
        for body in ["CONFIRM", "stopped", "non-stop", ""] { #expect(intent(body) != .optOut, "\(body)") }
    }

    @Test func healthAndMetrics() async throws {
        let f = try await ReconcileFixture.start()
        let (id, token) = try await f.messages(1)[0]
        _ = id
        _ = try await f.post("/callbacks/restcomm/\(token)", form: [("MessageSid", "nope"), ("MessageStatus", "sent")])
        var request = HTTPClientRequest(url: f.base.appending(path: "healthz"))
        #expect(try await f.client.execute(request).status == 200)
        request = HTTPClientRequest(url: f.base.appending(path: "metrics"))
        let text = String(decoding: try await f.client.execute(request).body, as: UTF8.self)
        #expect(text.contains("# TYPE dispatcher_messages gauge"))
        #expect(text.contains("dispatcher_messages{state=\"accepted\"} 1"))
        #expect(text.contains("dispatcher_callbacks_received_total{provider=\"restcomm\",verdict=\"id_mismatch\"} 1"))
        await f.stop()
    }

    /// Counting messages by state scans the outbox: scrapes within `messageCountsMaxAge` of
    /// the last count reuse it.
    @Test(arguments: [(Duration.seconds(600), 1), (.zero, 3)])
    func metricsCountMessagesAtMostOncePerMaxAge(maxAge: Duration, acceptedOnSecondScrape: Int) async throws {
        let f = try await ReconcileFixture.start(messageCountsMaxAge: maxAge)
        _ = try await f.messages(1)
        func scrape() async throws -> String {
            String(decoding: try await f.client.execute(HTTPClientRequest(url: f.base.appending(path: "metrics"))).body, as: UTF8.self)
        }
        #expect(try await scrape().contains("dispatcher_messages{state=\"accepted\"} 1\n"))
        _ = try await f.messages(2)
        #expect(try await scrape().contains("dispatcher_messages{state=\"accepted\"} \(acceptedOnSecondScrape)\n"))
        await f.stop()
    }

    static func parsesAsXML(_ text: String) -> Bool {
        let parser = XMLParser(data: Data(text.utf8))
        return parser.parse()
    }
}

@Suite struct PollerTests {
    /// Messages really accepted by the sandbox (callbacks off), recorded as accepted in the outbox.
    func acceptedAtSandbox(_ f: ReconcileFixture, _ sandbox: SandboxFixture, numbers: [String], provider: String) async throws -> [Int64: String] {
        let campaign = try await f.conn.query("""
            INSERT INTO campaigns (name, provider, from_number) VALUES (\(UUID().uuidString), \(provider), '+12435678910') RETURNING id
            """).scalar(Int64.self)!
        var ids: [Int64: String] = [:]
        for (i, number) in numbers.enumerated() {
            let client: any SMSProvider = provider == "plum" ? sandbox.plum() : sandbox.restcomm()
            let result = await client.send(OutgoingSMS(from: "+12435678910", to: number, body: "poll me \(i)"))
            guard case .accepted(let pid, _) = result.outcome else { Issue.record("not accepted: \(result)"); continue }
            let id = try await f.conn.query("""
                INSERT INTO messages (campaign_id, external_id, state, provider, from_number, to_number, segments, due_at,
                                      next_attempt_at, provider_message_id, accepted_at, poll_next_at)
                VALUES (\(campaign), \("p\(i)"), 'accepted', \(provider), '+12435678910', \(number), 1, now(), now(), \(pid), now(), now())
                RETURNING id
                """).scalar(Int64.self)!
            ids[id] = number
        }
        return ids
    }

    @Test(arguments: ["plum", "restcomm"])
    func pollingAloneReachesFinalStates(provider: String) async throws {
        let f = try await ReconcileFixture.start()
        let sandbox = try SandboxFixture.start { $0.callbacks = false }
        let numbers = ["+12025550100", "+12025550101", "+12025550113", "+12025550115", "+12025550199"]
        let ids = try await acceptedAtSandbox(f, sandbox, numbers: numbers, provider: provider)
        let client: any SMSProvider = provider == "plum" ? sandbox.plum() : sandbox.restcomm()
        let configuration = StatusPoller.Configuration(after: 0, giveUpAfter: 604_800)
        let poller = StatusPoller(pool: f.pool, providers: [provider: client], metrics: f.metrics, configuration: configuration, logger: .silent)
        try await Task.sleep(for: .milliseconds(100))  // the sandbox delivers (perfect profile: at once)
        #expect(try await poller.pollOnce() == numbers.count)
        try await f.applier.applyAvailable()
        for (id, number) in ids {
            let (state, code, _) = try await f.state(id)
            if number.hasSuffix("13") || number.hasSuffix("15") {
                #expect(state == "undelivered", "\(number)")
                if provider == "restcomm" { #expect(code == (number.hasSuffix("13") ? "30003" : "30006")) }
            } else {
                #expect(state == "delivered", "\(number)")
            }
        }
        #expect(f.metrics.counter("dispatcher_polls_total", ["provider": provider, "kind": "list"]) == 1)
        // finished messages are not polled again
        #expect(try await poller.pollOnce() == 0)
        await sandbox.stop()
        await f.stop()
    }

    /// The poll claim takes due messages in due order and skips (but reschedules) one that
    /// somehow lacks a provider id: there is nothing to ask the provider about.
    @Test func pollClaimTakesDueMessagesAndSkipsOneWithoutAProviderID() async throws {
        let f = try await ReconcileFixture.start()
        let ids = try await f.messages(3).map(\.0)
        try await f.conn.execute("""
            UPDATE messages SET poll_next_at = now() - make_interval(secs => id - \(ids[0]) + 1) WHERE id = ANY(\(ids))
            """)
        try await f.conn.execute("UPDATE messages SET provider_message_id = NULL WHERE id = \(ids[1])")
        let now = Date()
        let due = try await Outbox.messagePollClaimMany(f.conn, now: now, after: 60, limit: 10)
        #expect(Set(due.map(\.id)) == [ids[0], ids[2]])
        #expect(due.allSatisfy { !$0.providerMessageID.isEmpty })
        // all three are rescheduled: none is due again right away
        #expect(try await Outbox.messagePollClaimMany(f.conn, now: now, after: 60, limit: 10).isEmpty)
        await f.stop()
    }

    @Test func messagesPastTheWindowBecomeUnconfirmed() async throws {
        let f = try await ReconcileFixture.start()
        let ids = try await f.messages(3)
        try await f.conn.execute("UPDATE messages SET accepted_at = now() - interval '3 days', poll_next_at = now() + interval '1 hour'")
        let configuration = StatusPoller.Configuration(after: 120, giveUpAfter: 7 * 86_400)
        let later = Date().addingTimeInterval(5 * 86_400)  // an injected clock, 5 days on: 8 days since acceptance
        let poller = StatusPoller(pool: f.pool, providers: [:], metrics: f.metrics, configuration: configuration, logger: .silent, now: { later })
        try await poller.pollOnce()
        for (id, _) in ids { #expect(try await f.state(id).0 == "unconfirmed") }
        #expect(try await f.conn.query("SELECT count(*) FROM message_events WHERE to_state = 'unconfirmed' AND source = 'poll'").scalar(Int.self) == 3)
        // before the window is over nothing happens
        try await f.conn.execute("UPDATE messages SET state = 'accepted', final_at = NULL")
        let early = StatusPoller(pool: f.pool, providers: [:], metrics: f.metrics, configuration: configuration, logger: .silent, now: { Date() })
        try await early.pollOnce()
        for (id, _) in ids { #expect(try await f.state(id).0 == "accepted") }
        // the sweep runs at most once per giveUpInterval of the poller's clock
        let clock = LockedValue(Date())
        let sweeping = StatusPoller(pool: f.pool, providers: [:], metrics: f.metrics, configuration: configuration, logger: .silent,
                                    now: { clock.withLock { $0 } })
        try await sweeping.pollOnce()
        for (id, _) in ids { #expect(try await f.state(id).0 == "accepted") }
        clock.withLock { $0 = later }  // 5 days on, past the window: the interval has passed too
        try await sweeping.pollOnce()
        for (id, _) in ids { #expect(try await f.state(id).0 == "unconfirmed") }
        try await f.conn.execute("UPDATE messages SET state = 'accepted', final_at = NULL")
        clock.withLock { $0 = later.addingTimeInterval(configuration.giveUpInterval / 2) }
        try await sweeping.pollOnce()
        for (id, _) in ids { #expect(try await f.state(id).0 == "accepted") }
        clock.withLock { $0 = later.addingTimeInterval(configuration.giveUpInterval) }
        try await sweeping.pollOnce()
        for (id, _) in ids { #expect(try await f.state(id).0 == "unconfirmed") }
        await f.stop()
    }
}
