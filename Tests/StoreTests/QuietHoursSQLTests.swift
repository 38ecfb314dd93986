import Foundation
import Jobs
import Store
import TestSupport
import Testing

/// The claim-time SQL (`dispatcher_send_allowed`, `dispatcher_next_allowed`, migration 9)
/// must give the Swift `QuietHours` answers.
/// Serialized, and the Swift answers computed on a thread of their own: that side is
/// CPU-bound and must not hold the cooperative threads (two on a two-core host) other suites need.
@Suite(.serialized) struct QuietHoursSQLTests {
    /// Numbers of every zone class: one zone (NY, Chicago, Phoenix, LA), two and three zones
    /// (850, 208), states with their own rules (TX, PA, UT, FL), Canada, Puerto Rico, an area
    /// code with no state (257), toll-free, non-NANP and malformed numbers.
    static let numbers = [
        "+12125550100", "+13125550100", "+16025550100", "+12135550100", "+18505550100", "+12085550100",
        "+15125550100", "+12155550100", "+18015550100", "+19545550100", "+14165550100", "+17875550100",
        "+12575550100", "+18005550100", "+442071234567", "",
    ]

    /// Instants on ordinary days, both 2026 DST change days, holidays (observed Independence
    /// Day, Thanksgiving, Christmas, MLK day) and a Sunday: every 6 hours UTC, plus 07:59:59,
    /// 08:00, 20:59:59 and 21:00 local in four zones.
    static let instants: [Date] = {
        var out: [Date] = []
        let days = [(2026, 3, 7), (2026, 3, 8), (2026, 11, 1), (2026, 7, 3), (2026, 11, 26), (2026, 12, 25), (2026, 1, 19), (2026, 6, 14)]
        for (y, m, d) in days {
            var utc = Calendar(identifier: .gregorian)
            utc.timeZone = TimeZone(identifier: "UTC")!
            let midnight = utc.date(from: DateComponents(year: y, month: m, day: d))!
            for step in 0..<4 { out.append(midnight.addingTimeInterval(Double(step) * 21_600)) }
            for zone in ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"] {
                var cal = Calendar(identifier: .gregorian)
                cal.timeZone = TimeZone(identifier: zone)!
                for (h, mi, s) in [(7, 59, 59), (8, 0, 0), (20, 59, 59), (21, 0, 0)] {
                    out.append(cal.date(from: DateComponents(year: y, month: m, day: d, hour: h, minute: mi, second: s))!)
                }
            }
        }
        return out
    }()

    struct Case: Sendable, CustomStringConvertible {
        var policy: QuietHoursPolicy?
        var window: (start: String, end: String, tz: String)?
        var description: String { "\(policy?.rawValue ?? "none") \(window.map { "\($0.start)-\($0.end) \($0.tz)" } ?? "no window")" }
    }

    static let cases: [Case] = [
        Case(policy: .usFederal),
        Case(policy: .usStrict),
        Case(policy: .usFederal, window: ("09:00", "17:00", "recipient")),
        Case(policy: .usStrict, window: ("10:00", "16:00", "America/Denver")),
        Case(policy: nil, window: ("22:00", "06:00", "recipient")),
        Case(policy: .usStrict, window: ("02:00", "04:00", "UTC")),
    ]

    @Test(arguments: cases)
    func sqlAgreesWithSwift(_ c: Case) async throws {
        let db = try await TestPostgres.database()
        let conn = try await db.connect()
        let fallback = "America/Chicago"
        let window = try c.window.map { try CampaignWindow(start: $0.start, end: $0.end, timeZone: $0.tz) }
        let swift = QuietHours(policy: c.policy, window: window, fallbackTimeZone: TimeZone(identifier: fallback)!)
        var numbers: [String] = [], ats: [Date] = []
        for n in Self.numbers { for t in Self.instants { numbers.append(n); ats.append(t) } }
        let rows = try await conn.query("""
            SELECT dispatcher_send_allowed(n, \(c.window?.start)::time, \(c.window?.end)::time, \(c.window?.tz),
                                           \(c.policy?.rawValue), \(fallback), t),
                   dispatcher_next_allowed(n, \(c.window?.start)::time, \(c.window?.end)::time, \(c.window?.tz),
                                           \(c.policy?.rawValue), \(fallback), t)
              FROM unnest(\(numbers), \(ats)) WITH ORDINALITY AS x(n, t, i)
             ORDER BY i
            """)
        #expect(rows.count == numbers.count)
        let sql = try rows.map { try $0.decode((Bool, Date?).self) }
        let expectations = await Self.onOwnThread { [numbers, ats] in
            zip(numbers, ats).map { swift.decision(for: $0, at: $1) }
        }
        var mismatches: [String] = []
        var denied = 0, held = 0
        for (i, (allowed, next)) in sql.enumerated() {
            let expected = expectations[i]
            let sqlAnswer: QuietHoursDecision = allowed ? .allowed : next.map { .deferred(until: $0) } ?? .noCommonWindow
            if !allowed { denied += 1 }
            if case .noCommonWindow = expected { held += 1 }
            if allowed, next != ats[i] { mismatches.append("\(numbers[i].suffix(4)) \(ats[i]): allowed but next \(String(describing: next))") }
            if sqlAnswer != expected, mismatches.count < 20 {
                mismatches.append("#\(i) \(numbers[i]) at \(Timestamp.format(ats[i])): SQL \(sqlAnswer), Swift \(expected)")
            }
        }
        #expect(mismatches.isEmpty, "\(c): \(mismatches.joined(separator: "\n"))")
        // the cases are not vacuous: some instants are outside the hours
        #expect(denied > 0)
        if c.window?.tz == "UTC" { #expect(held > 0) }
        await conn.close()
    }

    static func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: work()) }.start()
        }
    }
}
