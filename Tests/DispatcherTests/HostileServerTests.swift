import Foundation
import Glibc
import Testing
@testable import Dispatcher

/// A tiny HTTP server that answers whatever a test scripts, over plain blocking sockets: one
/// thread accepts, one thread per connection runs `handler(fd, index)`, then closes it.
final class HostileServer: @unchecked Sendable {
    let port: Int
    private let fd: Int32
    let connections = LockedValue(0)

    init(receiveBuffer: Int32? = nil, handler: @escaping @Sendable (Int32, Int) -> Void) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if var size = receiveBuffer {  // inherited by accepted sockets: the client's writes block soon
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = Socket.resolve(host: "127.0.0.1", port: 0)!
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else { close(fd); throw SystemError(call: "bind/listen", errno: errno) }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        self.port = Int(UInt16(bigEndian: actual.sin_port))
        let connections = connections
        Thread.detachNewThread {
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { if errno == EINTR { continue } else { return } }
                let index = connections.withLock { c -> Int in c += 1; return c }
                var noSigPipe = timeval(tv_sec: 60, tv_usec: 0)
                setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &noSigPipe, socklen_t(MemoryLayout<timeval>.size))
                Thread.detachNewThread {
                    handler(client, index)
                    close(client)
                }
            }
        }
    }

    func stop() { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }

    /// Reads up to the end of a request head; nil at EOF first.
    static func readHead(_ fd: Int32) -> String? {
        var data: [UInt8] = []
        var byte: UInt8 = 0
        while !data.ends(with: Array("\r\n\r\n".utf8)) {
            guard recv(fd, &byte, 1, 0) == 1 else { return nil }
            data.append(byte)
        }
        return String(decoding: data, as: UTF8.self)
    }

    @discardableResult
    static func write(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }

    @discardableResult
    static func write(_ fd: Int32, _ text: String) -> Bool { write(fd, Array(text.utf8)) }
}

extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}

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

    /// A `next_page_uri` on another port: paging stops with an error, and the other server never
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
