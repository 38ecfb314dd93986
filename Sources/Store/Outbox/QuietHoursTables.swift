import Foundation
import Jobs

/// Fills migration 9's quiet-hours tables from the compiled-in Swift tables, with bound
/// arrays and `unnest` (no data spliced into SQL text). Idempotent: it empties them first,
/// so a later migration can call it again after the generated area-code table changes.
public enum QuietHoursTables {
    /// Holiday dates are loaded for these years (local dates; a policy's holiday rule does
    /// not apply outside them).
    public static let holidayYears = 2020...2060

    public static func load(_ connection: Connection) async throws {
        let codes = NANPAreaCodes.compact.sorted { $0.key < $1.key }
        try await connection.execute("DELETE FROM dispatcher_area_codes")
        try await connection.execute("""
            INSERT INTO dispatcher_area_codes (npa, zones, rule_key)
            SELECT npa, string_to_array(zones, ' '), rule_key
              FROM unnest(\(codes.map(\.key))::integer[], \(codes.map { $0.value.zones.joined(separator: " ") }), \(codes.map(\.value.ruleKey)))
                   AS t(npa, zones, rule_key)
            """)
        var policy: [String] = [], key: [String] = [], dow: [Int] = [], start: [Int] = [], end: [Int] = []
        for p in QuietHoursPolicy.allCases {
            for (k, pairs) in p.compactRules.sorted(by: { $0.key < $1.key }) {
                for (d, pair) in pairs.enumerated() {
                    policy.append(p.rawValue); key.append(k); dow.append(d); start.append(pair[0]); end.append(pair[1])
                }
            }
        }
        try await connection.execute("DELETE FROM dispatcher_quiet_rules")
        try await connection.execute("""
            INSERT INTO dispatcher_quiet_rules (policy, rule_key, dow, start_minute, end_minute)
            SELECT * FROM unnest(\(policy), \(key), \(dow)::integer[], \(start)::integer[], \(end)::integer[])
            """)
        var days: [String] = []
        for year in holidayYears {
            for d in USHolidays.dates(year: year) {
                days.append(String(format: "%04d-%02d-%02d", year, d.month, d.day))
            }
        }
        try await connection.execute("DELETE FROM dispatcher_holidays")
        try await connection.execute("""
            INSERT INTO dispatcher_holidays (day) SELECT DISTINCT unnest(\(days)::date[])
            """)
    }
}
