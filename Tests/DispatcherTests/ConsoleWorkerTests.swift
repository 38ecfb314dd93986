import HTTPTesting
import HTTP
import Support
import Foundation
import Glibc
import Store
import TestSupport
import Testing
@testable import Dispatcher

/// The console served by the worker (`dispatcher run`) under `/console/`.
@Suite struct ConsoleWorkerTests {
    static let password = "operator-password-1"

    static func config(_ dir: TempDir, listen: String = "127.0.0.1:0") throws -> String {
        try dir.write("dispatcher.json", #"{"listen": "\#(listen)", "spool": "\#(dir.path)/spool"}"#)
    }

    static func get(_ url: String, user: String? = nil, password: String? = nil) async throws -> HTTPClientResponse {
        let client = HTTPClient()
        defer { Task { await client.shutdown() } }
        var request = HTTPClientRequest(url: URL(string: url)!, timeout: .seconds(30))
        if let user, let password { request.setBasicAuth(user: user, password: password) }
        return try await client.execute(request)
    }

    @Test func aWorkerWithConsoleCredentialsServesIt() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        try await ConsoleDataSet.insert(c)
        await c.close()
        let dir = try TempDir()
        let worker = try await WorkerProcess.start(config: try Self.config(dir), conninfo: db.conninfo,
                                                   environment: ["DISPATCHER_CONSOLE_OPERATOR": "olivia:\(Self.password)"],
                                                   arguments: ["--no-spool"])
        let base = "http://127.0.0.1:\(worker.port)"
        #expect(worker.logText.contains("console on \(base)/console/ (Basic auth for olivia (operator))"), "\(worker.logText)")
        #expect(!worker.logText.contains(Self.password))
        let anonymous = try await Self.get(base + "/console/")
        #expect(anonymous.status == 401)
        #expect(anonymous.headers["WWW-Authenticate"]?.hasPrefix("Basic") == true)
        let page = try await Self.get(base + "/console/", user: "olivia", password: Self.password)
        #expect(page.status == 200)
        #expect(String(decoding: page.body, as: UTF8.self).contains("dental-2026-11-24"))
        #expect(try await Self.get(base + "/console/", user: "olivia", password: "wrong-password-99").status == 401)
        // the worker's own routes are unchanged
        #expect(try await Self.get(base + "/healthz").status == 200)
        #expect(await worker.stop() == 0)
    }

    @Test func withoutConfigurationTheConsoleIs404() async throws {
        let db = try await TestPostgres.database()
        let dir = try TempDir()
        let worker = try await WorkerProcess.start(config: try Self.config(dir), conninfo: db.conninfo, arguments: ["--no-spool"])
        let base = "http://127.0.0.1:\(worker.port)"
        #expect(worker.logText.contains("console is off"), "\(worker.logText)")
        #expect(!worker.logText.contains("password"))
        #expect(try await Self.get(base + "/console/").status == 404)
        #expect(try await Self.get(base + "/console/app.js").status == 404)
        #expect(try await Self.get(base + "/healthz").status == 200)
        #expect(await worker.stop() == 0)
    }

    @Test func aBadConsoleConfigurationFailsRunAtStart() async throws {
        let db = try await TestPostgres.database()
        let dir = try TempDir()
        let config = try Self.config(dir, listen: "0.0.0.0:0")
        func run(_ env: [String: String?]) async throws -> DispatcherBinary.Result {
            var environment: [String: String?] = ["DATABASE_URL": db.conninfo, "DISPATCHER_CONSOLE": nil,
                                                  "DISPATCHER_CONSOLE_OPERATOR": nil, "DISPATCHER_CONSOLE_VIEWER": nil]
            for (k, v) in env { environment[k] = v }
            return try await DispatcherBinary.run(["run", "--config", config, "--no-spool"], environment: environment)
        }
        // loopback mode on an address other hosts can reach
        let loopback = try await run(["DISPATCHER_CONSOLE": "loopback"])
        #expect(loopback.status == 65, "\(loopback.stderr)")
        #expect(loopback.stderr.contains("refusing to serve the console on 0.0.0.0"), "\(loopback.stderr)")
        // a password too short, never echoed
        let weak = try await run(["DISPATCHER_CONSOLE_OPERATOR": "olivia:short-pw"])
        #expect(weak.status == 65, "\(weak.stderr)")
        #expect(weak.stderr.contains("DISPATCHER_CONSOLE_OPERATOR"), "\(weak.stderr)")
        #expect(!weak.stderr.contains("short-pw"))
        let mode = try await run(["DISPATCHER_CONSOLE": "maybe"])
        #expect(mode.status == 65, "\(mode.stderr)")
    }

    /// The console is stopped before the HTTP server: an event request waiting for a change is
    /// answered at once when the worker shuts down, and the worker then stops.
    @Test func theWorkerStopsTheConsoleBeforeItsServer() async throws {
        let db = try await TestPostgres.database()
        var configuration = workerConfiguration(sandbox: URL(string: "http://127.0.0.1:9")!)
        configuration.accounts.removeValue(forKey: "restcomm")
        let events = LockedValue<[ServiceGroup.Event]>([])
        var console = ConsoleConfiguration(access: .loopback)
        console.refreshInterval = .seconds(600)
        let running = RunningWorker.start(configuration, database: db, observer: { e in events.withLock { $0.append(e) } }) {
            $0.reconcile = true
            $0.listen = "127.0.0.1:0"
            $0.console = console
        }
        #expect(await eventually { running.worker.port != nil })
        let port = try #require(running.worker.port)
        #expect(try await Self.get("http://127.0.0.1:\(port)/console/").status == 200)
        let waiting = Task { try await Self.get("http://127.0.0.1:\(port)/console/events") }
        // the request is in: the hub has a waiter once the server handed it over
        try await Task.sleep(for: .milliseconds(300))
        running.worker.shutdown.trigger(reason: "test")
        let answer = try await waiting.value
        #expect(answer.status == 200)
        #expect(String(decoding: answer.body, as: UTF8.self).contains("event: tick"))
        try await running.task.value
        #expect(events.current.last == .stopped("http"))
    }
}
