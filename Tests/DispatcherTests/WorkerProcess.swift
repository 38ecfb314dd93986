import Foundation
import Glibc
import HTTPTesting
import Store
import TestSupport
@testable import Dispatcher

/// A `dispatcher run` child process with a configuration file, listening on a port of its
/// choice (`"listen": "127.0.0.1:0"`): the port is read from the line it logs.
struct WorkerProcess {
    let process: ChildProcess
    let port: Int
    /// Its standard error.
    let log: String
    var base: URL { URL(string: "http://127.0.0.1:\(port)")! }
    var logText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    /// Starts `dispatcher run --config CONFIG ARGUMENTS` against `conninfo`; `shellPrefix`
    /// runs first in a shell that then execs the worker (e.g. `ulimit -n 128`).
    static func start(config: String, conninfo: String, environment: [String: String] = [:], arguments: [String] = [],
                      shellPrefix: String? = nil) async throws -> WorkerProcess {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("worker-\(UUID().uuidString).log").path
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        var env: [String: String?] = ["DATABASE_URL": conninfo]
        for (k, v) in environment { env[k] = v }
        let run = ["run", "--config", config] + arguments
        let process = try shellPrefix.map {
            try ChildProcess("/bin/sh", ["-c", $0 + #"; exec "$0" "$@""#, DispatcherBinary.url.path] + run, environment: env, stderr: log)
        } ?? ChildProcess(DispatcherBinary.url.path, run, environment: env, stderr: log)
        var port: Int?
        _ = await eventually(timeout: .seconds(60)) {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            port = text.firstMatch(of: /listening on 127\.0\.0\.1:(\d+)/).flatMap { Int($0.1) }
            return port != nil || process.exitStatus != nil
        }
        guard let port else {
            process.signal(SIGKILL)
            _ = await process.wait(timeout: .seconds(10))
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw TestFailure("the worker did not start listening: \(text.suffix(2000))")
        }
        return WorkerProcess(process: process, port: port, log: log)
    }

    /// SIGTERM, then its exit status (SIGKILL and nil after 30 s).
    @discardableResult
    func stop() async -> Int32? {
        process.signal(SIGTERM)
        if let status = await process.wait(timeout: .seconds(30)) { return status }
        process.signal(SIGKILL)
        return nil
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A campaign of one message already accepted by `provider` (provider id `providerMessageID`);
/// returns the message's callback key `ID.TOKEN`.
func insertAcceptedMessage(_ c: Connection, campaign: String, provider: String, providerMessageID: String,
                           pollLater: Bool = false) async throws -> String {
    let id = try await c.query("""
        INSERT INTO campaigns (name, provider, from_number) VALUES (\(campaign), \(provider), '+12435678910') RETURNING id
        """).scalar(Int64.self)!
    return try await c.query("""
        INSERT INTO messages (campaign_id, external_id, state, provider, from_number, to_number, segments, due_at,
                              next_attempt_at, provider_message_id, accepted_at, poll_next_at)
        VALUES (\(id), 'm', 'accepted', \(provider), '+12435678910', '+12025550143', 1, now(), now(), \(providerMessageID), now(),
                CASE WHEN \(pollLater) THEN now() + interval '1 day' END)
        RETURNING id || '.' || callback_token
        """).scalar(String.self)!
}
