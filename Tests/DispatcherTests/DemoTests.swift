import Foundation
import TestSupport
import Testing

/// The README's commands, as a new user runs them: the demo on the embedded cluster (in a
/// fresh directory, as from a fresh clone), then report and status against what it left.
@Suite struct DemoTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("jobs/examples").path

    @Test func demoEndsWithEveryMessageFinalThenReportAndStatusWork() async throws {
        let dir = URL(fileURLWithPath: NSTemporaryDirectory() + "dispatcher-demo-test-" + UUID().uuidString.prefix(8))
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let noURL: [String: String?] = ["DATABASE_URL": nil]
        let demo = try await DispatcherBinary.run(["demo", "--examples", Self.examples, "--bulk", "40", "--timeout-s", "90"],
                                            environment: noURL, directory: dir)
        #expect(demo.status == 0, "\(demo.stdout)\n\(demo.stderr)")
        // 8 + 8 + 3 example messages and the bulk 40, every one final
        #expect(demo.stdout.contains("59/59 final"), "\(demo.stdout)")
        #expect(demo.stdout.contains("none sent twice"), "\(demo.stdout)")
        #expect(FileManager.default.fileExists(atPath: dir.path + "/.dispatcher/pg/data/PG_VERSION"))
        let campaign = try #require(demo.stdout.split(separator: "\n").first { $0.hasPrefix("try: dispatcher report ") }?
            .split(separator: " ")[3]).description
        let report = try await DispatcherBinary.run(["report", campaign, "--format", "json"], environment: noURL, directory: dir)
        #expect(report.status == 0, "\(report.stderr)")
        let parsed = try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [[String: Any]]
        #expect(parsed?.first?["total"] as? Int == 8)
        let status = try await DispatcherBinary.run(["status", campaign + "/appt-1001"], environment: noURL, directory: dir)
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("dispatcher/attempt"))
        #expect(status.stdout.contains("delivered"))
        let validate = try await DispatcherBinary.run(["validate", Self.examples + "/with-mistakes.json"], directory: dir)
        #expect(validate.status == 65)
        #expect(validate.stderr.contains("with-mistakes.csv:3:5: invalid phone number"))
        // the embedded cluster is stopped after each command
        let pid = dir.path + "/.dispatcher/pg/data/postmaster.pid"
        #expect(!FileManager.default.fileExists(atPath: pid))
    }
}
