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

    /// The sending figures as CSV rows: (section, key, value).
    static func rows(_ r: Outbox.ComplianceSendingReport?) -> [(String, String, Int)] {
        guard let r else { return [] }
        return r.sendsByLocalHour.enumerated().map { ("sends_by_local_hour", String($0.offset), $0.element) } + [
            ("sent_outside_window", "", r.sentOutsideWindow),
            ("quiet_hours_deferrals", "", r.quietHoursDeferrals),
            ("frequency_cap_deferrals", "", r.frequencyCapDeferrals),
            ("frequency_cap_suppressions", "", r.frequencyCapSuppressions),
        ]
    }

    static func table(_ r: Outbox.ComplianceSendingReport) -> String {
        let widest = max(1, r.sendsByLocalHour.max() ?? 0)
        var out = "sending\n  sends by the recipient's local hour\n"
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
