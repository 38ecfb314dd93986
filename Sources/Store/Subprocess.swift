import Foundation
import Glibc

/// Runs programs with posix_spawn and waitpid, on a thread of their own.
///
/// Foundation's `Process.waitUntilExit` spins a run loop on the calling thread, which
/// is a cooperative-pool thread in async code (and was seen to hang there); this waits
/// on a dedicated thread and resumes the caller when the child exits.
public enum Subprocess {
    public struct Failure: Error {
        public var status: Int32
        public var output: String
    }

    /// Runs `executable` with `arguments`; returns its combined output, throws `Failure`
    /// for a non-zero exit.
    public static func run(_ executable: String, _ arguments: [String], directory: String? = nil) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try runBlocking(executable, arguments, directory: directory) })
            }
            thread.name = "subprocess"
            thread.start()
        }
    }

    /// Starts `executable` and returns without waiting (for watchdogs that outlive us).
    static func spawnDetached(_ executable: String, _ arguments: [String]) throws {
        _ = try spawn(executable, arguments, stdout: "/dev/null", stderr: nil)
    }

    static func runBlocking(_ executable: String, _ arguments: [String], directory: String?) throws -> String {
        let outputPath = NSTemporaryDirectory() + "dispatcher-cmd-\(UUID().uuidString).out"
        defer { unlink(outputPath) }
        let pid = try spawn(executable, arguments, stdout: outputPath, stderr: nil, directory: directory)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw Failure(status: -1, output: "waitpid: \(String(cString: strerror(errno)))") }
        }
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let exited = (status & 0x7F) == 0
        let code = exited ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        guard code == 0 else { throw Failure(status: code, output: output) }
        return output
    }

    /// Starts `executable ARGS` with posix_spawn: stdin from /dev/null, stdout to the file
    /// `stdout` (appended), stderr to `stderr` (nil: with stdout), `environment` over ours
    /// (nil values remove a variable), in `directory`. Returns the child's pid; the caller
    /// reaps it with `waitpid`.
    ///
    /// The child gets no other descriptor of ours: inherited sockets kept connections open
    /// after we closed them (a daemonised PgBouncer held other tests' sockets for its lifetime).
    public static func spawn(_ executable: String, _ arguments: [String], environment: [String: String?] = [:],
                             stdout: String, stderr: String?, directory: String? = nil) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        if let stderr {
            posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        } else {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        closeFrom(3, &actions)
        var program = executable
        var argList = [executable] + arguments
        if let directory {
            // glibc here has no posix_spawn_file_actions_addchdir_np: let a shell change directory.
            program = "/bin/sh"
            argList = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", directory] + argList
        }
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let argv = argList.map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, program, &actions, nil, argv, envp)
        guard rc == 0 else { throw Failure(status: -1, output: "cannot start \(executable): \(String(cString: strerror(rc)))") }
        return pid
    }

    /// `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34+; not in the Swift module's
    /// view of spawn.h, so looked up at run time): the child closes every descriptor from `fd` up.
    private static func closeFrom(_ fd: Int32, _ actions: inout posix_spawn_file_actions_t) {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return }
        _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, fd)
    }
}
