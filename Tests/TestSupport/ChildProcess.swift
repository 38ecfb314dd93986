import Foundation
import Glibc

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
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        var program = executable
        var argList = [executable] + arguments
        if let directory {
            // glibc here has no posix_spawn_file_actions_addchdir_np: let a shell change directory.
            program = "/bin/sh"
            argList = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", directory] + argList
        }
        let argv = argList.map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var spawned: pid_t = 0
        let rc = posix_spawn(&spawned, program, &actions, nil, argv, envp)
        guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EIO) }
        let pid = spawned
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
