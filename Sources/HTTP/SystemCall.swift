internal import Glibc

/// A failed system call: its name and errno. Safe to log (no payload data).
public struct SystemError: Error, Equatable, CustomStringConvertible {
    public let call: String
    public let errno: Int32

    public var description: String {
        "\(call): \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

/// The result of a call on a non-blocking descriptor.
enum IOResult<T> {
    case done(T)
    case wouldBlock
}

/// Runs a system call, retrying on `EINTR`; a return of -1 becomes a `SystemError`.
/// The one place where errno is read (after swift-nio's `System.swift`).
@inline(__always)
func systemCall<T: FixedWidthInteger>(_ name: StaticString, _ body: () -> T) throws(SystemError) -> T {
    while true {
        let result = body()
        guard result == -1 else { return result }
        let code = Glibc.errno
        if code == EINTR { continue }
        throw SystemError(call: "\(name)", errno: code)
    }
}

/// Like `systemCall`, for non-blocking descriptors: `EAGAIN`/`EWOULDBLOCK` become `.wouldBlock`.
@inline(__always)
func nonBlockingCall<T: FixedWidthInteger>(_ name: StaticString, _ body: () -> T) throws(SystemError) -> IOResult<T> {
    while true {
        let result = body()
        guard result == -1 else { return .done(result) }
        let code = Glibc.errno
        if code == EINTR { continue }
        if code == EAGAIN || code == EWOULDBLOCK { return .wouldBlock }
        throw SystemError(call: "\(name)", errno: code)
    }
}

/// Monotonic clock in nanoseconds, for deadlines inside event loops.
@inline(__always)
func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

extension Duration {
    /// The duration in whole nanoseconds (negative durations clamp to zero).
    var nanoseconds: UInt64 {
        let (s, atto) = components
        if s < 0 { return 0 }
        return UInt64(s) &* 1_000_000_000 &+ UInt64(atto / 1_000_000_000)
    }
}
