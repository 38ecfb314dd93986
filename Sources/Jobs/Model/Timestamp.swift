public import Foundation

/// ISO 8601 instants as job files write them: `2026-11-23T14:00:00Z`,
/// `2026-11-23T09:00:00-05:00`, optional fractional seconds, offset required.
///
/// Parsed by hand rather than with `ISO8601DateFormatter` so that a missing offset
/// gets its own clear error and nothing depends on formatter options or locale.
public enum Timestamp {
    /// Parses `YYYY-MM-DDTHH:MM[:SS[.fff…]](Z|±HH:MM|±HHMM)`. `T` may be a space.
    public static func parse(_ text: String) throws(TimestampError) -> Date {
        let s = Array(text.trimmingASCIISpaces().utf8)
        var i = 0
        func number(_ count: Int) throws(TimestampError) -> Int {
            guard i + count <= s.count else { throw .malformed }
            var value = 0
            for k in i..<(i + count) {
                let b = s[k]
                guard b >= 0x30 && b <= 0x39 else { throw .malformed }
                value = value * 10 + Int(b - 0x30)
            }
            i += count
            return value
        }
        func expect(_ c: Character) throws(TimestampError) {
            guard i < s.count, s[i] == c.asciiValue! else { throw .malformed }
            i += 1
        }
        let year = try number(4)
        try expect("-")
        let month = try number(2)
        try expect("-")
        let day = try number(2)
        guard i < s.count, s[i] == UInt8(ascii: "T") || s[i] == UInt8(ascii: "t") || s[i] == UInt8(ascii: " ") else {
            throw i == s.count ? .missingTime : .malformed
        }
        i += 1
        let hour = try number(2)
        try expect(":")
        let minute = try number(2)
        var second = 0
        var fraction = 0.0
        if i < s.count && s[i] == UInt8(ascii: ":") {
            i += 1
            second = try number(2)
            if i < s.count && (s[i] == UInt8(ascii: ".") || s[i] == UInt8(ascii: ",")) {
                i += 1
                var scale = 0.1
                let start = i
                while i < s.count, s[i] >= 0x30, s[i] <= 0x39 {
                    fraction += Double(s[i] - 0x30) * scale
                    scale /= 10
                    i += 1
                }
                guard i > start else { throw .malformed }
            }
        }
        guard (1...12).contains(month), (1...daysInMonth(year, month)).contains(day),
              hour <= 23, minute <= 59, second <= 59 else { throw .outOfRange }
        guard i < s.count else { throw .missingOffset }
        var offset = 0
        switch s[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let sign = s[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
            let oh = try number(2)
            if i < s.count && s[i] == UInt8(ascii: ":") { i += 1 }
            let om = try number(2)
            guard oh <= 18, om <= 59 else { throw .outOfRange }
            offset = sign * (oh * 3600 + om * 60)
        default:
            throw .malformed
        }
        guard i == s.count else { throw .malformed }
        let days = daysFromCivil(year, month, day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    /// `2026-11-23T14:00:00Z`, with milliseconds only when there are any.
    public static func format(_ date: Date) -> String {
        let t = date.timeIntervalSince1970
        let whole = Int(t.rounded(.down))
        let millis = Int(((t - Double(whole)) * 1000).rounded())
        var days = whole / 86_400
        var rest = whole % 86_400
        if rest < 0 { rest += 86_400; days -= 1 }
        let (y, m, d) = civilFromDays(days)
        var out = "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(rest / 3600, 2)):\(pad(rest % 3600 / 60, 2)):\(pad(rest % 60, 2))"
        if millis > 0 && millis < 1000 { out += "." + pad(millis, 3) }
        return out + "Z"
    }

    private static func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    static func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    static func daysInMonth(_ y: Int, _ m: Int) -> Int {
        switch m {
        case 2: isLeap(y) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}

public enum TimestampError: Error, Sendable, Hashable, CustomStringConvertible {
    case malformed
    case missingTime
    case missingOffset
    case outOfRange

    public var description: String {
        switch self {
        case .malformed: "not an ISO 8601 time (expected e.g. 2026-11-23T14:00:00Z or 2026-11-23T09:00:00-05:00)"
        case .missingTime: "a date without a time: write the time and a UTC offset, e.g. 2026-11-23T14:00:00Z"
        case .missingOffset: "the time has no UTC offset: add Z or an offset such as -05:00"
        case .outOfRange: "a date or time field is out of range"
        }
    }
}
