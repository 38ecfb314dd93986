import Foundation
import Glibc
import Testing
import HTTPTesting
import Support
@testable import HTTP

/// The HTTP client against servers that answer too much, too often, or point elsewhere.
@Suite struct HostileServerTests {
    static func client(_ transport: HTTPClient.Transport, maxBody: Int = 1 << 20) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.plainHTTPTransport = transport
        configuration.maxResponseBodyBytes = maxBody
        return HTTPClient(configuration: configuration)
    }

    static func invalid(_ error: HTTPClientError?) -> Bool {
        if case .invalidResponse = error { true } else { false }
    }

    /// A body larger than the limit, announced or not: refused as it arrives, on both transports.
    @Test(arguments: [HTTPClient.Transport.sockets, .urlSession], [true, false])
    func aHugeBodyIsRefused(transport: HTTPClient.Transport, announced: Bool) async throws {
        let server = try HostileServer { fd, _ in
            guard HostileServer.readHead(fd) != nil else { return }
            HostileServer.write(fd, announced ? "HTTP/1.1 200 OK\r\nContent-Length: 64000000\r\n\r\n"
                                              : "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
            let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 64 * 1024)
            for _ in 0..<(8 * 16) where HostileServer.write(fd, chunk) {}  // 8 MiB, until the client hangs up
        }
        defer { server.stop() }
        let client = Self.client(transport)
        let request = HTTPClientRequest(url: URL(string: "http://127.0.0.1:\(server.port)/big")!, timeout: .seconds(60))
        let error = await #expect(throws: HTTPClientError.self) { try await client.execute(request) }
        #expect(Self.invalid(error), "\(String(describing: error))")
        await client.shutdown()
    }

    /// 10,000 header fields: refused on both transports.
    @Test(arguments: [HTTPClient.Transport.sockets, .urlSession])
    func tenThousandHeadersAreRefused(transport: HTTPClient.Transport) async throws {
        let server = try HostileServer { fd, _ in
            guard HostileServer.readHead(fd) != nil else { return }
            var head = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
            for i in 0..<10_000 { head += "X-H\(i): v\r\n" }
            HostileServer.write(fd, head + "\r\nok")
            _ = HostileServer.readHead(fd)
        }
        defer { server.stop() }
        let client = Self.client(transport)
        let request = HTTPClientRequest(url: URL(string: "http://127.0.0.1:\(server.port)/headers")!, timeout: .seconds(60))
        let error = await #expect(throws: HTTPClientError.self) { try await client.execute(request) }
        #expect(Self.invalid(error), "\(String(describing: error))")
        await client.shutdown()
    }

    /// 100 Continue after 100 Continue, never a final answer: given up after a few, not at the
    /// request's timeout (and nothing piles up meanwhile).
    @Test func endlessInformationalAnswersAreRefused() async throws {
        let server = try HostileServer { fd, _ in
            guard HostileServer.readHead(fd) != nil else { return }
            for _ in 0..<60_000 {  // one a millisecond for a minute, until the client hangs up
                guard HostileServer.write(fd, "HTTP/1.1 100 Continue\r\n\r\n") else { return }
                usleep(1000)
            }
        }
        defer { server.stop() }
        let client = Self.client(.sockets)
        let request = HTTPClientRequest(url: URL(string: "http://127.0.0.1:\(server.port)/continue")!, timeout: .seconds(30))
        let error = await #expect(throws: HTTPClientError.self) { try await client.execute(request) }
        #expect(error == .invalidResponse("more than 10 informational (1xx) answers"))
        await client.shutdown()
    }

    /// An answer that comes before the whole request went out (an early error): the connection
    /// still owes the server the rest of the request, so it is not reused — the next request
    /// would be read as that rest.
    @Test func aConnectionIsNotReusedAfterAPartialWrite() async throws {
        let reused = LockedValue(false)
        let server = try HostileServer(receiveBuffer: 4096) { fd, index in
            guard HostileServer.readHead(fd) != nil else { return }
            if index > 1 {  // a fresh connection: answer it
                HostileServer.write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo")
                return
            }
            // Answer at once without reading the body, then read what comes and look for a
            // second request in it.
            HostileServer.write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nearly")
            var window: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n <= 0 { return }
                window = Array((window + buffer[0..<n]).suffix(64 * 1024 + 16))
                if String(decoding: window, as: UTF8.self).contains("GET /two ") {
                    reused.withLock { $0 = true }
                    HostileServer.write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo")
                    return
                }
            }
        }
        defer { server.stop() }
        let client = Self.client(.sockets)
        var first = HTTPClientRequest(method: "POST", url: URL(string: "http://127.0.0.1:\(server.port)/one")!, timeout: .seconds(60))
        first.body = [UInt8](repeating: UInt8(ascii: "b"), count: 32 << 20)
        let early = try await client.execute(first)
        #expect(early.bodyText == "early")
        let second = try await client.execute(HTTPClientRequest(url: URL(string: "http://127.0.0.1:\(server.port)/two")!, timeout: .seconds(60)))
        #expect(second.bodyText == "two")
        #expect(!reused.current, "the second request went out on the connection with the first one's body unsent")
        #expect(server.connections.current == 2)
        await client.shutdown()
    }

    /// A cancelled request ends at once and closes its connection (never returned to the pool
    /// with part of a request on the wire).
    @Test func aCancelledRequestClosesItsConnection() async throws {
        let sawHead = LockedValue(false)
        let sawClose = LockedValue(false)
        let server = try HostileServer { fd, _ in
            guard HostileServer.readHead(fd) != nil else { return }
            sawHead.withLock { $0 = true }
            var byte: UInt8 = 0
            if recv(fd, &byte, 1, 0) == 0 { sawClose.withLock { $0 = true } }  // never answers
        }
        defer { server.stop() }
        let client = Self.client(.sockets)
        let request = HTTPClientRequest(url: URL(string: "http://127.0.0.1:\(server.port)/hang")!, timeout: .seconds(45))
        let task = Task { try await client.execute(request) }
        #expect(await eventually { sawHead.current })
        task.cancel()
        let result = await task.result
        #expect(throws: HTTPClientError.connectionLostAfterSend("cancelled")) { try result.get() }
        #expect(await eventually { sawClose.current })
        await client.shutdown()
    }
}
