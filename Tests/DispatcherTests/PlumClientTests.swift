import Foundation
import Testing
@testable import Dispatcher
import HTTP
import HTTPTesting
import Sandbox

@Suite struct PlumClientTests {
    @Test func acceptedSendReturnsIdAndQueued() async throws {
        let f = try SandboxFixture.start()
        let result = await f.plum().send(OutgoingSMS(from: "+12435678910", to: "+12025550143", body: "Hi Ana"))
        guard case .accepted(let id, let status) = result.outcome else { Issue.record("\(result)"); return }
        #expect(id.count == 32 && id.allSatisfy(\.isHexDigit))
        #expect(status == "queued")
        #expect(result.httpStatus == 200)
        let stored = await f.sandbox.store.message(id: id)
        #expect(stored?.to == "2025550143")  // E.164 → Plum's 10 digits
        #expect(stored?.from == "2435678910")
        await f.stop()
    }

    @Test(arguments: [
        ("+12025550110", ErrorCode.invalidNumber, "Invalid 'to' phone number", ErrorAction.fail),
        ("+12025550111", .unsubscribed, "Attempt to send to unsubscribed recipient", .failAndOptOut),
        // the recipient's number in the text is not kept
        ("+12025550112", .landline, "To number: [number], is not a mobile number", .fail),
        ("+1202", .invalidNumber, "Invalid 'to' phone number", .fail),
    ])
    func failureEnvelopesAreNormalised(to: String, code: ErrorCode, text: String, action: ErrorAction) async throws {
        let f = try SandboxFixture.start()
        let result = await f.plum().send(OutgoingSMS(from: "+12435678910", to: to, body: "x"))
        #expect(result.failure?.code == code && result.failure?.httpStatus == 200)
        #expect(result.failure?.rawCode == text && result.failure?.message == text)
        #expect(result.failure?.rule.action == action)
        #expect(await f.sandbox.stats().accepted == 0)
        await f.stop()
    }

    @Test func wrongPasswordIsAuthFailureThatHaltsTheAccount() async throws {
        let f = try SandboxFixture.start()
        let result = await f.plum(password: "wrong").send(OutgoingSMS(from: "+12435678910", to: "+12025550143", body: "x"))
        #expect(result.failure?.code == .authFailed)
        #expect(result.failure?.httpStatus == 401)
        #expect(result.failure?.rule.action == .haltAccount)
        await #expect(throws: ProviderError.self) { try await f.plum(password: "wrong").status(id: "abc") }
        await f.stop()
    }

    @Test func statusReportsDeliveryOutcomes() async throws {
        let f = try SandboxFixture.start()
        let plum = f.plum()
        var ids: [String: String] = [:]
        for to in ["+12025550143", "+12025550113", "+12025550116", "+12025550118"] {
            ids[to] = await plum.send(OutgoingSMS(from: "+12435678910", to: to, body: "x")).providerID
        }
        let delivered = try await plum.status(id: ids["+12025550143"]!)
        #expect(delivered.state == .delivered && delivered.status == "sent" && delivered.deliveryStatus == "delivered")
        #expect(try await plum.status(id: ids["+12025550113"]!).state == .undelivered)
        #expect(try await plum.status(id: ids["+12025550116"]!).state == .failed)
        #expect(try await plum.status(id: ids["+12025550118"]!).state == .unconfirmed)
        await #expect(throws: ProviderError.notFound) { try await plum.status(id: "0123456789abcdef0123456789abcdef") }
        await f.stop()
    }

    @Test func listFollowsOffsetPagingAndFilters() async throws {
        let f = try SandboxFixture.start()
        let plum = f.plum()
        for i in 0..<120 {
            _ = await plum.send(OutgoingSMS(from: "+12435678910", to: "+12025550143", body: "m\(i)"))
        }
        _ = await plum.send(OutgoingSMS(from: "+12435678910", to: "+13035550100", body: "other"))
        let before = await f.sandbox.stats().requests
        let listed = try await plum.list(MessageFilter(to: "+12025550143", pageSize: 50))
        #expect(listed.count == 120)
        #expect(listed.map(\.body) == (0..<120).map { "m\($0)" })
        #expect(await f.sandbox.stats().requests - before == 3)  // 50 + 50 + 20
        let limited = try await plum.list(MessageFilter(to: "+12025550143", pageSize: 50, maxResults: 60))
        #expect(limited.count == 60)
        let future = try await plum.list(MessageFilter(to: "+12025550143", start: Date().addingTimeInterval(3600)))
        #expect(future.isEmpty)
        await f.stop()
    }

    @Test func serverErrorsAndRateLimits() async throws {
        let f = try SandboxFixture.start { $0.serverErrorRate = 1 }
        let result = await f.plum().send(OutgoingSMS(from: "+12435678910", to: "+12025550143", body: "x"))
        #expect(result.failure?.code == .serverError && result.httpStatus == 500)
        #expect(result.failure?.rule.action == .retry)
        await f.stop()

        let g = try SandboxFixture.start { $0.segmentsPerSecond = 0.5; $0.burstSegments = 2 }
        var codes: [ErrorCode?] = []
        for _ in 0..<3 { codes.append(await g.plum().send(OutgoingSMS(from: "+12435678910", to: "+12025550143", body: "x")).errorCode) }
        #expect(codes == [nil, nil, .rateLimited])
        let other = await g.plum().send(OutgoingSMS(from: "+12435678911", to: "+12025550143", body: "x"))
        #expect(other.providerID != nil)  // the limit is per sender
        #expect(ErrorPolicy.rule(for: .rateLimited).slowsDown)
        #expect(await g.sandbox.stats().rateLimited == 1)
        await g.stop()
    }

    /// The slow-answer knob accepts the message and answers too late: the client reports an
    /// unknown outcome, and the message can then be found in the list (reconciliation).
    @Test func slowAnswerIsUnknownOutcomeButMessageExists() async throws {
        let f = try SandboxFixture.start { $0.slowAnswerRate = 1; $0.slowAnswerDelay = 1 }
        let plum = f.plum(timeout: .milliseconds(200))
        let result = await plum.send(OutgoingSMS(from: "+12435678910", to: "+12025550143", body: "in doubt"))
        guard case .unknown = result.outcome else { Issue.record("\(result)"); return }
        #expect(result.errorCode == .timeout)
        #expect(await f.sandbox.stats().accepted == 1)
        let found = try await f.plum().list(MessageFilter(to: "+12025550143", from: "+12435678910"))
        #expect(found.map(\.body) == ["in doubt"])
        await f.stop()
    }

    @Test func closedPortIsNoConnection() async throws {
        // a port bound but not listening: a stopped server's port could be taken by another
        // test's server meanwhile (it once answered 404 here)
        let refused = RefusedPort()
        defer { refused.release() }
        let http = HTTPClient()
        let plum = PlumClient(configuration: .init(baseURL: URL(string: "http://127.0.0.1:\(refused.port)")!, username: "sandbox",
                                                   password: "sandbox", timeout: .seconds(5)), http: http)
        let result = await plum.send(OutgoingSMS(from: "+12435678910", to: "+12025550143", body: "x"))
        await http.shutdown()
        guard case .noConnection = result.outcome else { Issue.record("\(result)"); return }
        #expect(result.errorCode == .noConnection)
    }

    @Test func seedEnvelopesParse() {
        // The seed's examples, verbatim: a trailing comma, and doubled quotes.
        let trailing = HTTPClientResponse(status: 200, body: Array("{\n  \"status\":\"failure\",\n  \"error\":\"Invalid 'to' phone number\",\n}".utf8))
        #expect(PlumClient.sendOutcome(trailing) == .rejected(ProviderFailure(code: .invalidNumber, rawCode: "Invalid 'to' phone number", message: "Invalid 'to' phone number", httpStatus: 200)))
        let doubled = HTTPClientResponse(status: 200, body: Array("{\"status\":\"failure\",\"error\":\"\"Attempt to send to unsubscribed recipient\"\"}".utf8))
        #expect(PlumClient.sendOutcome(doubled).failureCode == .unsubscribed)
        let landline = HTTPClientResponse(status: 200, body: Array("{\"status\":\"failure\",\"error\":\"\"To number: +1xxxxxxxxx, is not a mobile number\"\"}".utf8))
        #expect(PlumClient.sendOutcome(landline).failureCode == .landline)
        let success = HTTPClientResponse(status: 200, body: Array("""
        {"status":"success","error":"","result":{"sms_messages":[{"sms_message_id":"e7f41fdc813d481081ec2840d68838b5","to":"19998881234","from":"2435678910","body":"This is a notification","request_timestamp":1330464356,"result_url":"http://myserver.com/storesmsresults.php","status":"queued"}]}}
        """.utf8))
        #expect(PlumClient.sendOutcome(success) == .accepted(providerID: "e7f41fdc813d481081ec2840d68838b5", status: "queued"))
        #expect(PlumClient.sendOutcome(HTTPClientResponse(status: 200, body: Array("<html>".utf8))) == .unknown("unreadable 200 answer"))
        #expect(PlumClient.plumNumber("+12025550143") == "2025550143")
        #expect(PlumClient.plumNumber("+442071838750") == "442071838750")
        #expect(PlumClient.parseCallback(["sms_message_id": "abc", "status": "sent"])?.state == .sent)
        #expect(PlumClient.parseCallback(["status": "sent"]) == nil)
    }
}

extension SendResult.Outcome {
    var failureCode: ErrorCode? {
        if case .rejected(let failure) = self { return failure.code }
        return nil
    }
}
