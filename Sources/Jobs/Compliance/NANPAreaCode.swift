/// One North American Numbering Plan area code: where its numbers are.
///
/// The table (`NANPAreaCodes.all`) is generated from libphonenumber's metadata by
/// `scripts/gen-nanp-area-codes.py`; see docs/compliance.md.
public struct NANPAreaCode: Sendable, Hashable {
    /// The three-digit area code (NPA), e.g. 212.
    public let areaCode: Int
    /// Country or territory as libphonenumber names it (ISO 3166-1 alpha-2): US, CA, PR, JM, …
    public let country: String
    /// State or province postal code for US and CA numbers (NY, ON), nil elsewhere or
    /// when the source does not say.
    public let region: String?
    /// Every IANA zone the area code's exchanges lie in, sorted. More than one when the
    /// area code spans zones (850: Chicago and New York); quiet hours then hold in all.
    public let timeZoneIdentifiers: [String]

    init(_ areaCode: Int, _ country: String, _ region: String?, _ timeZoneIdentifiers: [String]) {
        self.areaCode = areaCode
        self.country = country
        self.region = region
        self.timeZoneIdentifiers = timeZoneIdentifiers
    }

    /// The key of the quiet-hours rules that apply: `"US-FL"`, `"CA-ON"`; the country
    /// alone (`"PR"`) outside the US and Canada; `"?"` for a US or Canadian area code
    /// whose state or province is not known, which gets the strictest rules.
    public var ruleKey: String {
        if let region { return "\(country)-\(region)" }
        return country == "US" || country == "CA" ? QuietHoursPolicy.unknownKey : country
    }
}

public enum NANPAreaCodes {
    /// Every area code of the table, in ascending order.
    public static var all: [NANPAreaCode] { rows }

    private static let index: [Int: NANPAreaCode] = Dictionary(uniqueKeysWithValues: rows.map { ($0.areaCode, $0) })

    /// The entry for an area code, or nil when the table does not know it.
    public static func entry(areaCode: Int) -> NANPAreaCode? { index[areaCode] }

    /// The entry for an E.164 number `+1NPANXXXXXX`, or nil for other numbers and unknown area codes.
    public static func entry(e164: String) -> NANPAreaCode? {
        let u = Array(e164.utf8)
        guard u.count == 12, u[0] == UInt8(ascii: "+"), u[1] == UInt8(ascii: "1"),
              u[2...].allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
        let npa = Int(u[2] - 48) * 100 + Int(u[3] - 48) * 10 + Int(u[4] - 48)
        return index[npa]
    }

    /// The compact form for SQL: area code → (zones, rule key). Joined with
    /// `QuietHoursPolicy.compactRules` it lets a query test `now() AT TIME ZONE zone`.
    public static var compact: [Int: (zones: [String], ruleKey: String)] {
        index.mapValues { ($0.timeZoneIdentifiers, $0.ruleKey) }
    }
}
