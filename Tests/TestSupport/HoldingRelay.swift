import Foundation
import Glibc

/// A relay between clients and the test PostgreSQL (Unix sockets both sides) that can hold
/// the server's answers back: once an answer carrying a chosen text passes (`hold(whenAnswerContains:)`),
/// that answer and every byte the server sends after it wait in the relay, and go on, in
/// order, once released. The server itself runs on: a statement answered while held has done
/// its work (taken its leases, at its own `now()`), and the client only learns of it later,
/// as a client frozen or starved at that moment would.
public final class HoldingRelay: @unchecked Sendable {
    /// The relay's socket directory and port, for a conninfo's `host` and `port`.
    public let directory: String
    public let port = 5432
    private let target: String
    private let listener: Int32
    private let condition = NSCondition()
    private var held = false
    private var trigger: [UInt8]?
    /// How many times a trigger started a hold.
    public private(set) var holds = 0
    private var stopped = false
    private var descriptors: [Int32] = []

    /// A relay to the server a conninfo names (`host=DIR port=N`).
    public init(server conninfo: String) throws {
        func field(_ name: String) -> String? {
            conninfo.split(separator: " ").first { $0.hasPrefix(name + "=") }.map { String($0.dropFirst(name.count + 1)) }
        }
        guard let host = field("host"), host.hasPrefix("/"), let serverPort = field("port") else {
            throw RelayError("a conninfo with a socket directory and a port: \(conninfo)")
        }
        target = "\(host)/.s.PGSQL.\(serverPort)"
        directory = NSTemporaryDirectory() + "relay-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0, Self.withAddress("\(directory)/.s.PGSQL.\(port)", { bind(listener, $0, $1) }) == 0,
              listen(listener, 64) == 0 else {
            throw RelayError("cannot listen in \(directory): errno \(errno)")
        }
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// `conninfo` with the relay's host and port in place of the server's.
    public func conninfo(_ conninfo: String) -> String {
        conninfo.split(separator: " ").map { part -> String in
            if part.hasPrefix("host=") { return "host=\(directory)" }
            if part.hasPrefix("port=") { return "port=\(port)" }
            return String(part)
        }.joined(separator: " ")
    }

    /// From the first answer that contains `text` (in one read), the server's answers wait in the relay.
    public func hold(whenAnswerContains text: String) {
        condition.lock()
        trigger = Array(text.utf8)
        condition.unlock()
    }

    /// What waited goes on, and so does everything after.
    public func release() { condition.lock(); held = false; condition.broadcast(); condition.unlock() }

    /// Closes the listener and every relayed connection.
    public func stop() {
        condition.lock()
        stopped = true
        held = false
        condition.broadcast()
        let all = descriptors
        descriptors = []
        condition.unlock()
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        for fd in all { shutdown(fd, Int32(SHUT_RDWR)) }
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit { stop() }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            let server = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            guard server >= 0, Self.withAddress(target, { connect(server, $0, $1) }) == 0 else {
                close(client)
                if server >= 0 { close(server) }
                continue
            }
            condition.lock()
            if stopped {
                condition.unlock()
                close(client)
                close(server)
                return
            }
            descriptors += [client, server]
            condition.unlock()
            Thread.detachNewThread { [self] in pump(from: client, to: server, holding: false) }
            Thread.detachNewThread { [self] in pump(from: server, to: client, holding: true) }
        }
    }

    /// Copies until either side closes; answers (`holding`) wait while held.
    private func pump(from source: Int32, to destination: Int32, holding: Bool) {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        defer {
            shutdown(source, Int32(SHUT_RDWR))
            shutdown(destination, Int32(SHUT_RDWR))
        }
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(source, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            if holding {
                condition.lock()
                if let t = trigger, Self.contains(buffer[0..<n], t) {
                    trigger = nil
                    held = true
                    holds += 1
                }
                while held && !stopped { condition.wait() }
                condition.unlock()
            }
            var sent = 0
            while sent < n {
                let m = buffer.withUnsafeBytes { send(destination, $0.baseAddress! + sent, n - sent, Int32(MSG_NOSIGNAL)) }
                if m < 0 && errno == EINTR { continue }
                if m <= 0 { return }
                sent += m
            }
        }
    }

    private static func contains(_ haystack: ArraySlice<UInt8>, _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        let base = haystack.startIndex
        for i in 0...(haystack.count - needle.count) where haystack[base + i] == needle[0] {
            if haystack[(base + i)..<(base + i + needle.count)].elementsEqual(needle) { return true }
        }
        return false
    }

    private static func withAddress(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return -1 }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }
}

public struct RelayError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
