import Foundation
import Glibc
public import HTTP

// Socket-level helpers for the tests of HTTP servers: raw clients that send exact bytes, a
// lenient response reader, an echo router, and a port that refuses connections.

/// 127.0.0.1:`port`.
func loopbackAddress(port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
    return address
}

/// A failed socket call of a test client.
public struct SocketError: Error, CustomStringConvertible {
    public var call: String
    public var errno: Int32
    public var description: String { "\(call): errno \(errno)" }
}

/// Runs blocking work on its own thread (never on the cooperative pool) and awaits it.
public func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: body()) }
        thread.start()
    }
}

/// A raw TCP client for poking the server with exact bytes. Blocking calls run on own threads.
public final class RawClient: @unchecked Sendable {
    public let fd: Int32

    /// Connects to 127.0.0.1:port with a receive timeout.
    public init(port: Int, receiveTimeout: Double = 5) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = loopbackAddress(port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { close(fd); throw SocketError(call: "connect", errno: errno) }
        var tv = timeval(tv_sec: Int(receiveTimeout), tv_usec: Int((receiveTimeout - Double(Int(receiveTimeout))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var sendTimeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &sendTimeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Half-closes: the server sees end of input.
    public func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// Sends all bytes; returns how many went out before an error.
    @discardableResult
    public func send(_ bytes: [UInt8]) async -> Int {
        let fd = fd
        return await onThread {
            var sent = 0
            while sent < bytes.count {
                let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { break }
                sent += n
            }
            return sent
        }
    }

    @discardableResult
    public func send(_ text: String) async -> Int { await send(Array(text.utf8)) }

    /// Reads until `count` complete responses arrived, EOF, or the receive timeout.
    public func readResponses(_ count: Int) async -> [RawResponse] {
        let fd = fd
        return await onThread {
            var data: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let parsed = RawResponse.parseAll(data)
                if parsed.count >= count { return parsed }
                let n = recv(fd, &buffer, buffer.count, 0)
                if n <= 0 { return parsed }
                data += buffer[0..<n]
            }
        }
    }

    /// Reads until EOF or timeout; true when the peer closed the connection.
    public func readUntilClosed() async -> (bytes: [UInt8], closed: Bool) {
        let fd = fd
        return await onThread {
            var data: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n == 0 { return (data, true) }
                if n < 0 { return (data, errno == ECONNRESET) }
                data += buffer[0..<n]
            }
        }
    }
}

/// A response parsed leniently from raw bytes (Content-Length bodies only).
public struct RawResponse: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: String

    public static func parseAll(_ data: [UInt8]) -> [RawResponse] {
        var result: [RawResponse] = []
        var rest = data[...]
        while let headEnd = rest.firstRange(of: Array("\r\n\r\n".utf8)) {
            let head = String(decoding: rest[rest.startIndex..<headEnd.lowerBound], as: UTF8.self)
            var lines = head.components(separatedBy: "\r\n")
            let statusLine = lines.removeFirst().split(separator: " ")
            guard statusLine.count >= 2, let status = Int(statusLine[1]) else { break }
            var headers: [String: String] = [:]
            for line in lines {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            let length = Int(headers["content-length"] ?? "0") ?? 0
            guard rest[headEnd.upperBound...].count >= length else { break }
            let bodyEnd = headEnd.upperBound + length
            result.append(RawResponse(status: status, headers: headers, body: String(decoding: rest[headEnd.upperBound..<bodyEnd], as: UTF8.self)))
            rest = rest[bodyEnd...]
        }
        return result
    }
}

/// An echo router for server tests.
public func testRouter() -> HTTPRouter {
    var router = HTTPRouter()
    router.get("/hello") { _ in .text("hello") }
    router.post("/echo") { request in
        HTTPResponse(status: 200, headers: ["Content-Type": "application/octet-stream"], body: request.body)
    }
    router.post("/form") { request in
        guard let form = request.formFields() else { return .status(415) }
        return .text(form.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "&"))
    }
    router.post("/callbacks/plum/{token}") { request in .text("token=\(request.pathParameters["token"] ?? "")") }
    router.get("/slow") { request in
        let ms = Int(request.query["ms"] ?? "200") ?? 200
        try? await Task.sleep(for: .milliseconds(ms))
        return .text("slow \(ms)")
    }
    router.get("/seq/{n}") { request in
        // Later requests answer sooner, to check pipelined answers stay in order.
        let n = Int(request.pathParameters["n"] ?? "0") ?? 0
        try? await Task.sleep(for: .milliseconds(max(0, 50 - n * 10)))
        return .text("n=\(n)")
    }
    return router
}

public func startServer(_ configure: (inout HTTPServerConfiguration) -> Void = { _ in }) throws -> (HTTPServer, Int) {
    var configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0)
    configure(&configuration)
    let server = HTTPServer(configuration: configuration, router: testRouter())
    let port = try server.start()
    return (server, port)
}

/// A loopback port bound but not listening, held until `release`: connecting to it is
/// refused, and no parallel test can take it meanwhile (a port from a stopped server could be).
public final class RefusedPort: @unchecked Sendable {
    public let port: Int
    private let fd: Int32

    public init() {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = loopbackAddress(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    public func release() { close(fd) }
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
public func eventually(timeout: Duration = .seconds(20), every: Duration = .milliseconds(50),
                _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: every)
    }
    return try await condition()
}
