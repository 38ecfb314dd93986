public import Foundation

/// Local hours of one day: `startMinute` inclusive, `endMinute` exclusive, minutes after
/// local midnight, `0 <= startMinute < endMinute <= 1440`.
public struct LocalHours: Sendable, Hashable {
    public let startMinute: Int
    public let endMinute: Int

    public init(_ startMinute: Int, _ endMinute: Int) {
        precondition(0 <= startMinute && startMinute < endMinute && endMinute <= 1440, "invalid local hours")
        self.startMinute = startMinute
        self.endMinute = endMinute
    }

    /// `LocalHours(h: 8, 21)`: 08:00–21:00.
    init(h start: Int, _ end: Int, startMinute: Int = 0) {
        self.init(start * 60 + startMinute, end * 60)
    }

    public static let allDay = LocalHours(0, 1440)

    /// The hours in both, or nil when they do not overlap.
    public func intersection(_ other: LocalHours) -> LocalHours? {
        let s = max(startMinute, other.startMinute), e = min(endMinute, other.endMinute)
        return s < e ? LocalHours(s, e) : nil
    }

    func contains(secondOfDay second: Int) -> Bool {
        second >= startMinute * 60 && second < endMinute * 60
    }
}

/// When sending is allowed in a week, in local time: one span per weekday and a span
/// for holidays (which further narrows that day's span).
public struct WeeklyHours: Sendable, Hashable {
    /// Index 0 is Sunday … 6 Saturday (`Calendar` weekday − 1); nil: no sending that day.
    public let days: [LocalHours?]
    /// On a holiday (`USHolidays`), the day's hours are intersected with this; nil: no sending.
    public let holiday: LocalHours?

    public init(days: [LocalHours?], holiday: LocalHours? = .allDay) {
        precondition(days.count == 7)
        self.days = days
        self.holiday = holiday
    }

    /// The same hours every day.
    public init(every hours: LocalHours) {
        self.init(days: Array(repeating: hours, count: 7))
    }

    /// Weekdays (Mon–Fri), Saturday and Sunday hours.
    init(weekdays: LocalHours?, saturday: LocalHours?, sunday: LocalHours?, holiday: LocalHours? = .allDay) {
        self.init(days: [sunday, weekdays, weekdays, weekdays, weekdays, weekdays, saturday], holiday: holiday)
    }

    /// Allowed only when allowed in both.
    public func intersection(_ other: WeeklyHours) -> WeeklyHours {
        func meet(_ a: LocalHours?, _ b: LocalHours?) -> LocalHours? {
            guard let a, let b else { return nil }
            return a.intersection(b)
        }
        return WeeklyHours(days: zip(days, other.days).map(meet), holiday: meet(holiday, other.holiday))
    }

    /// The hours of a local day: weekday 0 (Sunday) … 6.
    public func hours(weekday: Int, isHoliday: Bool) -> LocalHours? {
        guard let day = days[weekday] else { return nil }
        guard isHoliday else { return day }
        guard let holiday else { return nil }
        return day.intersection(holiday)
    }

    /// Eight `[startMinute, endMinute]` pairs: Sunday … Saturday, then holidays;
    /// `[0, 0]` means no sending, and a holiday pair of `[0, 1440]` means no further limit. For SQL, see `QuietHoursPolicy.compactRules`.
    public var minutes: [[Int]] {
        (days + [holiday]).map { $0.map { [$0.startMinute, $0.endMinute] } ?? [0, 0] }
    }
}

/// A named set of local sending hours by where the recipient is.
///
/// - `us-federal`: 08:00–21:00 in the recipient's local time every day (the TCPA's
///   calling-hours rule, 47 CFR 64.1200(c)(1)), for every recipient.
/// - `us-strict`: `us-federal` intersected with the stricter state rules in
///   `stateRules` (and, for Canadian numbers, the CRTC telemarketing hours). A US or
///   Canadian number whose state is unknown gets the intersection of all of them.
///
/// These presets are conservative defaults, not legal advice; docs/compliance.md lists
/// each rule with its source.
public enum QuietHoursPolicy: String, Sendable, CaseIterable {
    case usFederal = "us-federal"
    case usStrict = "us-strict"

    /// The rule key of a recipient whose place is not known (`NANPAreaCode.ruleKey`).
    public static let unknownKey = "?"
    /// The rule key of `compactRules` used for any key it does not list.
    public static let defaultKey = "*"

    static let federal = WeeklyHours(every: LocalHours(h: 8, 21))

    /// State (and Canadian) hours applied by `us-strict`, before intersecting with
    /// `us-federal`. Keys are `NANPAreaCode.ruleKey` values. docs/compliance.md gives the source of each.
    public static let stateRules: [String: WeeklyHours] = {
        let eightToEight = WeeklyHours(every: LocalHours(h: 8, 20))
        let closedSundayAndHolidays = { (h: LocalHours) in
            WeeklyHours(weekdays: h, saturday: h, sunday: nil, holiday: nil)
        }
        var rules: [String: WeeklyHours] = [
            "US-AL": closedSundayAndHolidays(LocalHours(h: 8, 20)),
            "US-CT": WeeklyHours(every: LocalHours(h: 9, 20)),
            "US-FL": eightToEight,
            "US-KY": WeeklyHours(every: LocalHours(h: 10, 21)),
            "US-LA": closedSundayAndHolidays(LocalHours(h: 8, 20)),
            "US-MA": eightToEight,
            "US-MD": eightToEight,
            "US-MN": WeeklyHours(every: LocalHours(h: 9, 21)),
            "US-MI": WeeklyHours(every: LocalHours(h: 9, 21)),
            "US-MS": closedSundayAndHolidays(LocalHours(h: 8, 20)),
            "US-NM": WeeklyHours(every: LocalHours(h: 9, 21)),
            "US-NV": WeeklyHours(every: LocalHours(h: 9, 20)),
            "US-NJ": eightToEight,
            "US-OK": eightToEight,
            "US-PA": WeeklyHours(weekdays: LocalHours(h: 9, 20), saturday: LocalHours(h: 9, 20),
                                 sunday: LocalHours(h: 13, 20, startMinute: 30), holiday: nil),
            "US-RI": WeeklyHours(weekdays: LocalHours(h: 9, 18), saturday: LocalHours(h: 10, 17), sunday: nil, holiday: nil),
            "US-TX": WeeklyHours(weekdays: LocalHours(h: 9, 21), saturday: LocalHours(h: 9, 21), sunday: LocalHours(h: 12, 21)),
            "US-UT": closedSundayAndHolidays(LocalHours(h: 8, 21)),
            "US-WA": eightToEight,
        ]
        // CRTC Unsolicited Telecommunications Rules: weekdays 09:00–21:30, weekends 10:00–18:00.
        let crtc = WeeklyHours(weekdays: LocalHours(9 * 60, 21 * 60 + 30), saturday: LocalHours(h: 10, 18),
                               sunday: LocalHours(h: 10, 18))
        for province in ["AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT"] {
            rules["CA-\(province)"] = crtc
        }
        return rules
    }()

    /// The hours for a `NANPAreaCode.ruleKey`: `"?"` gets `strictest`, a key without a rule of its own the federal hours.
    public func hours(ruleKey: String) -> WeeklyHours {
        switch self {
        case .usFederal:
            return Self.federal
        case .usStrict:
            if ruleKey == Self.unknownKey { return strictest }
            return Self.stateRules[ruleKey].map { Self.federal.intersection($0) } ?? Self.federal
        }
    }

    /// The intersection of every rule of the policy: what an unknown recipient gets.
    public var strictest: WeeklyHours {
        switch self {
        case .usFederal: Self.federal
        case .usStrict: Self.stateRules.values.reduce(Self.federal) { $0.intersection($1) }
        }
    }

    /// The policy as data for claim-time SQL: rule key → eight `[startMinute, endMinute]`
    /// pairs (Sunday … Saturday, then holidays; `[0, 0]` = closed; the holiday pair narrows
    /// the weekday's, `[0, 1440]` = no holiday rule), local time.
    /// Keys: every key with its own rule, `"*"` for any other known place, `"?"` for unknown.
    ///
    /// With `NANPAreaCodes.compact` (area code → zones and rule key) a query can, for
    /// each zone of the recipient's area code, take `now() AT TIME ZONE zone`, its
    /// `extract(dow …)` (0 = Sunday, like the index here) and minute of day, and require
    /// `start <= minute < end` in every zone; on a date of `USHolidays.dates(year:)`
    /// the holiday pair also applies. An unknown area code uses the campaign's zone with `"?"`.
    public var compactRules: [String: [[Int]]] {
        var out: [String: [[Int]]] = [Self.defaultKey: hours(ruleKey: Self.defaultKey).minutes,
                                      Self.unknownKey: strictest.minutes]
        if self == .usStrict {
            for key in Self.stateRules.keys { out[key] = hours(ruleKey: key).minutes }
        }
        return out
    }
}

/// United States federal holidays (5 U.S.C. 6103), both the date itself and, when it
/// falls on a weekend, the observed Friday or Monday. State rules that forbid calls on
/// "legal holidays" are applied on these dates; states' own extra holidays are not included.
public enum USHolidays {
    /// Every holiday date of `year` as (month, day), sorted.
    public static func dates(year: Int) -> [(month: Int, day: Int)] {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "UTC")!
        func weekday(_ m: Int, _ d: Int) -> Int {
            cal.component(.weekday, from: cal.date(from: DateComponents(year: year, month: m, day: d))!)
        }
        /// The nth (1-based; -1 = last) weekday (1 = Sunday) of a month.
        func nth(_ n: Int, _ wd: Int, of m: Int) -> (Int, Int) {
            let days = cal.range(of: .day, in: .month, for: cal.date(from: DateComponents(year: year, month: m))!)!.count
            let matching = (1...days).filter { weekday(m, $0) == wd }
            return (m, n > 0 ? matching[n - 1] : matching.last!)
        }
        let fixed = [(1, 1), (6, 19), (7, 4), (11, 11), (12, 25)]
        var out = fixed + [nth(3, 2, of: 1), nth(3, 2, of: 2), nth(-1, 2, of: 5), nth(1, 2, of: 9),
                           nth(2, 2, of: 10), nth(4, 5, of: 11)]
        for (m, d) in fixed {
            let date = cal.date(from: DateComponents(year: year, month: m, day: d))!
            let shift = [1: 1, 7: -1][weekday(m, d)]
            if let shift, let observed = cal.date(byAdding: .day, value: shift, to: date),
               cal.component(.year, from: observed) == year {
                out.append((cal.component(.month, from: observed), cal.component(.day, from: observed)))
            }
        }
        // New Year's Day of next year on a Saturday is observed on December 31.
        if weekday(12, 31) == 6, (cal.component(.weekday, from: cal.date(from: DateComponents(year: year + 1, month: 1, day: 1))!)) == 7 {
            out.append((12, 31))
        }
        return out.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map { (month: $0.0, day: $0.1) }
    }

    /// Whether a local date is a holiday.
    public static func contains(year: Int, month: Int, day: Int) -> Bool {
        dates(year: year).contains { $0.month == month && $0.day == day }
    }
}

/// A campaign's own sending window: local times of day, in a fixed zone or in each
/// recipient's zone (`"tz": "recipient"`). `end` before `start` is an overnight window.
public struct CampaignWindow: Sendable, Hashable {
    public let startMinute: Int
    public let endMinute: Int
    /// nil: the recipient's zone(s).
    public let timeZone: TimeZone?

    public init(startMinute: Int, endMinute: Int, timeZone: TimeZone?) {
        self.startMinute = startMinute
        self.endMinute = endMinute
        self.timeZone = timeZone
    }

    /// `CampaignWindow(start: "09:00", end: "20:00", timeZone: "recipient")`, or an IANA zone name.
    public init(start: String, end: String, timeZone: String) throws(SendWindowError) {
        let recipient = timeZone == "recipient"
        let parsed = try SendWindow(start: start, end: end, timeZone: recipient ? "UTC" : timeZone)
        self.init(startMinute: parsed.startMinute, endMinute: parsed.endMinute, timeZone: recipient ? nil : parsed.timeZone)
    }

    /// A job's fixed-zone window.
    public init(_ window: SendWindow) {
        self.init(startMinute: window.startMinute, endMinute: window.endMinute, timeZone: window.timeZone)
    }

    func contains(secondOfDay second: Int) -> Bool {
        let s = startMinute * 60, e = endMinute * 60
        return s < e ? (second >= s && second < e) : (second >= s || second < e)
    }
}

/// Whether a message may go now, and if not, when.
public enum QuietHoursDecision: Sendable, Hashable {
    case allowed
    /// Defer the message to this instant (never drop it).
    case deferred(until: Date)
    /// No instant in the next two weeks is allowed in every zone and window (a fixed-zone
    /// campaign window that never overlaps the recipient's hours): hold the message for an operator.
    case noCommonWindow
}

/// Quiet hours for one campaign: its policy, its window and its own zone.
///
/// For a number, the constraints are: the policy's hours in each of the area code's
/// zones (for its state, `NANPAreaCode.ruleKey`), and the campaign window, in its fixed
/// zone or in each recipient zone. Sending is allowed only when every constraint
/// allows it; the next allowed instant is the earliest at which all do. A number whose
/// area code is unknown (or not NANP) uses `fallbackTimeZone` and the policy's
/// `strictest` hours. Local times come from `Calendar` with the zone for each day, so
/// answers stay right across DST changes.
public struct QuietHours: Sendable {
    public let policy: QuietHoursPolicy?
    public let window: CampaignWindow?
    public let fallbackTimeZone: TimeZone

    public init(policy: QuietHoursPolicy?, window: CampaignWindow?, fallbackTimeZone: TimeZone) {
        self.policy = policy
        self.window = window
        self.fallbackTimeZone = fallbackTimeZone
    }

    /// Days searched for the next allowed instant.
    static let horizonDays = 14

    private struct Constraint {
        let zone: TimeZone
        let weekly: WeeklyHours?
        let window: CampaignWindow?

        func allows(_ date: Date) -> Bool {
            let local = LocalTime(date, in: zone)
            if let weekly {
                let holiday = weekly.holiday != .allDay && local.isHoliday
                guard let h = weekly.hours(weekday: local.weekday, isHoliday: holiday),
                      h.contains(secondOfDay: local.secondOfDay) else { return false }
            }
            if let window, !window.contains(secondOfDay: local.secondOfDay) { return false }
            return true
        }

        /// Minutes of a local day at which this constraint may open.
        var openingMinutes: Set<Int> {
            var m: Set<Int> = [0]
            if let weekly { for h in weekly.days + [weekly.holiday] { if let h { m.insert(h.startMinute) } } }
            if let window { m.insert(window.startMinute) }
            return m
        }
    }

    /// The zones the number's local time is taken in: the area code's, or the fallback.
    public func timeZones(for e164: String) -> [TimeZone] {
        NANPAreaCodes.entry(e164: e164)?.timeZoneIdentifiers.compactMap(TimeZone.init(identifier:)) ?? [fallbackTimeZone]
    }

    private func constraints(for e164: String) -> [Constraint] {
        let entry = NANPAreaCodes.entry(e164: e164)
        let zones = timeZones(for: e164)
        let ruleKey = entry?.ruleKey ?? QuietHoursPolicy.unknownKey
        let weekly = policy.map { $0.hours(ruleKey: ruleKey) }
        var out = zones.map { Constraint(zone: $0, weekly: weekly, window: window?.timeZone == nil ? window : nil) }
        if let window, let tz = window.timeZone { out.append(Constraint(zone: tz, weekly: nil, window: window)) }
        return out
    }

    /// Whether a message to `e164` may be sent at `now`.
    public func isAllowed(_ e164: String, at now: Date) -> Bool {
        constraints(for: e164).allSatisfy { $0.allows(now) }
    }

    /// `.allowed`, or when to defer the message to.
    public func decision(for e164: String, at now: Date) -> QuietHoursDecision {
        let cs = constraints(for: e164)
        if cs.allSatisfy({ $0.allows(now) }) { return .allowed }
        // The set of allowed instants opens only where some constraint opens: at one of
        // its opening wall-clock times in its zone (or a DST transition). Try them in order.
        var candidates: [Date] = []
        for c in cs {
            var cal = Calendar(identifier: .gregorian)
            cal.timeZone = c.zone
            let today = cal.dateComponents([.year, .month, .day], from: now)
            let minutes = c.openingMinutes
            for offset in 0...Self.horizonDays {
                var dc = today
                dc.day! += offset
                dc.hour = 0
                dc.minute = 0
                for minute in minutes {
                    dc.hour = minute / 60
                    dc.minute = minute % 60
                    if let d = cal.date(from: dc), d > now { candidates.append(d) }
                }
            }
            var t = now
            while let next = c.zone.nextDaylightSavingTimeTransition(after: t),
                  next.timeIntervalSince(now) < Double(Self.horizonDays) * 86_400 {
                candidates.append(next)
                t = next
            }
        }
        for candidate in candidates.sorted() where cs.allSatisfy({ $0.allows(candidate) }) {
            return .deferred(until: candidate)
        }
        return .noCommonWindow
    }
}

/// A date's local weekday, second of day and holiday status in a zone.
struct LocalTime {
    let year: Int, month: Int, day: Int
    let weekday: Int
    let secondOfDay: Int
    var isHoliday: Bool { USHolidays.contains(year: year, month: month, day: day) }

    init(_ date: Date, in zone: TimeZone) {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = zone
        let c = cal.dateComponents([.year, .month, .day, .weekday, .hour, .minute, .second], from: date)
        weekday = c.weekday! - 1
        secondOfDay = c.hour! * 3600 + c.minute! * 60 + c.second!
        year = c.year!
        month = c.month!
        day = c.day!
    }
}
