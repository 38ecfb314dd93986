import HTTP
import Support
import Foundation
import Glibc

/// How the console writes figures, times and URLs.
enum ConsoleFormat {
    static func stateName(_ state: String) -> String { state.replacingOccurrences(of: "_", with: " ") }

    /// `2026-12-06 07:03:12Z`.
    static func time(_ date: Date?) -> String {
        guard let date else { return "–" }
        return timestampText(date)
    }

    /// `07:03`, UTC.
    static func minute(_ date: Date) -> String { minuteText(date) }

    /// A share as a percentage with one decimal: `66.7 %`.
    static func percent(_ share: Double) -> String { String(format: "%.1f %%", share * 100) }

    /// Seconds with up to one decimal, or a dash.
    static func seconds(_ value: Double?) -> String {
        guard let value else { return "–" }
        return String(format: "%.1f s", value)
    }

    static func perMinute(_ value: Double) -> String { String(format: "%.1f", value) }

    /// Minutes left: `12 min`, `3 h 5 min`, or a dash.
    static func eta(_ minutes: Double?) -> String {
        guard let minutes, minutes.isFinite else { return "–" }
        let m = Int(minutes.rounded(.up))
        return m < 60 ? "\(m) min" : "\(m / 60) h \(m % 60) min"
    }

    static func number(_ value: Double) -> String {
        value >= 1e8 ? "unlimited" : (value == value.rounded() ? String(Int(value)) : String(format: "%.2f", value))
    }

    /// The UTC calendar fields of `date` (gmtime_r: no shared formatter).
    private static func utc(_ date: Date) -> tm {
        var t = time_t(date.timeIntervalSince1970.rounded(.down))
        var fields = tm()
        gmtime_r(&t, &fields)
        return fields
    }

    private static func timestampText(_ date: Date) -> String {
        let t = utc(date)
        return String(format: "%04d-%02d-%02d %02d:%02d:%02dZ", Int(t.tm_year) + 1900, Int(t.tm_mon) + 1, Int(t.tm_mday),
                      Int(t.tm_hour), Int(t.tm_min), Int(t.tm_sec))
    }

    private static func minuteText(_ date: Date) -> String {
        let t = utc(date)
        return String(format: "%02d:%02d", Int(t.tm_hour), Int(t.tm_min))
    }
}

/// Console URLs, every value percent-encoded (then HTML-escaped where it is interpolated).
enum ConsoleURL {
    static let root = "/console/"

    static func campaign(_ name: String) -> String { "/console/campaigns/" + segment(name) }
    static func campaignAction(_ name: String, _ action: String) -> String { campaign(name) + "/" + action }
    static func message(_ id: Int64) -> String { "/console/messages/\(id)" }
    static let messages = "/console/messages"
    static let limits = "/console/limits"
    static let limitResume = "/console/limits/resume"

    /// `path?name=value&…` with the values form-encoded; nil values are left out.
    static func with(_ path: String, _ query: [(String, String?)]) -> String {
        let parts = query.compactMap { name, value in value.map { segment(name) + "=" + segment($0) } }
        return parts.isEmpty ? path : path + "?" + parts.joined(separator: "&")
    }

    /// Percent-encodes everything but the unreserved characters.
    static func segment(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }
}
