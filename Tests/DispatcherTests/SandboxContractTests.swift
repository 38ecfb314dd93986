import Foundation
import Testing
@testable import Dispatcher
import Support
import HTTP
import Sandbox

/// The sandbox answers as the providers' documentation shows: every answer, list item and
/// callback has exactly the field names and JSON types of the documented example
/// (`Fixtures/seeds`), and the knobs switch on the other readings.
@Suite struct SandboxContractTests {
    // MARK: Plum

    @Test func plumQueueAnswerHasTheQueueExampleShape() async throws {
        let f = try SandboxFixture.start()
        let answer = try await f.plumRaw("POST", "/ws/sms/queue.json", form: [
            ("to", "2025550143"), ("from", "2435678910"), ("body", "This is a notification"),
            ("result_url", "http://127.0.0.1:9/cb/x"),
        ])
        #expect(answer.status == 200)
        #expect(try JSONShape(answer.body) == JSONShape(fixture: "plum-queue-200.json"))
        await f.stop()
    }

    @Test func plumStatusAnswerHasTheStatusExampleShapeOnceDelivered() async throws {
        let f = try SandboxFixture.start()
        let id = try #require(await f.plum().send(OutgoingSMS(from: "+12435678910", to: "+12025550143", body: "x")).providerID)
        let answer = try await f.plumRaw("GET", "/ws/sms/status.json/\(id)")
        #expect(try JSONShape(answer.body) == JSONShape(fixture: "plum-status-200.json"))
        await f.stop()
    }

    /// Sent, delivery not yet known: the status example without `delivery_status`.
    @Test func plumStatusAnswerHasNoDeliveryStatusUntilKnown() async throws {
        let f = try SandboxFixture.start { $0.deliveryDelayMin = 60; $0.deliveryDelayMax = 60 }
        let id = try #require(await f.plum().send(OutgoingSMS(from: "+12435678910", to: "+12025550143", body: "x")).providerID)
        let answer = try await f.plumRaw("GET", "/ws/sms/status.json/\(id)")
        let expected = try JSONShape(fixture: "plum-status-200.json").removing(["result", "delivery_status"])
        #expect(try JSONShape(answer.body) == expected)
        #expect(try await f.plum().status(id: id).state == .sent)
        await f.stop()
    }

    @Test func plumMessagesAnswerHasTheMessagesExampleShape() async throws {
        let f = try SandboxFixture.start()
        for to in ["+12025550143", "+12025550113", "+12025550116"] {  // delivered, undelivered, failed
            _ = await f.plum().send(OutgoingSMS(from: "+12435678910", to: to, body: "x"))
        }
        let answer = try await f.plumRaw("GET", "/ws/sms/messages.json?offset=0&limit=50&msg_type=outbound")
        let shape = try JSONShape(answer.body)
        #expect(shape == (try JSONShape(fixture: "plum-messages-200.json")))
        // every item, not only the first
        let items = try #require(JSONFields(data: answer.body)?.fields("result")?.array("sms_messages"))
        #expect(items.count == 3)
        #expect(items.allSatisfy { Set($0.members.map(\.key)) == ["sms_message_id", "to", "from", "body", "request_timestamp",
                                                          "response_timestamp", "result_url", "status"] })
        #expect(items.map { $0.string("status") } == ["sent", "sent", "failed"])
        await f.stop()
    }

    /// Failures are written byte for byte as the documentation writes them.
    @Test func plumFailureAnswersAreTheDocumentedBytes() async throws {
        let f = try SandboxFixture.start()
        func queue(_ to: String) async throws -> HTTPClientResponse {
            try await f.plumRaw("POST", "/ws/sms/queue.json", form: [("to", to), ("from", "2435678910"), ("body", "x")])
        }
        #expect(try await queue("20255501").body == (try Seed.bytes("plum-envelope-invalid-phone-number.json")))
        #expect(try await queue("2025550110").body == (try Seed.bytes("plum-envelope-invalid-phone-number.json")))
        #expect(try await queue("2025550111").body == (try Seed.bytes("plum-failure-unsubscribed.json")))
        let landline = String(decoding: try Seed.bytes("plum-failure-landline.json"), as: UTF8.self)
            .replacingOccurrences(of: "+1xxxxxxxxx", with: "+12025550112")
        #expect(try await queue("2025550112").body == Array(landline.utf8))
        // the envelope failure sample's layout, with the sandbox's own text
        let unauthorized = try await f.plumRaw("POST", "/ws/sms/queue.json", form: [("to", "2025550143")], password: "wrong")
        let sample = String(decoding: try Seed.bytes("plum-envelope-failure.json"), as: UTF8.self)
            .replacingOccurrences(of: "sample service", with: "sms service")
        #expect(unauthorized.status == 401 && unauthorized.body == Array(sample.utf8))
        await f.stop()
    }

    @Test func plumResultURLCallbackHasTheDocumentedFields() async throws {
        let receiver = CallbackReceiver()
        try await receiver.start()
        let f = try SandboxFixture.start()
        let url = await receiver.url!
        let ok = await f.plum().send(OutgoingSMS(from: "+12435678910", to: "+12025550143", body: "x", callbackURL: url))
        let failed = await f.plum().send(OutgoingSMS(from: "+12435678910", to: "+12025550116", body: "x", callbackURL: url))
        let forms = await receiver.waitFor(2)
        try await Task.sleep(for: .milliseconds(200))  // and nothing more: no delivery news by default
        #expect(await receiver.forms.count == 2)
        let sent = try #require(forms.first { $0["sms_message_id"] == ok.providerID })
        #expect(Set(sent.keys).subtracting(["_token"]) == Set(try Seed.form("plum-result-url-callback-sent.form").keys))
        #expect(sent["status"] == "sent")
        let failure = try #require(forms.first { $0["sms_message_id"] == failed.providerID })
        #expect(Set(failure.keys).subtracting(["_token"]) == Set(try Seed.form("plum-result-url-callback-failed.form").keys))
        #expect(failure["status"] == "failed")
        await f.stop()
        await receiver.stop()
    }

    // MARK: Restcomm

    @Test func restcommSendAnswerHasTheSendExampleShape() async throws {
        let f = try SandboxFixture.start()
        let answer = try await f.restcommRaw("POST", "/restcomm/2012-04-24/Accounts/ACsandbox/SMS/Messages.json",
                                             form: [("From", "19876543212"), ("To", "13216549878"), ("Body", "Test SMS")])
        #expect(answer.status == 201)
        #expect(try JSONShape(answer.body) == JSONShape(fixture: "restcomm-send-response.json"))
        await f.stop()
    }

    @Test func restcommGetAnswerHasTheGetExampleShape() async throws {
        let f = try SandboxFixture.start()
        let client = f.restcomm()
        let delivered = try #require(await client.send(OutgoingSMS(from: "+12435678910", to: "+12025550143", body: "x")).providerID)
        let answer = try await f.restcommRaw("GET", "/restcomm/2012-04-24/Accounts/ACsandbox/SMS/Messages/\(delivered).json")
        #expect(try JSONShape(answer.body) == JSONShape(fixture: "restcomm-get-response.json"))
        // failed or undelivered: the documented error_code (a number) and error_message are added
        let undelivered = try #require(await client.send(OutgoingSMS(from: "+12435678910", to: "+12025550113", body: "x")).providerID)
        let failedAnswer = try await f.restcommRaw("GET", "/restcomm/2012-04-24/Accounts/ACsandbox/SMS/Messages/\(undelivered).json")
        #expect(try JSONShape(failedAnswer.body)
                == JSONShape(fixture: "restcomm-get-response.json").adding(["error_code": .number, "error_message": .string]))
        await f.stop()
    }

    @Test func restcommListAnswerHasTheListExamplesShape() async throws {
        let f = try SandboxFixture.start()
        for i in 0..<3 { _ = await f.restcomm().send(OutgoingSMS(from: "+12435678910", to: "+12025550143", body: "m\(i)")) }
        let path = "/restcomm/2012-04-24/Accounts/ACsandbox/SMS/Messages.json?PageSize=2"
        let first = try await f.restcommRaw("GET", path)
        guard case .object(var envelope) = try JSONShape(first.body) else { Issue.record("not an object"); return }
        // the envelope: the "Limit" example's fields and types; its one message is elided
        guard case .object(var limit) = try JSONShape(fixture: "restcomm-list-limit.derived.json") else { return }
        let item = envelope.removeValue(forKey: "messages")
        limit.removeValue(forKey: "messages")
        #expect(envelope == limit)
        // the items: the first list example's
        guard case .object(let example) = try JSONShape(fixture: "restcomm-list-response.derived.json") else { return }
        #expect(item == example["messages"])
        // paging: first page's previous and last page's next are the string "null"
        let json = try #require(JSONFields(data: first.body))
        #expect(json["previous_page_uri"] == .string("null"))
        guard case .string(let next)? = json["next_page_uri"] else { Issue.record("no next_page_uri"); return }
        #expect(next.hasPrefix("/api/2012-04-24/Accounts/ACsandbox/SMS/Messages?") && next.contains("Page=1"))
        let second = try await f.restcommRaw("GET", next.replacingOccurrences(of: "/api/", with: "/restcomm/"))
        let last = try #require(JSONFields(data: second.body))
        #expect(last.array("messages").map { $0.string("body") } == ["m2"])
        #expect(last["next_page_uri"] == .string("null"))
        #expect(last["start"] == .string("2") && last["end"] == .string("2"))
        await f.stop()
    }

    @Test func restcommStatusCallbacksHaveTheDocumentedFields() async throws {
        let receiver = CallbackReceiver()
        try await receiver.start()
        let f = try SandboxFixture.start()
        let url = await receiver.url!
        let ok = await f.restcomm().send(OutgoingSMS(from: "+12435678910", to: "+12025550143", body: "x", callbackURL: url))
        let bad = await f.restcomm().send(OutgoingSMS(from: "+12435678910", to: "+12025550113", body: "x", callbackURL: url))
        let forms = await receiver.waitFor(4)
        func keys(_ form: [String: String]?) -> Set<String> { Set(form?.keys ?? [:].keys).subtracting(["_token"]) }
        let okForms = forms.filter { $0["MessageSid"] == ok.providerID }
        let badForms = forms.filter { $0["MessageSid"] == bad.providerID }
        #expect(okForms.map { $0["MessageStatus"] } == ["sent", "delivered"])
        #expect(badForms.map { $0["MessageStatus"] } == ["sent", "undelivered"])
        #expect(keys(okForms.first) == keys(try Seed.form("restcomm-callback-sent.form")))
        #expect(keys(okForms.last) == keys(try Seed.form("restcomm-callback-delivered.form")))
        #expect(keys(badForms.first) == keys(try Seed.form("restcomm-callback-sent.form")))
        #expect(keys(badForms.last) == keys(try Seed.form("restcomm-callback-undelivered.form")))
        #expect(badForms.last?["ErrorCode"] == "30003")
        await f.stop()
        await receiver.stop()
    }

    // MARK: Knobs

    @Test func plumListDeliveryStatusKnob() async throws {
        let f = try SandboxFixture.start { $0.plumListDeliveryStatus = true }
        for to in ["+12025550143", "+12025550113", "+12025550116"] {
            _ = await f.plum().send(OutgoingSMS(from: "+12435678910", to: to, body: "x"))
        }
        let answer = try await f.plumRaw("GET", "/ws/sms/messages.json?msg_type=outbound")
        let items = try #require(JSONFields(data: answer.body)?.fields("result")?.array("sms_messages"))
        #expect(items.map { $0.string("delivery_status") } == ["delivered", "undelivered", nil])  // failed: no delivery
        #expect(try await f.plum().list(MessageFilter()).map(\.state) == [.delivered, .undelivered, .failed])
        // and not before delivery is known
        await f.sandbox.setKnobs({ var k = SandboxKnobs.perfect; k.plumListDeliveryStatus = true; k.deliveryDelayMin = 60; k.deliveryDelayMax = 60; return k }())
        _ = await f.plum().send(OutgoingSMS(from: "+12435678910", to: "+12025550144", body: "later"))
        let pending = try await f.plum().list(MessageFilter(to: "+12025550144"))
        #expect(pending.map(\.state) == [.sent] && pending.first?.deliveryStatus == nil)
        await f.stop()
    }

    @Test(arguments: [
        (SandboxKnobs.PlumCallbackDelivery.none, "+12025550143", [["status": "sent"]]),
        (.status, "+12025550143", [["status": "sent"], ["status": "delivered"]]),
        (.status, "+12025550113", [["status": "sent"], ["status": "undelivered"]]),
        (.deliveryStatus, "+12025550143", [["status": "sent"], ["status": "sent", "delivery_status": "delivered"]]),
        (.deliveryStatus, "+12025550113", [["status": "sent"], ["status": "sent", "delivery_status": "undelivered"]]),
        (.deliveryStatus, "+12025550116", [["status": "failed"]]),
    ])
    func plumCallbackDeliveryKnob(mode: SandboxKnobs.PlumCallbackDelivery, to: String, expected: [[String: String]]) async throws {
        let receiver = CallbackReceiver()
        try await receiver.start()
        let f = try SandboxFixture.start { $0.plumCallbackDelivery = mode; $0.deliveryDelayMin = 0.05; $0.deliveryDelayMax = 0.05 }
        let id = try #require(await f.plum().send(OutgoingSMS(from: "+12435678910", to: to, body: "x", callbackURL: await receiver.url!)).providerID)
        _ = await receiver.waitFor(expected.count)
        try await Task.sleep(for: .milliseconds(200))
        let forms = await receiver.forms.map { form in form.filter { $0.key != "_token" } }
        #expect(forms == expected.map { $0.merging(["sms_message_id": id]) { a, _ in a } })
        if mode == .deliveryStatus, let last = forms.last, expected.count == 2 {
            #expect(PlumClient.parseCallback(last)?.state == (to == "+12025550143" ? .delivered : .undelivered))
        }
        await f.stop()
        await receiver.stop()
    }

    @Test func deliveryCallbacksKnob() async throws {
        let receiver = CallbackReceiver()
        try await receiver.start()
        let f = try SandboxFixture.start { $0.deliveryCallbacks = false; $0.deliveryDelayMin = 0.05; $0.deliveryDelayMax = 0.05 }
        let url = await receiver.url!
        let ok = await f.restcomm().send(OutgoingSMS(from: "+12435678910", to: "+12025550143", body: "x", callbackURL: url))
        let blocked = await f.restcomm().send(OutgoingSMS(from: "+12435678910", to: "+12025550116", body: "x", callbackURL: url))
        _ = await receiver.waitFor(2)
        try await Task.sleep(for: .milliseconds(300))
        let forms = await receiver.forms
        #expect(forms.filter { $0["MessageSid"] == ok.providerID }.map { $0["MessageStatus"] } == ["sent"])
        #expect(forms.filter { $0["MessageSid"] == blocked.providerID }.map { $0["MessageStatus"] } == ["failed"])
        // delivery is still learnt by polling
        #expect(try await f.restcomm().status(id: ok.providerID!).state == .delivered)
        await f.stop()
        await receiver.stop()
    }

    @Test func callbacksKnobSilencesPlumToo() async throws {
        let receiver = CallbackReceiver()
        try await receiver.start()
        let f = try SandboxFixture.start { $0.callbacks = false; $0.plumCallbackDelivery = .status }
        _ = await f.plum().send(OutgoingSMS(from: "+12435678910", to: "+12025550143", body: "x", callbackURL: await receiver.url!))
        #expect(await receiver.waitFor(1, timeout: .milliseconds(300)).isEmpty)
        await f.stop()
        await receiver.stop()
    }

    @Test func newKnobsHaveDocumentedDefaultsAndAreSettable() async throws {
        for name in ["perfect", "realistic", "chaos"] {
            let k = try #require(SandboxKnobs.profile(named: name))
            #expect(!k.plumListDeliveryStatus && k.plumCallbackDelivery == .none && k.deliveryCallbacks, "\(name)")
        }
        var c = SandboxConfiguration()
        try c.setKnob("plum_callback_delivery", "delivery_status")
        try c.setKnob("plum_list_delivery_status", "true")
        try c.setKnob("delivery_callbacks", "false")
        #expect(c.knobs.plumCallbackDelivery == .deliveryStatus && c.knobs.plumListDeliveryStatus && !c.knobs.deliveryCallbacks)
        #expect(throws: SandboxConfigurationError.self) { try c.setKnob("plum_callback_delivery", "sometimes") }
        #expect(throws: SandboxConfigurationError.self) { try c.setKnob("delivery_callbacks", "maybe") }
        #expect(SandboxConfiguration.knobNames.isSuperset(of: ["plum_list_delivery_status", "plum_callback_delivery", "delivery_callbacks"]))
        let file = try SandboxConfiguration.load(json: Data("""
        {"profile": "perfect", "knobs": {"plum_callback_delivery": "status", "plum_list_delivery_status": true, "delivery_callbacks": false}}
        """.utf8))
        #expect(file.knobs.plumCallbackDelivery == .status && file.knobs.plumListDeliveryStatus && !file.knobs.deliveryCallbacks)

        // over HTTP: GET shows them, POST sets them
        let f = try SandboxFixture.start()
        let shown = try await f.http.execute(HTTPClientRequest(url: f.base.appending(path: "sandbox/knobs")))
        let knobs = try #require(JSONFields(data: shown.body))
        #expect(knobs.string("plum_callback_delivery") == "none")
        #expect(knobs["plum_list_delivery_status"] == .bool(false) && knobs["delivery_callbacks"] == .bool(true))
        var set = HTTPClientRequest(method: "POST", url: f.base.appending(path: "sandbox/knobs"))
        set.body = Array("{\"plum_callback_delivery\": \"delivery_status\", \"delivery_callbacks\": false}".utf8)
        #expect(try await f.http.execute(set).status == 200)
        #expect(await f.sandbox.store.knobs.plumCallbackDelivery == .deliveryStatus)
        #expect(await !f.sandbox.store.knobs.deliveryCallbacks)
        await f.stop()
    }
}

// MARK: Support

/// The names and JSON types of a JSON value, recursively; an array by its first element.
indirect enum JSONShape: Equatable, CustomStringConvertible {
    case object([String: JSONShape])
    case array(JSONShape?)
    case string, number, bool, null

    init(_ value: JSONValue) {
        switch value {
        case .object(let members):
            self = .object(Dictionary(members.map { ($0.key, JSONShape($0.value)) }, uniquingKeysWith: { _, last in last }))
        case .array(let items): self = .array(items.first.map(JSONShape.init))
        case .string: self = .string
        case .number: self = .number
        case .bool: self = .bool
        case .null: self = .null
        }
    }

    /// The shape of a JSON answer (the documentation's trailing commas tolerated).
    init(_ body: [UInt8]) throws {
        let fields = try #require(JSONFields(data: body), "not JSON: \(String(decoding: body, as: UTF8.self))")
        self.init(JSONValue.object(fields.members))
    }

    init(fixture: String) throws {
        try self.init(try Seed.bytes(fixture))
    }

    /// Without the key at `path` (objects only).
    func removing(_ path: [String]) -> JSONShape {
        guard case .object(var o) = self, let key = path.first else { return self }
        if path.count == 1 { o.removeValue(forKey: key) } else { o[key] = o[key]?.removing(Array(path.dropFirst())) }
        return .object(o)
    }

    /// With these top-level keys added.
    func adding(_ keys: [String: JSONShape]) -> JSONShape {
        guard case .object(let o) = self else { return self }
        return .object(o.merging(keys) { _, new in new })
    }

    var description: String {
        switch self {
        case .object(let o): "{" + o.keys.sorted().map { "\($0): \(o[$0]!)" }.joined(separator: ", ") + "}"
        case .array(let e): "[\(e.map(\.description) ?? "")]"
        case .string: "string"
        case .number: "number"
        case .bool: "bool"
        case .null: "null"
        }
    }
}

extension SandboxFixture {
    /// A raw Plum request (Basic auth), for the answer's bytes.
    func plumRaw(_ method: String, _ pathAndQuery: String, form: [(String, String)]? = nil,
                 password: String = "sandbox") async throws -> HTTPClientResponse {
        try await raw(method, pathAndQuery, form: form, user: "sandbox", password: password)
    }

    func restcommRaw(_ method: String, _ pathAndQuery: String, form: [(String, String)]? = nil) async throws -> HTTPClientResponse {
        try await raw(method, pathAndQuery, form: form, user: "ACsandbox", password: "sandbox")
    }

    private func raw(_ method: String, _ pathAndQuery: String, form: [(String, String)]?, user: String,
                     password: String) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(method: method, url: try #require(URL(string: base.absoluteString + pathAndQuery)))
        request.setBasicAuth(user: user, password: password)
        if let form { request.setForm(form) }
        return try await http.execute(request)
    }
}
