import HTTPTesting
import HTTP
import Support
import Foundation
import Glibc
import Store
import TestSupport
import Testing
@testable import Dispatcher

/// `dispatcher console`, run as the real executable.
@Suite struct ConsoleCommandTests {
    /// The console's variables removed, so the tests' own environment never leaks in.
    static let clean: [String: String?] = [
        "DISPATCHER_CONSOLE": nil, "DISPATCHER_CONSOLE_OPERATOR": nil, "DISPATCHER_CONSOLE_VIEWER": nil, "DISPATCHER_CONSOLE_LIVE": nil,
    ]

    @Test func refusesAReachableAddressWithoutCredentials() async throws {
        let db = try await TestPostgres.database()
        var env = Self.clean
        env["DATABASE_URL"] = db.conninfo
        let refused = try await DispatcherBinary.run(["console", "--listen", "0.0.0.0:0"], environment: env)
        #expect(refused.status == 64)
        #expect(refused.stderr.contains("refusing to serve the console on 0.0.0.0"))
        env["DISPATCHER_CONSOLE_OPERATOR"] = "olivia:short"
        let weak = try await DispatcherBinary.run(["console", "--listen", "127.0.0.1:0"], environment: env)
        #expect(weak.status == 64 && !weak.stderr.contains("short"))
        #expect(try await DispatcherBinary.run(["console", "--listen", "nowhere"], environment: env).status == 64)
    }

    @Test func servesTheConsoleUntilSIGTERM() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        try await ConsoleDataSet.insert(c)
        await c.close()
        let dir = try TempDir()
        let out = dir.path + "/out", err = dir.path + "/err"
        var env = Self.clean
        env["DATABASE_URL"] = db.conninfo
        env["DISPATCHER_CONSOLE_VIEWER"] = "victor:viewer-password-22"
        let process = try ChildProcess(DispatcherBinary.url.path, ["console", "--listen", "127.0.0.1:0"], environment: env,
                                       stdout: out, stderr: err)
        defer { process.signal(SIGKILL) }
        var url: String?
        _ = await eventually(timeout: .seconds(60), every: .milliseconds(100)) {
            let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("console on http://127.0.0.1:") }) {
                url = String(line.dropFirst("console on ".count))
            }
            return url != nil || process.exitStatus != nil
        }
        let base = try #require(url, "\((try? String(contentsOfFile: err, encoding: .utf8)) ?? "")")
        #expect(base.hasSuffix("/console/"))
        let client = HTTPClient()
        var request = HTTPClientRequest(url: URL(string: base)!)
        #expect(try await client.execute(request).status == 401)
        request.setBasicAuth(user: "victor", password: "viewer-password-22")
        let page = try await client.execute(request)
        #expect(page.status == 200)
        #expect(String(decoding: page.body, as: UTF8.self).contains("victor (viewer)"))
        await client.shutdown()
        process.signal(SIGTERM)
        #expect(await process.wait(timeout: .seconds(60)) == 0)
    }
}
