public import Foundation

/// The local hours during which a campaign may send, e.g. 09:00–20:00 America/New_York.
///
/// `start` is inclusive and `end` exclusive, in local wall-clock time of `timeZone`.
/// An `end` earlier than `start` is an overnight window (22:00–06:00); `24:00` is
/// accepted as an end. Offsets come from the time zone database for each instant, so
/// windows stay right across DST changes. When the start time does not exist on a
/// day (it falls in a spring-forward gap), the window opens at the first instant whose
/// wall-clock time is at or after it — the moment of the transition.
public struct SendWindow: Sendable, Hashable {
    /// Minutes after local midnight.
    public let startMinute: Int
    public let endMinute: Int
    public let timeZone: TimeZone

    public init(start: String, end: String, timeZone identifier: String) throws(SendWindowError) {
        guard let s = Self.minutes(start, allow24: false) else { throw .invalidTime(field: "start", start) }
        guard let e = Self.minutes(end, allow24: true) else { throw .invalidTime(field: "end", end) }
        guard s != e else { throw .emptyWindow }
        guard !identifier.isEmpty, let zone = TimeZone(identifier: identifier) else { throw .unknownTimeZone(identifier) }
        startMinute = s
        endMinute = e
        timeZone = zone
    }

    /// Whether a message may be sent at `date`.
    public func contains(_ date: Date) -> Bool {
        let (_, second) = local(date)
        let start = startMinute * 60, end = endMinute * 60
        if start < end { return second >= start && second < end }
        return second >= start || second < end
    }

    /// The first instant at or after `date` inside the window.
    public func nextAllowed(atOrAfter date: Date) -> Date {
        if contains(date) { return date }
        let (day, second) = local(date)
        var openDay = day
        if startMinute < endMinute && second >= endMinute * 60 { openDay += 1 }
        // Normally the first candidate is it; a day whose window falls entirely in a
        // DST gap has no sending time, so look at the following days too.
        for k in 0..<8 {
            let candidate = instant(day: openDay + k, second: startMinute * 60)
            if candidate >= date && contains(candidate) { return candidate }
        }
        return instant(day: openDay + 1, second: startMinute * 60)
    }

    /// Local day number (days since 1970-01-01) and second of that day.
    private func local(_ date: Date) -> (day: Int, second: Int) {
        let utc = Int(date.timeIntervalSince1970.rounded(.down))
        let t = utc + timeZone.secondsFromGMT(for: date)
        var day = t / 86_400, second = t % 86_400
        if second < 0 { second += 86_400; day -= 1 }
        return (day, second)
    }

    /// The earliest instant whose local wall-clock time is `day` at `second`, or, when
    /// that time does not exist, the first instant after the gap.
    private func instant(day: Int, second: Int) -> Date {
        let naive = day * 86_400 + second
        let offsets = Set([-86_400, 0, 86_400].map { timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(naive + $0))) })
        let valid = offsets.compactMap { offset -> Int? in
            let t = naive - offset
            return timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(t))) == offset ? t : nil
        }
        if let earliest = valid.min() { return Date(timeIntervalSince1970: Double(earliest)) }
        // In a gap: the transition lies between naive - maxOffset and naive - minOffset.
        let latest = naive - offsets.min()!
        let earliest = naive - offsets.max()!
        if let transition = timeZone.nextDaylightSavingTimeTransition(after: Date(timeIntervalSince1970: Double(earliest - 1))),
           transition.timeIntervalSince1970 <= Double(latest) {
            return transition
        }
        return Date(timeIntervalSince1970: Double(latest))
    }

    private static func minutes(_ text: String, allow24: Bool) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2,
              parts.allSatisfy({ $0.allSatisfy { ("0"..."9").contains($0) } }),
              let h = Int(parts[0]), let m = Int(parts[1]) else { return nil }
        if allow24 && h == 24 && m == 0 { return 1440 }
        guard (0...23).contains(h), (0...59).contains(m) else { return nil }
        return h * 60 + m
    }
}

public enum SendWindowError: Error, Sendable, Hashable, CustomStringConvertible {
    case invalidTime(field: String, String)
    case unknownTimeZone(String)
    case emptyWindow

    public var description: String {
        switch self {
        case let .invalidTime(field, text): "window \(field) '\(text)' is not a time HH:MM"
        case let .unknownTimeZone(name): "unknown time zone '\(name)' (use an IANA name such as America/New_York)"
        case .emptyWindow: "window start and end are the same"
        }
    }
}
