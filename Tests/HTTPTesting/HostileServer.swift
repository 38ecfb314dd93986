import Foundation
import Glibc
public import Support

/// A tiny HTTP server that answers whatever a test scripts, over plain blocking sockets: one
/// thread accepts, one thread per connection runs `handler(fd, index)`, then closes it.
public final class HostileServer: @unchecked Sendable {
    public let port: Int
    private let fd: Int32
    public let connections = LockedValue(0)

    public init(receiveBuffer: Int32? = nil, handler: @escaping @Sendable (Int32, Int) -> Void) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if var size = receiveBuffer {  // inherited by accepted sockets: the client's writes block soon
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = loopbackAddress(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else { close(fd); throw SocketError(call: "bind/listen", errno: errno) }
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

    public func stop() { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }

    /// Reads up to the end of a request head; nil at EOF first.
    public static func readHead(_ fd: Int32) -> String? {
        var data: [UInt8] = []
        var byte: UInt8 = 0
        while !data.ends(with: Array("\r\n\r\n".utf8)) {
            guard recv(fd, &byte, 1, 0) == 1 else { return nil }
            data.append(byte)
        }
        return String(decoding: data, as: UTF8.self)
    }

    @discardableResult
    public static func write(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }

    @discardableResult
    public static func write(_ fd: Int32, _ text: String) -> Bool { write(fd, Array(text.utf8)) }
}

extension Array where Element == UInt8 {
    public func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}
