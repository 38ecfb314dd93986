import Foundation
import Jobs
import Store

/// `dispatcher report --compliance [CAMPAIGN | --since DATE] [--format table|json|csv] [--full-numbers]`:
/// revocations, HELP replies and replies waiting for review. CAMPAIGN: replies from its
/// recipients since it was created; `--since`: replies received since then. Recipients'
/// numbers are masked but for their last 4 digits unless `--full-numbers`.
enum ComplianceReportCommand {
    static func run(_ args: inout Arguments, _ context: CommandContext, connection: Connection, format: String) async throws -> Int32 {
        let full = args.flag("--full-numbers")
        let sinceText = try args.option("--since")
        let rest = try args.positionals()
        guard rest.count <= 1 else { throw CLIFailure.usage("report --compliance takes at most one campaign") }
        if sinceText != nil && !rest.isEmpty { throw CLIFailure.usage("give a campaign or --since, not both") }
        let since = try sinceText.map { text throws(CLIFailure) in try parseSince(text) }
        guard var report = try await Outbox.complianceReport(connection, filter: .init(campaign: rest.first, since: since)) else {
            throw CLIFailure(exitCode: ExitCode.dataError, message: "no campaign named '\(rest.first ?? "")'")
        }
        // the configured default quiet hours judge campaigns that name none
        let policy = try context.configuration(needsSecrets: false).sendingCompliance.quietHours
        report.sending = try await Outbox.complianceSendingReportGet(connection, campaign: rest.first, since: since, defaultPolicy: policy)
        let shown = full ? report : ComplianceReportFormat.masked(report)
        switch format {
        case "json": print(try ComplianceReportFormat.json(shown))
        case "csv": print(ComplianceReportFormat.csv(shown), terminator: "")
        default: print(ComplianceReportFormat.table(shown), terminator: "")
        }
        return ExitCode.success
    }

    /// `YYYY-MM-DD` (midnight UTC) or a full timestamp with its offset.
    static func parseSince(_ text: String) throws(CLIFailure) -> Date {
        let day = text.split(separator: "-", omittingEmptySubsequences: false)
        if day.count == 3, day[0].count == 4, day[1].count == 2, day[2].count == 2, day.allSatisfy({ $0.allSatisfy(\.isASCII) && Int($0) != nil }) {
            if let d = try? Timestamp.parse("\(text)T00:00:00Z") { return d }
        }
        do { return try Timestamp.parse(text) } catch {
            throw CLIFailure.usage("--since takes a date (2026-11-23) or a timestamp with its offset (2026-11-23T09:00:00-05:00): \(error)")
        }
    }
}
