import Foundation
import Glibc
import HTTP
import HTTPTesting
import Store
import TestSupport
import Testing

/// The README's commands, as a new user runs them: the demo on the embedded cluster (in a
/// fresh directory, as from a fresh clone), then report and status against what it left.
/// Serialized: each demo runs a PostgreSQL cluster and a worker of its own.
@Suite(.serialized) struct DemoTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let examples = repository.appendingPathComponent("jobs/examples").path
    static let noURL: [String: String?] = ["DATABASE_URL": nil]

    @Test func demoEndsWithEveryMessageFinalThenReportAndStatusWork() async throws {
        try await Self.withCheckout { dir in
            let demo = try await DispatcherBinary.run(["demo", "--examples", Self.examples, "--bulk", "40", "--timeout-s", "90", "--no-console"],
                                                      environment: Self.noURL, directory: dir)
            #expect(demo.status == 0, "\(demo.stdout)\n\(demo.stderr)")
            // 8 + 8 + 3 example messages and the bulk 40, every one final
            #expect(demo.stdout.contains("59/59 final"), "\(demo.stdout)")
            #expect(demo.stdout.contains("none sent twice"), "\(demo.stdout)")
            let cluster = try #require(Self.clusterDirectory(in: demo.stdout), "\(demo.stdout)")
            #expect(cluster == LocalCluster.embeddedDirectory(checkout: dir.path))
            #expect(FileManager.default.fileExists(atPath: cluster + "/data/PG_VERSION"))
            let campaign = try #require(demo.stdout.split(separator: "\n").first { $0.hasPrefix("try: dispatcher report ") }?
                .split(separator: " ")[3]).description
            let report = try await DispatcherBinary.run(["report", campaign, "--format", "json"], environment: Self.noURL, directory: dir)
            #expect(report.status == 0, "\(report.stderr)")
            // the cluster is named on stderr, so the JSON on stdout stays clean
            #expect(report.stderr.contains("embedded PostgreSQL cluster in \(cluster) "), "\(report.stderr)")
            let parsed = try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [[String: Any]]
            #expect(parsed?.first?["total"] as? Int == 8)
            let status = try await DispatcherBinary.run(["status", campaign + "/appt-1001"], environment: Self.noURL, directory: dir)
            #expect(status.status == 0, "\(status.stderr)")
            #expect(status.stdout.contains("dispatcher/attempt"))
            #expect(status.stdout.contains("delivered"))
            let validate = try await DispatcherBinary.run(["validate", Self.examples + "/with-mistakes.json"], directory: dir)
            #expect(validate.status == 65)
            #expect(validate.stderr.contains("with-mistakes.csv:3:5: invalid phone number"))
            // the embedded cluster is stopped after each command
            #expect(!FileManager.default.fileExists(atPath: cluster + "/data/postmaster.pid"))
        }
    }

    /// A checkout inside a directory only its owner may enter, like root's home (0700): as
    /// root the server runs as `postgres`, which cannot reach it, so the cluster must live
    /// elsewhere. The demo runs as from a fresh clone (its examples found in the working
    /// directory), names its cluster, and `demo --clean` removes that cluster again.
    @Test func demoRunsFromACheckoutInAPrivateDirectoryAndCleanRemovesItsCluster() async throws {
        try await Self.withCheckout(privateParent: true) { dir in
            try FileManager.default.createDirectory(at: dir.appendingPathComponent("jobs"), withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: Self.examples, toPath: dir.path + "/jobs/examples")
            let demo = try await DispatcherBinary.run(["demo", "--bulk", "10", "--timeout-s", "90", "--no-console"], environment: Self.noURL, directory: dir)
            #expect(demo.status == 0, "\(demo.stdout)\n\(demo.stderr)")
            #expect(demo.stdout.contains("29/29 final"), "\(demo.stdout)")
            #expect(demo.stdout.contains("none sent twice"), "\(demo.stdout)")
            let cluster = try #require(Self.clusterDirectory(in: demo.stdout), "\(demo.stdout)\n\(demo.stderr)")
            #expect(cluster == LocalCluster.embeddedDirectory(checkout: dir.path))
            if LocalCluster.runningAsRoot {
                #expect(cluster.hasPrefix("/var/tmp/dispatcher-"), "\(cluster)")
            }
            #expect(FileManager.default.fileExists(atPath: cluster + "/data/PG_VERSION"))
            #expect(!FileManager.default.fileExists(atPath: cluster + "/data/postmaster.pid"))

            let clean = try await DispatcherBinary.run(["demo", "--clean"], environment: Self.noURL, directory: dir)
            #expect(clean.status == 0, "\(clean.stdout)\n\(clean.stderr)")
            #expect(clean.stdout.contains("removed \(cluster)"), "\(clean.stdout)")
            #expect(!FileManager.default.fileExists(atPath: cluster))
            let again = try await DispatcherBinary.run(["demo", "--clean"], environment: Self.noURL, directory: dir)
            #expect(again.status == 0, "\(again.stdout)\n\(again.stderr)")
            #expect(again.stdout.contains("nothing to remove"), "\(again.stdout)")
        }
    }

    /// Without `--no-console` the demo ends by printing the console's address and serves it
    /// (loopback, no credentials) until SIGTERM, then exits 0.
    @Test func demoServesItsConsoleUntilSIGTERM() async throws {
        try await Self.withCheckout { dir in
            let out = dir.path + "/demo.out", err = dir.path + "/demo.err"
            let process = try ChildProcess(DispatcherBinary.url.path, ["demo", "--examples", Self.examples, "--bulk", "5", "--timeout-s", "90"],
                                           environment: Self.noURL, stdout: out, stderr: err, directory: dir.path)
            var url: String?
            _ = await eventually(timeout: .seconds(180), every: .milliseconds(100)) {
                let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
                url = text.firstMatch(of: /console on (http:\/\/127\.0\.0\.1:\d+\/console\/)/).map { String($0.1) }
                return url != nil || process.exitStatus != nil
            }
            let stdout = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
            let base = try #require(url, "\(stdout)\n\((try? String(contentsOfFile: err, encoding: .utf8)) ?? "")")
            // the report came first, then the console
            #expect(stdout.contains("24/24 final"), "\(stdout)")
            #expect(stdout.contains("none sent twice"), "\(stdout)")
            let client = HTTPClient()
            let page = try await client.execute(HTTPClientRequest(url: URL(string: base)!, timeout: .seconds(30)))
            #expect(page.status == 200)
            #expect(String(decoding: page.body, as: UTF8.self).contains("bulk-reminders-demo-"))
            await client.shutdown()
            #expect(process.exitStatus == nil)
            process.signal(SIGTERM)
            let status = await process.wait(timeout: .seconds(60))
            if status == nil { process.signal(SIGKILL) }
            #expect(status == 0, "\((try? String(contentsOfFile: err, encoding: .utf8)) ?? "")")
        }
    }

    /// The cluster directory from the demo's `• database: embedded PostgreSQL cluster in DIR (…)` line.
    static func clusterDirectory(in stdout: String) -> String? {
        let marker = "database: embedded PostgreSQL cluster in "
        guard let line = stdout.split(separator: "\n").first(where: { $0.contains(marker) }),
              let start = line.range(of: marker)?.upperBound else { return nil }
        return line[start...].split(separator: " ").first.map(String.init)
    }

    /// Runs `body` in a fresh checkout directory (inside a 0700 directory when `privateParent`),
    /// then stops and removes the checkout's embedded cluster with `demo --clean` whatever
    /// happened; a watchdog does the same if the test process dies first.
    static func withCheckout(privateParent: Bool = false, _ body: (URL) async throws -> Void) async throws {
        let fm = FileManager.default
        let root = URL(fileURLWithPath: NSTemporaryDirectory() + "dispatcher-demo-test-" + UUID().uuidString.prefix(8))
        let dir = privateParent ? root.appendingPathComponent("dispatcher") : root
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        if privateParent { chmod(root.path, 0o700) }
        let checkout = dir.resolvingSymlinksInPath()
        try? LocalCluster(directory: LocalCluster.embeddedDirectory(checkout: checkout.path)).removeWhenProcessExits()
        var failure: (any Error)?
        do { try await body(checkout) } catch { failure = error }
        let clean = try? await DispatcherBinary.run(["demo", "--clean"], environment: noURL, directory: checkout)
        try? fm.removeItem(at: root)
        if let failure { throw failure }
        #expect(clean?.status == 0, "\(clean?.stdout ?? "")\(clean?.stderr ?? "")")
    }
}
