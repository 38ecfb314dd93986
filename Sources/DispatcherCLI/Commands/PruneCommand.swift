import Foundation
import Jobs
import Store

/// `dispatcher prune --before DATE`.
enum PruneCommand: CLICommand {
    static let name = "prune"
    static let summary = "retention: remove finished campaigns' messages and events older than DATE"
    static let usage = """
    usage: dispatcher prune --before DATE [--batch N]

    Deletes the messages, bodies and events of campaigns whose messages are all in a
    final state and whose last one finished before DATE (2026-10-01 or an ISO 8601 time),
    in batches of N messages (default 5000), each its own short transaction. Unfinished
    campaigns are never touched. Campaign rows stay, so their names stay taken. It also
    removes the frequency cap's ledger rows with no send in the last 24 hours (they count
    towards no cap, and hold a recipient's number), whatever DATE.

    See docs/operations.md (retention).
    """

    static func run(_ args: inout Arguments, _ context: CommandContext) async throws -> Int32 {
        try await withDatabase(&args, context) { args, connection in
            guard let text = try args.option("--before") else { throw CLIFailure.usage("prune needs --before DATE") }
            let batch = try args.option("--batch").map { t -> Int in
                guard let n = Int(t), n > 0 else { throw CLIFailure.usage("--batch needs a positive number") }
                return n
            } ?? 5_000
            _ = try args.positionals()
            guard let before = parseDate(text) else {
                throw CLIFailure.usage("--before: '\(text)' is not a date (2026-10-01) or ISO 8601 time (2026-10-01T00:00:00Z)")
            }
            let r = try await Outbox.campaignPruneMany(connection, before: before, batchSize: batch) { progress in
                printError("prune: \(progress.messages) messages, \(progress.events) events removed so far")
            }
            print("pruned \(r.campaigns.count) campaign\(r.campaigns.count == 1 ? "" : "s"): \(r.messages) messages and \(r.events) events removed"
                + (r.campaigns.isEmpty ? "" : " (" + r.campaigns.joined(separator: ", ") + ")"))
            let ledger = try await Outbox.frequencyWindowPruneMany(connection, batchSize: batch)
            print("pruned \(ledger) frequency-cap ledger row\(ledger == 1 ? "" : "s") with no send in the last 24 hours")
            return ExitCode.success
        }
    }

    static func parseDate(_ text: String) -> Date? {
        if let d = try? Timestamp.parse(text) { return d }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd"
        return text.count == 10 ? f.date(from: text) : nil
    }
}
