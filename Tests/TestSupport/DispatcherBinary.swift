public import Foundation

/// Runs the built `dispatcher` executable as a subprocess (it sits beside the test bundle).
public enum DispatcherBinary {
    public static var url: URL {
        var dir = Bundle.main.bundleURL
        let fm = FileManager.default
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("dispatcher")
            if fm.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: ".build/debug/dispatcher")
    }

    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// Runs `dispatcher ARGS` with `environment` added to (or, for nil values, removed from) ours.
    /// The child is a `ChildProcess` (posix_spawn, reaped by waitpid on a thread of its own) and
    /// is awaited without blocking: a synchronous wait held one of the two cooperative threads
    /// and stalled other tests' tasks, and Foundation's `Process` once left an exited child
    /// unreaped and the whole test run waiting.
    public static func run(_ arguments: [String], environment: [String: String?] = [:], directory: URL? = nil) async throws -> Result {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("dispatcher-run-\(UUID().uuidString)")
        let outURL = tmp.appendingPathExtension("out"), errURL = tmp.appendingPathExtension("err")
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        let child = try ChildProcess(url.path, arguments, environment: environment, stdout: outURL.path, stderr: errURL.path,
                                     directory: directory?.path)
        let status = await child.wait()
        return Result(
            status: status ?? -1,
            stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }
}
