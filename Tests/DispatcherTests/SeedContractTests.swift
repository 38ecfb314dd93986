import Foundation
import Testing
@testable import Dispatcher
import Support
import HTTP

/// The provider documentation's examples (`Fixtures/seeds`, see its README) as a contract: the
/// clients read every response example served over HTTP, the callback parsers read every
/// callback form, and the sandbox answers with exactly the examples' fields and JSON types.
@Suite struct SeedContractTests {
    // MARK: Plum client against the documentation's answers

    @Test(arguments: ["plum-queue-200.json", "plum-queue-200.xml"])
    func plumQueueExampleIsAccepted(fixture: String) async throws {
        let server = try CannedServer.start { router in
            router.post("/ws/sms/queue.json") { _ in Seed.response(fixture) }
        }
        let result = await server.plum().send(OutgoingSMS(from: "+12435678910", to: "+19998881234", body: "This is a notification"))
        #expect(result.outcome == .accepted(providerID: "e7f41fdc813d481081ec2840d68838b5", status: "queued"))
        #expect(result.httpStatus == 200)
        await server.stop()
    }

    @Test(arguments: ["plum-status-200.json", "plum-status-200.xml"])
    func plumStatusExampleIsDelivered(fixture: String) async throws {
        let server = try CannedServer.start { router in
            router.get("/ws/sms/status.json/{id}") { _ in Seed.response(fixture) }
        }
        let message = try await server.plum().status(id: "e7f41fdc813d481081ec2840d68838b5")
        #expect(message == ProviderMessage(id: "e7f41fdc813d481081ec2840d68838b5", to: "19998881234", from: "2435678910",
                                           body: "This is a notification", status: "sent", deliveryStatus: "delivered",
                                           state: .delivered, createdAt: Date(timeIntervalSince1970: 1330464356)))
        await server.stop()
    }

    @Test(arguments: ["plum-messages-200.json", "plum-messages-200.xml"])
    func plumMessagesExampleLists(fixture: String) async throws {
        let server = try CannedServer.start { router in
            router.get("/ws/sms/messages.json") { _ in Seed.response(fixture) }
        }
        let listed = try await server.plum().list(MessageFilter())
        #expect(listed.map(\.id) == ["e7f41fdc813d481081ec2840d68838b5", "bf811cfb5e864a2793d9b6b81ec2185f"])
        #expect(listed.map(\.body) == ["This is a notification", "Resending notification"])
        #expect(listed.allSatisfy { $0.status == "sent" && $0.state == .sent && $0.deliveryStatus == nil })
        #expect(listed.map(\.createdAt) == [Date(timeIntervalSince1970: 1330464356), Date(timeIntervalSince1970: 1330464386)])
        #expect(server.requests == 1)  // total "2" (a string), fewer than the limit: one page
        await server.stop()
    }

    /// A conversation answer (offset/limit as strings, inbound items with `type`) read as a list:
    /// only the outbound messages are ours.
    @Test(arguments: ["plum-conversation-200.json", "plum-conversation-200.xml"])
    func plumConversationExampleListsOutboundOnly(fixture: String) async throws {
        let server = try CannedServer.start { router in
            router.get("/ws/sms/messages.json") { _ in Seed.response(fixture) }
        }
        let listed = try await server.plum().list(MessageFilter())
        #expect(listed.map(\.id) == ["4beb4b8ace954ff694bdadb8cca99ac9", "6b8e2bd2e9e5485d9123ec929f462efd"])
        #expect(listed.first?.body == "Thanks for visiting us today! Tell us how we did. Reply back with \"OK\", \"GOOD\", \"GREAT\" or \"EXCELLENT\".")
        #expect(listed.map(\.createdAt) == [Date(timeIntervalSince1970: 1594662276), Date(timeIntervalSince1970: 1594662313)])
        #expect(server.requests == 1)
        await server.stop()
    }

    @Test(arguments: [
        ("plum-envelope-failure.json", ErrorCode.authFailed, "Unauthorized access to sample service"),
        ("plum-envelope-failure.xml", .authFailed, "Unauthorized access to sample service"),
        ("plum-envelope-invalid-phone-number.json", .invalidNumber, "Invalid 'to' phone number"),
        ("plum-failure-unsubscribed.json", .unsubscribed, "Attempt to send to unsubscribed recipient"),
        ("plum-failure-landline.json", .landline, "To number: +1xxxxxxxxx, is not a mobile number"),
    ])
    func plumFailureExamplesAreNormalised(fixture: String, code: ErrorCode, text: String) async throws {
        let server = try CannedServer.start { router in
            router.post("/ws/sms/queue.json") { _ in Seed.response(fixture) }
            router.get("/ws/sms/status.json/{id}") { _ in Seed.response(fixture) }
        }
        let result = await server.plum().send(OutgoingSMS(from: "+12435678910", to: "+19998881234", body: "x"))
        #expect(result.failure == ProviderFailure(code: code, rawCode: text, message: text, httpStatus: 200))
        await #expect(throws: ProviderError.rejected(ProviderFailure(code: code, rawCode: text, message: text, httpStatus: 200))) {
            try await server.plum().status(id: "e7f41fdc813d481081ec2840d68838b5")
        }
        await server.stop()
    }

    /// The sample success envelopes carry no message: the send's outcome is unknown, not accepted.
    @Test(arguments: ["plum-envelope-success.json", "plum-envelope-success.xml"])
    func plumSampleSuccessEnvelopeWithoutMessageIsUnknown(fixture: String) throws {
        let response = HTTPClientResponse(status: 200, body: try Seed.bytes(fixture))
        #expect(PlumClient.sendOutcome(response) == .unknown("success answer without sms_message_id"))
        #expect(PlumClient.envelope(response.body)?.string("status") == "success")
        #expect(PlumClient.envelope(response.body)?.string("error") == "")
    }

    @Test func plumXMLReaderSkipsTheUnclosedLeaf() throws {
        let envelope = try #require(PlumXML.envelope(try Seed.bytes("plum-queue-200.xml")))
        let sms = try #require(envelope.fields("result")?.array("sms_messages").first)
        #expect(Set(sms.members.map(\.key)) == ["sms_message_id", "to", "from", "body", "request_timestamp", "status"])
        #expect(sms.string("status") == "queued" && sms.int("request_timestamp") == 1330464356)
        let entities = PlumXML.envelope(Array("<x><status>failure</status><error>a &amp; b &lt;c&gt; &#65;<![CDATA[<d>]]></error></x>".utf8))
        #expect(entities?.string("error") == "a & b <c> A<d>")
        #expect(PlumXML.envelope(Array("<html><body>oops</body></html>".utf8)) == nil)
        #expect(PlumXML.envelope(Array("not xml".utf8)) == nil)
    }

    // MARK: Restcomm client against the documentation's answers

    @Test(arguments: [
        ("restcomm-send-response.json", "SM5dd70f7ea54e47f1a49749debeec3f7f"),
        ("restcomm-send-client-response.json", "SM0e164269a83c4d5ea331ed83fad5837c"),
    ])
    func restcommSendExampleIsAccepted(fixture: String, sid: String) async throws {
        let server = try CannedServer.start { router in
            router.post("/restcomm/2012-04-24/Accounts/{account}/SMS/Messages.json") { _ in Seed.response(fixture, status: 201) }
        }
        let result = await server.restcomm().send(OutgoingSMS(from: "19876543212", to: "13216549878", body: "Test SMS"))
        #expect(result.outcome == .accepted(providerID: sid, status: "sending"))
        await server.stop()
    }

    @Test func restcommGetExampleIsDelivered() async throws {
        let server = try CannedServer.start { router in
            router.get("/restcomm/2012-04-24/Accounts/{account}/SMS/Messages/{sid}") { _ in Seed.response("restcomm-get-response.json") }
        }
        let message = try await server.restcomm().status(id: "SM6c13cca264f940a4b4573a49e8bdf917")
        #expect(message == ProviderMessage(id: "SM6c13cca264f940a4b4573a49e8bdf917", to: "4915739360736", from: "dev-test",
                                           body: "Another test from CPaaS", status: "delivered", state: .delivered,
                                           createdAt: Date(timeIntervalSince1970: 1562223748), segments: 1))
        await server.stop()
    }

    @Test func restcommListExampleLists() async throws {
        let server = try CannedServer.start { router in
            router.get("/restcomm/2012-04-24/Accounts/{account}/SMS/Messages.json") { _ in Seed.response("restcomm-list-response.derived.json") }
        }
        let listed = try await server.restcomm().list(MessageFilter(to: "13216549878", from: "19876543212"))
        #expect(listed == [ProviderMessage(id: "SM350df10671b64616a3bb92981967cecb", to: "13216549878", from: "19876543212",
                                           body: "Hello 13216549878", status: "sent", state: .sent,
                                           createdAt: Date(timeIntervalSince1970: 1527783032))])
        #expect(server.requests == 1)  // no next_page_uri at all: one page
        await server.stop()
    }

    /// The raw examples elide with `...`: not JSON, an invalid answer (never a crash or a loop).
    @Test(arguments: ["restcomm-list-response.raw.txt", "restcomm-list-limit.raw.txt"])
    func restcommElidedListIsAnInvalidAnswer(fixture: String) async throws {
        let server = try CannedServer.start { router in
            router.get("/restcomm/2012-04-24/Accounts/{account}/SMS/Messages.json") { _ in Seed.response(fixture) }
        }
        await #expect(throws: ProviderError.invalidAnswer("unreadable answer")) { try await server.restcomm().list(MessageFilter()) }
        await server.stop()
    }

    /// The "Limit" example's `next_page_uri` (rooted at /api, no .json, AfterSid) is followed; the
    /// next page ends the list with `next_page_uri` absent, null, or the string "null".
    @Test(arguments: [nil, "null", "\"null\"", "\"\""])
    func restcommLimitExamplePagesUntilNoNextPage(lastNext: String?) async throws {
        let get = String(decoding: try Seed.bytes("restcomm-get-response.json"), as: UTF8.self)
        let pageTwo = "{\"page\": 1, \"previous_page_uri\": \"null\", "
            + (lastNext.map { "\"next_page_uri\": \($0), " } ?? "") + "\"messages\": [\(get)]}"
        let server = try CannedServer.start { router in
            router.get("/restcomm/2012-04-24/Accounts/{account}/SMS/Messages.json") { request in
                if request.query["Page"] == "1" {
                    // the page the example's next_page_uri names, under the client's base
                    guard request.pathParameters["account"] == "ACxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                          request.query["AfterSid"] == "SM5e62e689fc204d41b6cfe4993a2d17cf" else { return .status(400) }
                    return .json(Data(pageTwo.utf8))
                }
                return Seed.response("restcomm-list-limit.derived.json")
            }
        }
        let listed = try await server.restcomm(account: "ACxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx").list(MessageFilter(pageSize: 10))
        #expect(listed.map(\.id) == ["SM6c13cca264f940a4b4573a49e8bdf917"])  // the elided `{}` is no message
        #expect(server.requests == 2)
        await server.stop()
    }

    // MARK: Callback forms

    @Test func plumResultURLCallbacksParse() throws {
        let sent = try #require(PlumClient.parseCallback(try Seed.form("plum-result-url-callback-sent.form")))
        #expect(sent.id == "e7f41fdc813d481081ec2840d68838b5" && sent.status == "sent" && sent.state == .sent)
        let failed = try #require(PlumClient.parseCallback(try Seed.form("plum-result-url-callback-failed.form")))
        #expect(failed.state == .failed)
    }

    @Test(arguments: [
        ("restcomm-callback-sent.form", ProviderMessage.State.sent, nil as String?),
        ("restcomm-callback-delivered.form", .delivered, nil),
        ("restcomm-callback-undelivered.form", .undelivered, "30003"),
    ])
    func restcommStatusCallbacksParse(fixture: String, state: ProviderMessage.State, errorCode: String?) throws {
        let message = try #require(RestcommClient.parseCallback(try Seed.form(fixture)))
        #expect(message.id == "SM5dd70f7ea54e47f1a49749debeec3f7f" && message.state == state)
        #expect(message.to == "13216549878" && message.from == "19876543212" && message.body == "Test SMS")
        #expect(message.failure?.rawCode == errorCode)
        if errorCode != nil { #expect(message.failure?.code == .unreachable) }
    }

    /// The documented request forms are what the clients send.
    @Test func clientsSendTheDocumentedRequestForms() async throws {
        let forms = LockedValue([String: [String: String]]())
        let server = try CannedServer.start { router in
            router.post("/ws/sms/queue.json") { request in
                forms.withLock { $0["plum"] = request.formFields() }
                return Seed.response("plum-queue-200.json")
            }
            router.post("/restcomm/2012-04-24/Accounts/{account}/SMS/Messages.json") { request in
                forms.withLock { $0["restcomm"] = request.formFields() }
                return Seed.response("restcomm-send-response.json", status: 201)
            }
        }
        _ = await server.plum().send(OutgoingSMS(from: "+12435678910", to: "+19998881234", body: "This is a notification"))
        _ = await server.restcomm().send(OutgoingSMS(from: "19876543212", to: "13216549878", body: "Test SMS",
                                                     callbackURL: URL(string: "http://status.callback.url")!))
        // The parameter table asks for a "10-digit phone number" while the curl example sends
        // 11 digits (19998881234): the client follows the table (the sandbox takes both).
        var plum = try #require(forms.current["plum"])
        #expect(plum.removeValue(forKey: "to") == "9998881234")
        var documented = try Seed.form("plum-queue-request.form")
        #expect(documented.removeValue(forKey: "to") == "19998881234")
        #expect(plum == documented)
        var restcomm = try #require(forms.current["restcomm"])
        #expect(restcomm.removeValue(forKey: "StatusCallbackMethod") == "POST")  // documented, optional
        #expect(restcomm == (try Seed.form("restcomm-send-request.form")))
        await server.stop()
    }
}

// MARK: Support

/// The contract fixtures (`Fixtures/seeds`).
enum Seed {
    static func bytes(_ name: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.resourceURL?.appending(path: "Fixtures/seeds/\(name)"))
        return Array(try Data(contentsOf: url))
    }

    /// A form fixture decoded as the callback routes decode a posted form.
    static func form(_ name: String) throws -> [String: String] {
        FormEncoding.decode(String(decoding: try bytes(name), as: UTF8.self))
    }

    /// The fixture as an answer (XML or JSON by name; the body byte for byte).
    static func response(_ name: String, status: Int = 200) -> HTTPResponse {
        guard let body = try? bytes(name) else { return .text("missing fixture \(name)\n", status: 500) }
        let type = name.hasSuffix(".xml") ? "application/xml" : "application/json"
        return HTTPResponse(status: status, headers: ["Content-Type": type], body: body)
    }
}

/// A local server answering canned bodies, counting requests; clients pointed at it.
final class CannedServer: Sendable {
    private let server: HTTPServer
    private let http = HTTPClient()
    private let count: LockedValue<Int>
    let base: URL

    private init(server: HTTPServer, base: URL, count: LockedValue<Int>) {
        self.server = server
        self.base = base
        self.count = count
    }

    static func start(_ routes: (inout HTTPRouter) -> Void) throws -> CannedServer {
        var routed = HTTPRouter()
        routes(&routed)
        let inner = routed
        let counted = LockedValue(0)
        var router = HTTPRouter()
        let handler: HTTPRouter.Handler = { request in
            counted.withLock { $0 += 1 }
            return await inner.handle(request)
        }
        // every path goes through the counter (up to 8 segments)
        for depth in 1...8 {
            let pattern = "/" + (0..<depth).map { "{p\($0)}" }.joined(separator: "/")
            router.get(pattern, handler)
            router.post(pattern, handler)
        }
        let server = HTTPServer(configuration: .init(host: "127.0.0.1", port: 0), router: router)
        let port = try server.start()
        return CannedServer(server: server, base: URL(string: "http://127.0.0.1:\(port)")!, count: counted)
    }

    /// Requests answered so far.
    var requests: Int { count.current }

    func plum() -> PlumClient {
        PlumClient(configuration: .init(baseURL: base, username: "username", password: "password", timeout: .seconds(5)), http: http)
    }

    func restcomm(account: String = "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX") -> RestcommClient {
        RestcommClient(configuration: .init(baseURL: base.appending(path: "restcomm"), accountSID: account, authToken: "token",
                                            timeout: .seconds(5)), http: http)
    }

    func stop() async {
        await server.stop()
        await http.shutdown()
    }
}
