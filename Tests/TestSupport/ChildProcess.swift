import Foundation
import Glibc
import Store

/// A child process started with posix_spawn and reaped with `waitpid` on its own pid, on a
/// thread of its own. Foundation's `Process` was seen to leave an exited child unreaped and
/// `waitUntilExit` waiting forever when tests start processes concurrently.
public final class ChildProcess: @unchecked Sendable {
    public let pid: Int32
    private let exit = ExitBox()

    /// Starts `executable ARGS` with `environment` added to (or, for nil values, removed from)
    /// ours; stdin from /dev/null; stdout and stderr to the given files (nil: /dev/null).
    public init(_ executable: String, _ arguments: [String], environment: [String: String?] = [:],
                stdout: String? = nil, stderr: String? = nil, directory: String? = nil) throws {
        let pid = try Subprocess.spawn(executable, arguments, environment: environment, stdout: stdout ?? "/dev/null",
                                       stderr: stderr ?? "/dev/null", directory: directory)
        self.pid = pid
        let exit = exit
        Thread.detachNewThread {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            let exited = (status & 0x7F) == 0
            exit.set(exited ? (status >> 8) & 0xFF : 128 + (status & 0x7F))
        }
    }

    public func signal(_ number: Int32) { kill(pid, number) }

    /// The exit status once it exited (128 + signal when killed by one); nil while running.
    public var exitStatus: Int32? { exit.value }

    /// Waits for the exit; nil if it did not come within `timeout`.
    public func wait(timeout: Duration = .seconds(600)) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while exit.value == nil && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        return exit.value
    }

    private final class ExitBox: @unchecked Sendable {
        private let lock = NSLock()
        private var status: Int32?
        var value: Int32? { lock.lock(); defer { lock.unlock() }; return status }
        func set(_ s: Int32) { lock.lock(); status = s; lock.unlock() }
    }
}
