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
        _ = try spawn(executable, arguments, outputPath: "/dev/null", directory: nil)
    }

    static func runBlocking(_ executable: String, _ arguments: [String], directory: String?) throws -> String {
        let outputPath = NSTemporaryDirectory() + "dispatcher-cmd-\(UUID().uuidString).out"
        defer { unlink(outputPath) }
        let pid = try spawn(executable, arguments, outputPath: outputPath, directory: directory)
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

    private static func spawn(_ executable: String, _ arguments: [String], outputPath: String, directory: String?) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var program = executable
        var argList = [executable] + arguments
        if let directory {
            // glibc here has no posix_spawn_file_actions_addchdir_np: let a shell change directory.
            program = "/bin/sh"
            argList = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", directory] + argList
        }
        let argv = argList.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, program, &actions, nil, argv, environ)
        guard rc == 0 else { throw Failure(status: -1, output: "cannot start \(executable): \(String(cString: strerror(rc)))") }
        return pid
    }
}
