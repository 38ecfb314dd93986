import Foundation
import Jobs
import Store
import TestSupport
import Testing
@testable import Dispatcher

/// The SQL the README documents for reporting users runs against the real schema.
@Suite struct ReadmeQueryTests {
    static let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("README.md")

    @Test func documentedReportingQueriesRun() async throws {
        let text = try String(contentsOf: Self.readme, encoding: .utf8)
        let blocks = text.components(separatedBy: "```sql\n").dropFirst().map { $0.components(separatedBy: "```")[0] }
        let statements = blocks.flatMap { $0.components(separatedBy: ";") }
            .map { $0.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("--") }.joined(separator: "\n") }
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .filter { !$0.isEmpty }
        #expect(statements.count >= 2)
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        // the campaign the README's queries name, with an error and a reply
        let dir = try TempDir()
        try dir.write("r.csv", csvRows(0..<3))
        let path = try dir.write("r.json", manifest("dental-2026-11-24", csv: "r.csv"))
        #expect(try await JobSubmitter(configuration: DispatcherConfiguration()).submit([.init(path: path)], on: c).committed)
        try await c.execute("UPDATE messages SET state = 'undelivered', error_class = 'landline', error_code = '30006' WHERE external_id = 'm-0'")
        try await c.execute("""
            INSERT INTO inbound_messages (provider, provider_message_id, from_number, to_number, body, keyword, related_message_id)
            SELECT 'plum', 'x', to_number, from_number, 'CONFIRM', 'confirm', id FROM messages WHERE external_id = 'm-1'
            """)
        var results: [Int] = []
        for statement in statements {
            // README text, not input: run as written
            results.append(try await c.query(SQL(unsafeRaw: statement)).count)
        }
        #expect(results == [1, 1], "\(statements)")
        await c.close()
    }
}
