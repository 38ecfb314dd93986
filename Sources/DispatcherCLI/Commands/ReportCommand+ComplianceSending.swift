import Foundation
import Jobs
import Store

/// The sending sections of `dispatcher report --compliance [CAMPAIGN | --since DATE]`: sends
/// per hour of the recipient's local time, sends outside their window, and what quiet hours
/// and the frequency cap held back.
enum ComplianceSendingSections {
    static let usage = """
    dispatcher report --compliance [CAMPAIGN | --since DATE] [--format table|json|csv]
      sending: first attempts per hour of the recipient's local time (a histogram), the
      number sent outside their window or quiet hours (must be 0), quiet-hours deferrals,
      and frequency-cap deferrals and suppressions (see docs/compliance.md).
    """

    static func report(_ connection: Connection, format: String, campaign: String?, since sinceText: String?,
                       defaultPolicy: QuietHoursPolicy?) async throws -> String {
        let since = try sinceText.map { text throws(CLIFailure) -> Date in
            do { return try Timestamp.parse(text) } catch { throw CLIFailure.usage("--since: \(error)") }
        }
        if campaign != nil, since != nil { throw CLIFailure.usage("report --compliance takes a campaign or --since, not both") }
        let r = try await Outbox.complianceSendingReportGet(connection, campaign: campaign, since: since, defaultPolicy: defaultPolicy)
        switch format {
        case "json": return try json(r)
        case "csv": return csv(r)
        default: return table(r, scope: campaign.map { "campaign \($0)" } ?? since.map { "since \(Timestamp.format($0))" } ?? "all campaigns")
        }
    }

    static func json(_ r: Outbox.ComplianceSendingReport) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: try encoder.encode(r), as: UTF8.self) + "\n"
    }

    /// `section,key,value` rows.
    static func csv(_ r: Outbox.ComplianceSendingReport) -> String {
        var lines = ["section,key,value"]
        for (hour, n) in r.sendsByLocalHour.enumerated() { lines.append("sends_by_local_hour,\(hour),\(n)") }
        lines.append("sent_outside_window,,\(r.sentOutsideWindow)")
        lines.append("quiet_hours_deferrals,,\(r.quietHoursDeferrals)")
        lines.append("frequency_cap_deferrals,,\(r.frequencyCapDeferrals)")
        lines.append("frequency_cap_suppressions,,\(r.frequencyCapSuppressions)")
        return lines.joined(separator: "\n") + "\n"
    }

    static func table(_ r: Outbox.ComplianceSendingReport, scope: String) -> String {
        let widest = max(1, r.sendsByLocalHour.max() ?? 0)
        var out = "sending compliance, \(scope)\n  sends by the recipient's local hour\n"
        for (hour, n) in r.sendsByLocalHour.enumerated() {
            let bar = String(repeating: "#", count: n == 0 ? 0 : max(1, n * 40 / widest))
            out += "    " + (hour < 10 ? "0" : "") + "\(hour):00  " + bar.padding(toLength: 40, withPad: " ", startingAt: 0) + "  \(n)\n"
        }
        out += "  sent outside the window   \(r.sentOutsideWindow)" + (r.sentOutsideWindow == 0 ? "\n" : "   (must be 0)\n")
        out += "  quiet-hours deferrals     \(r.quietHoursDeferrals)\n"
        out += "  frequency cap             deferred \(r.frequencyCapDeferrals), suppressed \(r.frequencyCapSuppressions)\n"
        return out
    }
}
