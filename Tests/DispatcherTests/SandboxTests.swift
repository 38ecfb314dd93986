import Foundation
import Testing
@testable import Dispatcher
import Support
import HTTP
import HTTPTesting
@testable import Sandbox

@Suite struct SandboxTests {
    @Test func restcommCallbacksUseTheSeedFieldNames() async throws {
        let receiver = CallbackReceiver()
        try await receiver.start()
        let f = try SandboxFixture.start()
        let url = await receiver.url!
        let ok = await f.restcomm().send(OutgoingSMS(from: "+12435678910", to: "+12025550143", body: "Hi", callbackURL: url))
        let forms = await receiver.waitFor(2)
        try #require(forms.count == 2)
        #expect(forms.map { $0["MessageStatus"] } == ["sent", "delivered"])
        let first = try #require(forms.first)
        #expect(first["MessageSid"] == ok.providerID)
        #expect(first["AccountSid"] == "ACsandbox")
        #expect(first["From"] == "+12435678910" && first["To"] == "+12025550143" && first["Body"] == "Hi")
        #expect(first["ErrorCode"] == nil)
        #expect(first["_token"] == "tok123")
        #expect(RestcommClient.parseCallback(forms[1])?.state == .delivered)

        let bad = await f.restcomm().send(OutgoingSMS(from: "+12435678910", to: "+12025550113", body: "Hi", callbackURL: url))
        let more = await receiver.waitFor(4)
        let events = more.filter { $0["MessageSid"] == bad.providerID }
        #expect(events.map { $0["MessageStatus"] } == ["sent", "undelivered"])
        #expect(events.last?["ErrorCode"] == "30003")

        let blocked = await f.restcomm().send(OutgoingSMS(from: "+12435678910", to: "+12025550116", body: "Hi", callbackURL: url))
        let all = await receiver.waitFor(5)
        try await Task.sleep(for: .milliseconds(100))  // no delivery event follows a failed sent event
        let blockedEvents = await receiver.forms.filter { $0["MessageSid"] == blocked.providerID }
        #expect(blockedEvents.map { $0["MessageStatus"] } == ["failed"])
        #expect(blockedEvents.first?["ErrorCode"] == "30004")
        #expect(all.count == 5)
        #expect(await f.sandbox.stats().callbacksSent == 5)
        await f.stop()
        await receiver.stop()
    }

    @Test func plumCallbackCarriesIdAndLatestStatus() async throws {
        let receiver = CallbackReceiver()
        try await receiver.start()
        let f = try SandboxFixture.start()
        let result = await f.plum().send(OutgoingSMS(from: "+12435678910", to: "+12025550143", body: "Hi", callbackURL: await receiver.url!))
        let forms = await receiver.waitFor(1)
        #expect(forms.count == 1)
        #expect(forms.first?["sms_message_id"] == result.providerID)
        #expect(forms.first?["status"] == "sent")
        #expect(Set(forms.first!.keys) == ["sms_message_id", "status", "_token"])
        await f.stop()
        await receiver.stop()
    }

    @Test func duplicateAndOutOfOrderCallbackKnobs() async throws {
        let receiver = CallbackReceiver()
        try await receiver.start()
        let f = try SandboxFixture.start { $0.duplicateCallbackRate = 1; $0.outOfOrderCallbackRate = 1; $0.deliveryDelayMin = 0.05; $0.deliveryDelayMax = 0.05 }
        _ = await f.restcomm().send(OutgoingSMS(from: "+12435678910", to: "+12025550143", body: "Hi", callbackURL: await receiver.url!))
        let forms = await receiver.waitFor(4)
        #expect(forms.map { $0["MessageStatus"] } == ["delivered", "delivered", "sent", "sent"])
        await f.stop()
        await receiver.stop()
    }

    @Test func callbacksOffKnob() async throws {
        let receiver = CallbackReceiver()
        try await receiver.start()
        let f = try SandboxFixture.start { $0.callbacks = false }
        let result = await f.restcomm().send(OutgoingSMS(from: "+12435678910", to: "+12025550143", body: "Hi", callbackURL: await receiver.url!))
        #expect(result.providerID != nil)
        let forms = await receiver.waitFor(1, timeout: .milliseconds(300))
        #expect(forms.isEmpty)
        #expect(await f.sandbox.stats().callbacksSent == 0)
        await f.stop()
        await receiver.stop()
    }

    /// Like a provider's webhook dispatcher, the sandbox keeps at most 64 callbacks in flight
    /// (a burst must not open a connection per callback) and still posts each message's
    /// events in order.
    @Test func callbacksInFlightAreCappedAndStayInOrderPerMessage() async throws {
        let receiver = CallbackReceiver()
        try await receiver.start(answerDelay: .milliseconds(100))
        let f = try SandboxFixture.start()
        let count = 150
        for i in 0..<count {
            let result = await f.restcomm().send(OutgoingSMS(from: "+12435678910", to: "+12025550143", body: "burst \(i)",
                                                             callbackURL: await receiver.url!))
            #expect(result.providerID != nil)
        }
        let forms = await receiver.waitFor(2 * count, timeout: .seconds(30))
        #expect(forms.count == 2 * count)
        #expect(await receiver.maxInFlight <= 64)
        #expect(await receiver.maxInFlight > 1)
        let bySid = Dictionary(grouping: forms, by: { $0["MessageSid"] ?? "" })
        #expect(bySid.count == count)
        #expect(bySid.values.allSatisfy { $0.map { $0["MessageStatus"] } == ["sent", "delivered"] })
        #expect(await f.sandbox.stats().callbacksFailed == 0)
        await f.stop()
        await receiver.stop()
    }

    @Test func failedCallbackIsCountedAndLoggedWithoutItsToken() async throws {
        // a port nothing listens on: the callback's connection is refused
        let refused = RefusedPort()
        defer { refused.release() }
        let port = refused.port
        let lines = LockedValue([String]())
        var configuration = SandboxConfiguration(knobs: .perfect)
        configuration.logger = Logger(label: "sandbox", sink: { line in lines.withLock { $0.append(line) } })
        let sandbox = SandboxServer(configuration: configuration)
        let sandboxPort = try sandbox.start()
        let http = HTTPClient()
        let client = RestcommClient(configuration: .init(baseURL: URL(string: "http://127.0.0.1:\(sandboxPort)/restcomm")!,
                                                         accountSID: "ACsandbox", authToken: "sandbox"), http: http)
        let url = URL(string: "http://127.0.0.1:\(port)/callbacks/restcomm/SecretToken0123456789ab")!
        let result = await client.send(OutgoingSMS(from: "+12435678910", to: "+12025550143", body: "Hi", callbackURL: url))
        #expect(result.providerID != nil)
        #expect(await eventually(timeout: .seconds(10)) { await sandbox.stats().callbacksFailed == 2 })
        let logged = lines.current
        #expect(logged.count == 2)
        #expect(logged.allSatisfy { $0.contains("callback to 127.0.0.1:\(port) failed: no connection") })
        #expect(!logged.contains { $0.contains("SecretToken") })
        await sandbox.stop()
        await http.shutdown()
    }

    @Test func deliveryDelayKnob() async throws {
        let f = try SandboxFixture.start { $0.sentDelay = 1; $0.deliveryDelayMin = 2; $0.deliveryDelayMax = 2 }
        let client = f.restcomm()
        let id = try #require(await client.send(OutgoingSMS(from: "+12435678910", to: "+12025550143", body: "x")).providerID)
        // The stages follow the knobs on the sandbox's own clock (a loaded machine's status
        // calls may come late, so each stage is read at a chosen instant, not raced).
        let message = try #require(await f.sandbox.store.message(id: id))
        #expect(message.sentAfter == 1)
        #expect(message.finalAfter == 2)  // delivery delay counts from acceptance
        #expect(message.status(at: message.acceptedAt.addingTimeInterval(0.5)).restcomm == "queued")
        #expect(message.status(at: message.acceptedAt.addingTimeInterval(1.5)).restcomm == "sent")
        #expect(message.status(at: message.acceptedAt.addingTimeInterval(2.5)).restcomm == "delivered")
        // and the API answers with one of those stages
        #expect(["queued", "sent", "delivered"].contains(try await client.status(id: id).status))
        await f.stop()
    }

    @Test func statsCountDuplicateAccepts() async throws {
        let f = try SandboxFixture.start()
        let message = OutgoingSMS(from: "+12435678910", to: "+12025550143", body: "same")
        _ = await f.plum().send(message)
        _ = await f.plum().send(message)
        _ = await f.plum().send(OutgoingSMS(from: "+12435678910", to: "+12025550144", body: "same"))
        _ = await f.restcomm().send(message)  // another API: not a duplicate
        _ = await f.plum().send(OutgoingSMS(from: "+12435678910", to: "+12025550111", body: "refused"))
        let stats = await f.sandbox.stats()
        #expect(stats.accepted == 4 && stats.duplicates == 1 && stats.refused == 1)
        #expect(stats.states == ["delivered": 4])

        let response = try await f.http.execute(HTTPClientRequest(url: f.base.appending(path: "sandbox/stats")))
        let json = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        #expect(json?["duplicates"] as? Int == 1)
        #expect(json?["accepted"] as? Int == 4)
        let listing = try await f.http.execute(HTTPClientRequest(url: URL(string: f.base.absoluteString + "/sandbox/messages?to=2025550143")!))
        let messages = (try JSONSerialization.jsonObject(with: Data(listing.body)) as? [String: Any])?["messages"] as? [[String: Any]]
        #expect(messages?.count == 2)
        #expect(messages?.first?["accept_count"] as? Int == 2)
        await f.stop()
    }

    @Test func knobsCanChangeWhileRunning() async throws {
        let f = try SandboxFixture.start()
        var request = HTTPClientRequest(method: "POST", url: f.base.appending(path: "sandbox/knobs"))
        request.body = Array("{\"server_error_rate\": 1}".utf8)
        #expect(try await f.http.execute(request).status == 200)
        #expect(await f.restcomm().send(OutgoingSMS(from: "+1", to: "+12025550143", body: "x")).failure?.code == .serverError)
        _ = try await f.http.execute(HTTPClientRequest(method: "POST", url: f.base.appending(path: "sandbox/reset")))
        #expect(await f.sandbox.stats().requests == 0)
        await f.stop()
    }

    @Test func profilesAndConfigurationFile() throws {
        #expect(SandboxKnobs.profile(named: "perfect") == .perfect)
        let realistic = try #require(SandboxKnobs.profile(named: "realistic"))
        #expect(realistic.serverErrorRate > 0 && realistic.serverErrorRate <= 0.02)
        #expect(realistic.deliveryDelayMin >= 0.1 && realistic.deliveryDelayMax <= 0.5)
        #expect(SandboxKnobs.profile(named: "chaos")!.serverErrorRate > realistic.serverErrorRate)
        #expect(SandboxKnobs.profile(named: "nope") == nil)
        let file = """
        {"listen": "127.0.0.1:9999", "profile": "chaos", "plum": {"username": "u"},
         "knobs": {"server_error_rate": 0.5, "callbacks": false}}
        """
        let configuration = try SandboxConfiguration.load(json: Data(file.utf8))
        #expect(configuration.port == 9999 && configuration.plumUsername == "u" && configuration.plumPassword == "sandbox")
        #expect(configuration.knobs.serverErrorRate == 0.5 && !configuration.knobs.callbacks)
        #expect(configuration.knobs.outOfOrderCallbackRate == SandboxKnobs.chaos.outOfOrderCallbackRate)
        var c = SandboxConfiguration()
        #expect(throws: SandboxConfigurationError.self) { try c.setKnob("no_such_knob", "1") }
        #expect(throws: SandboxConfigurationError.self) { try c.setKnob("seed", "abc") }
    }

    @Test func testNumberTable() {
        #expect(SandboxTestNumbers.fate(to: "+12025550143", plum: true) == .delivered)
        #expect(SandboxTestNumbers.fate(to: "+12025550115", plum: false) == .undelivered(restcommCode: 30006))
        #expect(SandboxTestNumbers.fate(to: "+12025550121", plum: false) == .failed(restcommCode: 30010))
        #expect(SandboxMessage.segments(of: String(repeating: "a", count: 160)) == 1)
        #expect(SandboxMessage.segments(of: String(repeating: "a", count: 300)) == 2)
        #expect(SandboxMessage.segments(of: String(repeating: "é", count: 71)) == 2)
    }
}
