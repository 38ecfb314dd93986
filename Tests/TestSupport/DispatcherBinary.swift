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
    /// The wait for the process happens on a thread of its own: blocking one of the few
    /// cooperative threads (two on a 2-core machine) stalled every other test's tasks — an HTTP
    /// server's graceful stop, say — for as long as the process ran.
    public static func run(_ arguments: [String], environment: [String: String?] = [:], directory: URL? = nil) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Swift.Result { try runBlocking(arguments, environment: environment, directory: directory) })
            }
        }
    }

    private static func runBlocking(_ arguments: [String], environment: [String: String?], directory: URL?) throws -> Result {
        let process = Process()
        process.executableURL = url
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        if let directory { process.currentDirectoryURL = directory }
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("dispatcher-run-\(UUID().uuidString)")
        let outURL = tmp.appendingPathExtension("out"), errURL = tmp.appendingPathExtension("err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try? out.close()
        try? err.close()
        return Result(
            status: process.terminationStatus,
            stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }
}
