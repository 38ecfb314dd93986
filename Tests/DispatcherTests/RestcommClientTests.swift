import Foundation
import Testing
@testable import Dispatcher
import HTTP
import HTTPTesting
import Sandbox
import Support

@Suite struct RestcommClientTests {
    @Test func acceptedSendReturnsSid() async throws {
        let f = try SandboxFixture.start()
        let result = await f.restcomm().send(OutgoingSMS(from: "+12435678910", to: "+12025550143", body: "Hi"))
        guard case .accepted(let sid, let status) = result.outcome else { Issue.record("\(result)"); return }
        #expect(sid.hasPrefix("SM") && sid.count == 34)
        #expect(status == "queued")
        #expect(result.httpStatus == 201)
        #expect(await f.sandbox.store.message(id: sid)?.to == "+12025550143")
        let client = await f.restcomm().send(OutgoingSMS(from: "+12435678910", to: "client:alice", body: "SIP"))
        #expect(client.providerID != nil)
        await f.stop()
    }

    @Test(arguments: [
        ("+12025550110", ErrorCode.invalidNumber, "21211", ErrorAction.fail),
        ("+12025550111", .unsubscribed, "21610", .failAndOptOut),
        ("nonsense", .invalidNumber, "21211", .fail),
    ])
    func requestErrorsAreNormalised(to: String, code: ErrorCode, raw: String, action: ErrorAction) async throws {
        let f = try SandboxFixture.start()
        let result = await f.restcomm().send(OutgoingSMS(from: "+12435678910", to: to, body: "x"))
        #expect(result.failure?.code == code)
        #expect(result.failure?.rawCode == raw)
        #expect(result.failure?.httpStatus == 400)
        #expect(result.failure?.rule.action == action)
        await f.stop()
    }

    @Test func authFailureAndQueueOverflow() async throws {
        // one segment, refilled only after 1,000 s: the second send finds none however slowly it follows
        let f = try SandboxFixture.start { $0.segmentsPerSecond = 0.001; $0.burstSegments = 1 }
        let denied = await f.restcomm(token: "wrong").send(OutgoingSMS(from: "+12435678910", to: "+12025550143", body: "x"))
        #expect(denied.failure?.code == .authFailed && denied.failure?.httpStatus == 401)
        #expect(denied.failure?.rule.action == .haltAccount)
        let first = await f.restcomm().send(OutgoingSMS(from: "+12435678910", to: "+12025550143", body: "x"))
        #expect(first.providerID != nil)
        let second = await f.restcomm().send(OutgoingSMS(from: "+12435678910", to: "+12025550143", body: "x"))
        #expect(second.failure == ProviderFailure(code: .queueOverflow, rawCode: "30001", message: "Queue overflow", httpStatus: 429))
        #expect(second.failure?.rule == ErrorRule(.retry, slowsDown: true))
        await f.stop()
    }

    @Test func statusCarriesErrorCodes() async throws {
        let f = try SandboxFixture.start()
        let client = f.restcomm()
        func send(_ to: String) async -> String { await client.send(OutgoingSMS(from: "+12435678910", to: to, body: "x")).providerID! }
        let delivered = try await client.status(id: await send("+12025550143"))
        #expect(delivered.state == .delivered && delivered.failure == nil && delivered.segments == 1)
        #expect(delivered.createdAt != nil)
        let unreachable = try await client.status(id: await send("+12025550113"))
        #expect(unreachable.state == .undelivered)
        #expect(unreachable.failure?.rawCode == "30003" && unreachable.failure?.code == .unreachable)
        #expect(unreachable.failure?.rule == ErrorRule(.retry, maxRetries: 2))
        let suspended = try await client.status(id: await send("+12025550117"))
        #expect(suspended.state == .failed && suspended.failure?.rule.action == .haltAccount)
        let landline = try await client.status(id: await send("+12025550112"))
        #expect(landline.failure?.code == .landline && landline.failure?.rule.action == .fail)
        await #expect(throws: ProviderError.notFound) { try await client.status(id: "SMnope") }
        await f.stop()
    }

    @Test func listFollowsNextPageURIs() async throws {
        let f = try SandboxFixture.start()
        let client = f.restcomm()
        for i in 0..<25 { _ = await client.send(OutgoingSMS(from: "+12435678910", to: "+12025550143", body: "m\(i)")) }
        _ = await client.send(OutgoingSMS(from: "+12435678910", to: "+13035550100", body: "other"))
        let before = await f.sandbox.stats().requests
        let listed = try await client.list(MessageFilter(to: "+12025550143", from: "+12435678910",
                                                         start: Date().addingTimeInterval(-60), end: Date().addingTimeInterval(60), pageSize: 10))
        #expect(listed.map(\.body) == (0..<25).map { "m\($0)" })
        #expect(await f.sandbox.stats().requests - before == 3)
        #expect(try await client.list(MessageFilter(to: "+12025550143", pageSize: 10, maxResults: 12)).count == 12)
        await f.stop()
    }

    @Test func pageURIsResolveAgainstTheBase() {
        let client = RestcommClient(configuration: .init(baseURL: URL(string: "https://mycompany.restcomm.com/restcomm")!,
                                                         accountSID: "AC1", authToken: "t"), http: HTTPClient())
        let seed = "/api/2012-04-24/Accounts/AC1/SMS/Messages?Page=1&PageSize=10&AfterSid=SM5e62&Limit=10000"
        #expect(client.resolve(pageURI: seed)?.absoluteString
                == "https://mycompany.restcomm.com/restcomm/2012-04-24/Accounts/AC1/SMS/Messages.json?Page=1&PageSize=10&AfterSid=SM5e62&Limit=10000")
        #expect(client.resolve(pageURI: "/restcomm/2012-04-24/Accounts/AC1/SMS/Messages.json?Page=2")?.absoluteString
                == "https://mycompany.restcomm.com/restcomm/2012-04-24/Accounts/AC1/SMS/Messages.json?Page=2")
        #expect(RestcommClient.parseDate("Thu, 19 Nov 2015 07:21:35 -0500") == Date(timeIntervalSince1970: 1447935695))
        let callback = RestcommClient.parseCallback(["MessageSid": "SM1", "MessageStatus": "undelivered", "ErrorCode": "30005"])
        #expect(callback?.state == .undelivered && callback?.failure?.code == .unknownDestination)
    }

    /// A `next_page_uri` on another port (servers scripted with `HostileServer`): paging stops with an error, and the other server never
    /// sees a request (nor the account's credentials).
    @Test(arguments: ["http://127.0.0.1:OTHER/page2.json", "//127.0.0.1:OTHER/page2.json",
                      "http://127.0.0.1:OTHER/2012-04-24/Accounts/AC1/SMS/Messages.json?Page=1"])
    func aNextPageOnAnotherOriginIsRefused(next: String) async throws {
        let otherRequests = LockedValue([String]())
        let other = try HostileServer { fd, _ in
            guard let head = HostileServer.readHead(fd) else { return }
            otherRequests.withLock { $0.append(head) }
            HostileServer.write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 15\r\nConnection: close\r\n\r\n{\"messages\":[]}")
        }
        defer { other.stop() }
        let page = #"{"messages": [{"sid": "SM1", "status": "delivered"}], "next_page_uri": "\#(next.replacingOccurrences(of: "OTHER", with: String(other.port)))"}"#
        let base = try HostileServer { fd, _ in
            while HostileServer.readHead(fd) != nil {
                HostileServer.write(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(page.utf8.count)\r\n\r\n" + page)
            }
        }
        defer { base.stop() }
        let http = HTTPClient()
        let client = RestcommClient(configuration: .init(baseURL: URL(string: "http://127.0.0.1:\(base.port)/restcomm")!,
                                                         accountSID: "AC1", authToken: "secret-token"), http: http)
        let error = await #expect(throws: ProviderError.self) { try await client.list(MessageFilter(pageSize: 10, maxResults: 100)) }
        if case .invalidAnswer(let why)? = error { #expect(why.contains("another host")) } else { Issue.record("\(String(describing: error))") }
        #expect(otherRequests.current.isEmpty, "\(otherRequests.current)")
        await http.shutdown()
    }
}
