import Foundation
import Glibc
import Store
import Testing
import TestSupport
@testable import Dispatcher
import HTTP
import HTTPTesting

/// `dispatcher run`'s HTTP server against clients that hold connections without requests, and
/// when it runs out of file descriptors; and its idle timeout against nginx's.
@Suite struct ConnectionLimitsTests {
    /// A running worker with `http` settings.
    static func startWorker(db: TestDatabase, http: String, shellPrefix: String? = nil) async throws -> WorkerProcess {
        let dir = try TempDir()
        let config = try dir.write("dispatcher.json", #"{"listen": "127.0.0.1:0", "spool": "\#(dir.path)/spool", "http": \#(http)}"#)
        return try await WorkerProcess.start(config: config, conninfo: db.conninfo, shellPrefix: shellPrefix)
    }

    /// Empty lines complete no request head: they must not keep a connection open past the
    /// header timeout (before, each one restarted the clock and the connection lived forever).
    @Test func bareCRLFsAreCutOffAfterTheHeaderTimeout() async throws {
        let db = try await TestPostgres.database()
        let worker = try await Self.startWorker(db: db, http: #"{"header_timeout_s": 1, "idle_timeout_s": 600}"#)
        defer { Task { await worker.stop() } }
        let client = try RawClient(port: worker.port, receiveTimeout: 0.2)
        // A CRLF every 100 ms for up to 60 s (the header timeout is 1 s, the idle one 10 minutes).
        var cutOff = false
        var answer: [UInt8] = []
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if await client.send("\r\n") < 2 { cutOff = true; break }
            let (bytes, closed) = await client.readUntilClosed()  // returns at the receive timeout
            answer += bytes
            if closed { cutOff = true; break }
        }
        #expect(cutOff, "a connection sending only empty lines stayed open for 60 s")
        #expect(String(decoding: answer, as: UTF8.self).hasPrefix("HTTP/1.1 408"))
        // The server still serves.
        let fresh = try RawClient(port: worker.port)
        await fresh.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(await fresh.readResponses(1).first.map { [200, 503].contains($0.status) } == true)
    }

    /// CPU time (user + system, in clock ticks) the process has used so far.
    static func cpuTicks(_ pid: Int32) -> Int? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // after the command: state(0) ppid(1) … utime(11) stime(12)
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        return user + system
    }

    /// Out of file descriptors, accept fails while connections wait in the backlog and the
    /// listening socket stays readable: the server must pause accepting (and say so once)
    /// rather than retry at full speed.
    @Test func runningOutOfFileDescriptorsDoesNotSpin() async throws {
        let db = try await TestPostgres.database()
        let worker = try await Self.startWorker(db: db, http: #"{"idle_timeout_s": 600, "header_timeout_s": 600}"#,
                                                shellPrefix: "ulimit -n 128")
        defer { Task { await worker.stop() } }
        // Fully started first (database connections open, services running).
        let warmup = try RawClient(port: worker.port, receiveTimeout: 30)
        await warmup.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(await warmup.readResponses(1).count == 1)
        // ...and done opening its own descriptors (database connections of every service):
        // running out of them while a service still opens one would stop the worker instead.
        var counts: [Int] = []
        _ = await eventually(timeout: .seconds(60), every: .milliseconds(500)) {
            counts.append((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(worker.process.pid)/fd").count) ?? -1)
            return counts.count >= 6 && Set(counts.suffix(6)).count == 1
        }
        // More connections than the worker has descriptors left: the rest wait in the backlog.
        var clients: [RawClient] = []
        for _ in 0..<160 { if let c = try? RawClient(port: worker.port) { clients.append(c) } }
        #expect(await eventually(timeout: .seconds(30)) { worker.logText.contains("cannot accept connections") })
        // CPU used over the next 3 seconds: spinning on accept takes a whole core (about 300
        // ticks at 100 Hz); pausing takes next to nothing.
        let ticksBefore: Int = Self.cpuTicks(worker.process.pid) ?? -1
        try await Task.sleep(for: .seconds(3))
        let ticksAfter: Int = Self.cpuTicks(worker.process.pid) ?? -1
        let used = ticksAfter - ticksBefore
        let hz = Int(sysconf(Int32(_SC_CLK_TCK)))
        #expect(ticksBefore >= 0 && ticksAfter >= 0, "the worker exited: \(worker.logText.suffix(3000))")
        #expect(used < hz, "the worker used \(used) ticks of CPU in 3 s while out of descriptors")
        #expect(worker.logText.components(separatedBy: "cannot accept connections").count - 1 == 1, "logged once per episode")
        // Descriptors come back: the waiting connections are accepted and served.
        clients.removeAll()
        let fresh = try RawClient(port: worker.port, receiveTimeout: 30)
        await fresh.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(await fresh.readResponses(1).first.map { [200, 503].contains($0.status) } == true)
        #expect(await eventually(timeout: .seconds(30)) { worker.logText.contains("accepting connections again") })
    }

    /// nginx must close idle upstream connections before the dispatcher does: else a request
    /// nginx sends on a connection the dispatcher is closing just then fails with 502.
    @Test func nginxUpstreamKeepaliveIsShorterThanTheIdleTimeout() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let conf = try String(contentsOf: root.appendingPathComponent("deploy/nginx/dispatcher.conf"), encoding: .utf8)
        let upstream = try #require(conf.firstMatch(of: /upstream\s+dispatcher\s*\{([^}]*)\}/)).1
        // nginx's default upstream keepalive_timeout is 60 s
        var nginx = 60.0
        for line in upstream.split(separator: "\n") {
            if let m = line.firstMatch(of: /^\s*keepalive_timeout\s+(\d+)(ms|s|m)?\s*;/) {
                nginx = Double(m.1)! * (m.2 == "ms" ? 0.001 : m.2 == "m" ? 60 : 1)
            }
        }
        let dispatcher = DispatcherConfiguration().http.idleSeconds
        let server = Double(HTTPServerConfiguration().idleTimeout.components.seconds)
        #expect(nginx + 5 <= dispatcher, "nginx upstream keepalive_timeout \(nginx) s vs the dispatcher's idle timeout \(dispatcher) s")
        #expect(nginx + 5 <= server)
        let example = try String(contentsOf: root.appendingPathComponent("deploy/dispatcher.json.example"), encoding: .utf8)
        let configured = try DispatcherConfiguration.parse(Array(example.utf8), needsSecrets: false).http.idleSeconds
        #expect(nginx + 5 <= configured)
    }
}
