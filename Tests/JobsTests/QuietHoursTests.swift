import Foundation
import Testing
@testable import Jobs

@Suite struct NANPAreaCodeTableTests {
    @Test func everyEntryHasValidZones() {
        #expect(NANPAreaCodes.all.count > 400)
        var seen = Set<Int>()
        for entry in NANPAreaCodes.all {
            #expect((200...999).contains(entry.areaCode))
            #expect(seen.insert(entry.areaCode).inserted, "duplicate \(entry.areaCode)")
            #expect(!entry.timeZoneIdentifiers.isEmpty, "\(entry.areaCode) has no zone")
            for zone in entry.timeZoneIdentifiers {
                #expect(TimeZone(identifier: zone) != nil, "\(entry.areaCode): \(zone) is not a known zone")
            }
            if entry.country == "US" || entry.country == "CA", let region = entry.region {
                #expect(region.count == 2 && region.allSatisfy(\.isUppercase))
            }
        }
        #expect(NANPAreaCodes.source.contains("phonenumbers 9.0.43"))
    }

    @Test(arguments: [
        (212, "US", "NY", ["America/New_York"]),
        (415, "US", "CA", ["America/Los_Angeles"]),
        (312, "US", "IL", ["America/Chicago"]),
        (808, "US", "HI", ["Pacific/Honolulu"]),
        (416, "CA", "ON", ["America/Toronto"]),
        (602, "US", "AZ", ["America/Phoenix"]),
        (305, "US", "FL", ["America/New_York"]),
        (915, "US", "TX", ["America/Denver"]),
        // Area codes that span zones keep all of them.
        (850, "US", "FL", ["America/Chicago", "America/New_York"]),
        (605, "US", "SD", ["America/Chicago", "America/Denver", "America/North_Dakota/Center"]),
        (208, "US", "ID", ["America/Boise", "America/Denver", "America/Los_Angeles"]),
        (270, "US", "KY", ["America/Chicago", "America/New_York"]),
    ] as [(Int, String, String, [String])])
    func knownAreaCodes(code: Int, country: String, region: String, zones: [String]) throws {
        let entry = try #require(NANPAreaCodes.entry(areaCode: code))
        #expect(entry.country == country)
        #expect(entry.region == region)
        #expect(entry.timeZoneIdentifiers == zones)
        #expect(entry.ruleKey == "\(country)-\(region)")
    }

    @Test func alaskaAndTerritories() throws {
        let ak = try #require(NANPAreaCodes.entry(areaCode: 907))
        #expect(ak.region == "AK")
        #expect(ak.timeZoneIdentifiers.contains("America/Anchorage"))
        let pr = try #require(NANPAreaCodes.entry(areaCode: 787))
        #expect(pr.country == "PR" && pr.region == nil && pr.ruleKey == "PR")
        #expect(pr.timeZoneIdentifiers == ["America/Puerto_Rico"])
    }

    @Test func lookupByNumber() {
        #expect(NANPAreaCodes.entry(e164: "+12125550100")?.areaCode == 212)
        #expect(NANPAreaCodes.entry(e164: "+18005550100") == nil, "toll-free has no place")
        #expect(NANPAreaCodes.entry(e164: "+442071234567") == nil)
        #expect(NANPAreaCodes.entry(e164: "12125550100") == nil)
        #expect(NANPAreaCodes.entry(e164: "+1212555010") == nil)
        #expect(NANPAreaCodes.compact[850]?.zones == ["America/Chicago", "America/New_York"])
        #expect(NANPAreaCodes.compact[850]?.ruleKey == "US-FL")
    }
}

@Suite struct QuietHoursWindowTests {
    let federal = QuietHours(policy: .usFederal, window: nil, fallbackTimeZone: TimeZone(identifier: "America/New_York")!)
    let strict = QuietHours(policy: .usStrict, window: nil, fallbackTimeZone: TimeZone(identifier: "America/New_York")!)

    /// A number of each zone, with the zone's standard and daylight offsets.
    static let zones: [(number: String, std: String, dst: String)] = [
        ("+12125550100", "-05:00", "-04:00"), // New York
        ("+13125550100", "-06:00", "-05:00"), // Chicago
        ("+16025550100", "-07:00", "-07:00"), // Phoenix: no DST
        ("+14155550100", "-08:00", "-07:00"), // Los Angeles
    ]

    func expectDeferred(_ q: QuietHours, _ number: String, _ at: String, to expected: String,
                        sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!q.isAllowed(number, at: date(at)), "\(number) at \(at)", sourceLocation: sourceLocation)
        #expect(q.decision(for: number, at: date(at)) == .deferred(until: date(expected)), "\(number) at \(at)",
                sourceLocation: sourceLocation)
    }

    func expectAllowed(_ q: QuietHours, _ number: String, _ at: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(q.isAllowed(number, at: date(at)), "\(number) at \(at)", sourceLocation: sourceLocation)
        #expect(q.decision(for: number, at: date(at)) == .allowed, "\(number) at \(at)", sourceLocation: sourceLocation)
    }

    @Test(arguments: zones)
    func ordinaryDay(zone: (number: String, std: String, dst: String)) {
        let n = zone.number, s = zone.std
        expectDeferred(federal, n, "2026-01-14T07:59:00\(s)", to: "2026-01-14T08:00:00\(s)")
        expectAllowed(federal, n, "2026-01-14T08:00:00\(s)")
        expectAllowed(federal, n, "2026-01-14T20:59:59\(s)")
        expectDeferred(federal, n, "2026-01-14T21:00:00\(s)", to: "2026-01-15T08:00:00\(s)")
        expectDeferred(federal, n, "2026-01-14T23:30:00\(s)", to: "2026-01-15T08:00:00\(s)")
    }

    @Test(arguments: zones)
    func springForward(zone: (number: String, std: String, dst: String)) {
        // 2026-03-08: clocks go forward at 02:00 (not in Phoenix).
        let n = zone.number, s = zone.std, d = zone.dst
        expectDeferred(federal, n, "2026-03-07T21:00:00\(s)", to: "2026-03-08T08:00:00\(d)")
        expectDeferred(federal, n, "2026-03-08T01:30:00\(s)", to: "2026-03-08T08:00:00\(d)")
        expectDeferred(federal, n, "2026-03-08T07:59:00\(d)", to: "2026-03-08T08:00:00\(d)")
        expectAllowed(federal, n, "2026-03-08T08:00:00\(d)")
        expectAllowed(federal, n, "2026-03-08T20:59:00\(d)")
        expectDeferred(federal, n, "2026-03-08T21:00:00\(d)", to: "2026-03-09T08:00:00\(d)")
    }

    @Test(arguments: zones)
    func fallBack(zone: (number: String, std: String, dst: String)) {
        // 2026-11-01: clocks go back at 02:00 (not in Phoenix).
        let n = zone.number, s = zone.std, d = zone.dst
        expectDeferred(federal, n, "2026-10-31T21:00:00\(d)", to: "2026-11-01T08:00:00\(s)")
        expectDeferred(federal, n, "2026-11-01T01:30:00\(d)", to: "2026-11-01T08:00:00\(s)")
        expectDeferred(federal, n, "2026-11-01T07:59:00\(s)", to: "2026-11-01T08:00:00\(s)")
        expectAllowed(federal, n, "2026-11-01T20:59:00\(s)")
        expectDeferred(federal, n, "2026-11-01T21:00:00\(s)", to: "2026-11-02T08:00:00\(s)")
    }

    @Test func spanningAreaCodeTakesTheNarrowestHours() {
        // 850 (Florida panhandle): Central and Eastern, and Florida ends at 20:00.
        // Open when 08:00 has come in Chicago (09:00 New York) until 20:00 in New York.
        let n = "+18505550100"
        expectDeferred(strict, n, "2026-06-10T08:30:00-04:00", to: "2026-06-10T09:00:00-04:00")
        expectAllowed(strict, n, "2026-06-10T19:59:00-04:00")
        expectDeferred(strict, n, "2026-06-10T20:00:00-04:00", to: "2026-06-11T09:00:00-04:00")
        // Federal only: 09:00–21:00 Eastern.
        expectAllowed(federal, n, "2026-06-10T20:30:00-04:00")
        expectDeferred(federal, n, "2026-06-10T21:00:00-04:00", to: "2026-06-11T09:00:00-04:00")
    }

    @Test func floridaEndsAtEight() {
        let n = "+13055550100"
        expectAllowed(strict, n, "2026-06-10T19:59:00-04:00")
        expectDeferred(strict, n, "2026-06-10T20:00:00-04:00", to: "2026-06-11T08:00:00-04:00")
        expectAllowed(federal, n, "2026-06-10T20:00:00-04:00")
    }

    @Test func texasSunday() {
        let dallas = "+12145550100"
        // Saturday 2026-12-05: 09:00–21:00; Sunday 2026-12-06: noon–21:00.
        expectDeferred(strict, dallas, "2026-12-05T08:30:00-06:00", to: "2026-12-05T09:00:00-06:00")
        expectDeferred(strict, dallas, "2026-12-05T21:00:00-06:00", to: "2026-12-06T12:00:00-06:00")
        expectDeferred(strict, dallas, "2026-12-06T10:00:00-06:00", to: "2026-12-06T12:00:00-06:00")
        expectAllowed(strict, dallas, "2026-12-06T12:00:00-06:00")
        expectAllowed(federal, dallas, "2026-12-06T10:00:00-06:00")
        // El Paso is in Texas too, on Mountain time.
        expectDeferred(strict, "+19155550100", "2026-12-06T10:00:00-07:00", to: "2026-12-06T12:00:00-07:00")
    }

    @Test func connecticutOpensAtNine() {
        expectDeferred(strict, "+12035550100", "2026-06-10T08:30:00-04:00", to: "2026-06-10T09:00:00-04:00")
    }

    @Test func rhodeIslandWeekendsAndHolidays() {
        let n = "+14015550100"
        // Saturday 10:00–17:00, no Sunday: Saturday 17:00 → Monday 09:00.
        expectDeferred(strict, n, "2026-12-05T17:00:00-05:00", to: "2026-12-07T09:00:00-05:00")
        expectAllowed(strict, n, "2026-12-05T16:59:00-05:00")
        // Thursday 2026-12-24 18:00 → not Christmas (Friday) → Saturday 10:00.
        expectDeferred(strict, n, "2026-12-24T18:00:00-05:00", to: "2026-12-26T10:00:00-05:00")
        // Across the year: Thursday 2026-12-31 18:00 → New Year's Day (Friday) → Saturday 2027-01-02 10:00.
        expectDeferred(strict, n, "2026-12-31T18:00:00-05:00", to: "2027-01-02T10:00:00-05:00")
    }

    @Test func utahSkipsSundayAndLaborDay() {
        // Saturday 2026-09-05 21:00 → not Sunday, not Labor Day (Monday 7th) → Tuesday 08:00.
        expectDeferred(strict, "+18015550100", "2026-09-05T21:00:00-06:00", to: "2026-09-08T08:00:00-06:00")
        expectAllowed(federal, "+18015550100", "2026-09-07T10:00:00-06:00")
    }

    @Test func canadaUsesTheCRTCHours() {
        let toronto = "+14165550100"
        // Weekends 10:00–18:00; weekdays 09:00–21:30, cut to 21:00 by the federal hours.
        expectDeferred(strict, toronto, "2026-12-05T18:00:00-05:00", to: "2026-12-06T10:00:00-05:00")
        expectDeferred(strict, toronto, "2026-12-07T08:30:00-05:00", to: "2026-12-07T09:00:00-05:00")
        expectDeferred(strict, toronto, "2026-12-07T21:00:00-05:00", to: "2026-12-08T09:00:00-05:00")
    }

    @Test func unknownAreaCodeGetsCampaignZoneAndStrictestHours() {
        let tollFree = "+18005550100", uk = "+442071234567"
        #expect(strict.timeZones(for: tollFree) == [TimeZone(identifier: "America/New_York")!])
        // us-strict's strictest: weekdays 10:00–18:00, Saturday 10:00–17:00, no Sunday or holidays.
        expectDeferred(strict, tollFree, "2026-12-07T09:30:00-05:00", to: "2026-12-07T10:00:00-05:00")
        expectDeferred(strict, tollFree, "2026-12-07T18:00:00-05:00", to: "2026-12-08T10:00:00-05:00")
        expectDeferred(strict, uk, "2026-12-06T12:00:00-05:00", to: "2026-12-07T10:00:00-05:00")
        expectDeferred(strict, uk, "2026-12-05T17:00:00-05:00", to: "2026-12-07T10:00:00-05:00")
        // us-federal's strictest is its only rule, in the campaign's zone.
        expectDeferred(federal, tollFree, "2026-12-07T07:59:00-05:00", to: "2026-12-07T08:00:00-05:00")
        let la = QuietHours(policy: .usFederal, window: nil, fallbackTimeZone: TimeZone(identifier: "America/Los_Angeles")!)
        expectDeferred(la, tollFree, "2026-12-07T07:59:00-08:00", to: "2026-12-07T08:00:00-08:00")
    }

    @Test func recipientCampaignWindow() throws {
        let window = try CampaignWindow(start: "09:00", end: "17:00", timeZone: "recipient")
        #expect(window.timeZone == nil)
        let q = QuietHours(policy: .usFederal, window: window, fallbackTimeZone: TimeZone(identifier: "America/New_York")!)
        expectDeferred(q, "+14155550100", "2026-06-10T08:30:00-07:00", to: "2026-06-10T09:00:00-07:00")
        expectDeferred(q, "+14155550100", "2026-06-10T17:00:00-07:00", to: "2026-06-11T09:00:00-07:00")
        expectDeferred(q, "+12125550100", "2026-06-10T17:00:00-04:00", to: "2026-06-11T09:00:00-04:00")
        // A window alone, without a policy.
        let only = QuietHours(policy: nil, window: window, fallbackTimeZone: TimeZone(identifier: "America/New_York")!)
        expectAllowed(only, "+14155550100", "2026-06-10T16:59:00-07:00")
        expectDeferred(only, "+14155550100", "2026-06-10T07:00:00-07:00", to: "2026-06-10T09:00:00-07:00")
    }

    @Test func fixedZoneCampaignWindowAndPolicyTogether() throws {
        let window = try CampaignWindow(start: "09:00", end: "20:00", timeZone: "America/New_York")
        let q = QuietHours(policy: .usFederal, window: window, fallbackTimeZone: TimeZone(identifier: "America/New_York")!)
        // 06:30 in Los Angeles is 09:30 in New York: the recipient's 08:00 comes later.
        expectDeferred(q, "+14155550100", "2026-06-10T06:30:00-07:00", to: "2026-06-10T08:00:00-07:00")
        // 17:00 in Los Angeles is 20:00 in New York: the window has closed.
        expectDeferred(q, "+14155550100", "2026-06-10T17:00:00-07:00", to: "2026-06-11T08:00:00-07:00")
        // A window that never meets the recipient's hours: 09:00–10:00 New York is 03:00–04:00 Honolulu.
        let narrow = QuietHours(policy: .usFederal, window: try CampaignWindow(start: "09:00", end: "10:00", timeZone: "America/New_York"),
                                fallbackTimeZone: TimeZone(identifier: "America/New_York")!)
        #expect(narrow.decision(for: "+18085550100", at: date("2026-06-10T12:00:00Z")) == .noCommonWindow)
    }

    @Test func overnightWindowAndBadZone() throws {
        let w = try CampaignWindow(start: "22:00", end: "06:00", timeZone: "UTC")
        let q = QuietHours(policy: nil, window: w, fallbackTimeZone: TimeZone(identifier: "UTC")!)
        expectAllowed(q, "+12125550100", "2026-06-10T23:00:00Z")
        expectAllowed(q, "+12125550100", "2026-06-10T05:59:00Z")
        expectDeferred(q, "+12125550100", "2026-06-10T06:00:00Z", to: "2026-06-10T22:00:00Z")
        #expect(throws: SendWindowError.unknownTimeZone("Mars/Olympus")) {
            try CampaignWindow(start: "09:00", end: "17:00", timeZone: "Mars/Olympus")
        }
        #expect(CampaignWindow(try SendWindow(start: "09:00", end: "17:00", timeZone: "UTC")).timeZone == TimeZone(identifier: "UTC"))
    }

    @Test func acrossMonthEnd() {
        // Saturday 2026-10-31 21:00 PDT → Sunday 2026-11-01 08:00 PST (month end and DST change together).
        expectDeferred(federal, "+14155550100", "2026-10-31T21:00:00-07:00", to: "2026-11-01T08:00:00-08:00")
        // Month end without DST: 2026-06-30 21:00 → 2026-07-01 08:00.
        expectDeferred(federal, "+12125550100", "2026-06-30T21:00:00-04:00", to: "2026-07-01T08:00:00-04:00")
    }

    @Test func noPolicyNoWindowAlwaysAllows() {
        let q = QuietHours(policy: nil, window: nil, fallbackTimeZone: TimeZone(identifier: "UTC")!)
        expectAllowed(q, "+12125550100", "2026-06-10T03:00:00-04:00")
    }
}

@Suite struct QuietHoursPolicyTests {
    @Test func policyNames() {
        #expect(QuietHoursPolicy(rawValue: "us-federal") == .usFederal)
        #expect(QuietHoursPolicy(rawValue: "us-strict") == .usStrict)
        #expect(QuietHoursPolicy(rawValue: "eu") == nil)
    }

    @Test func compactRules() throws {
        let federal = QuietHoursPolicy.usFederal.compactRules
        #expect(Set(federal.keys) == ["*", "?"])
        // Seven days of 08:00–21:00; [0, 1440] on holidays: no further limit.
        #expect(federal["*"] == Array(repeating: [480, 1260], count: 7) + [[0, 1440]])
        let strict = QuietHoursPolicy.usStrict.compactRules
        #expect(strict["*"] == federal["*"])
        let fl = try #require(strict["US-FL"])
        #expect(fl.count == 8 && fl[1] == [480, 1200] && fl[7] == [0, 1440])
        #expect(strict["US-TX"]?[0] == [720, 1260])
        #expect(strict["US-TX"]?[1] == [540, 1260])
        #expect(strict["US-RI"]?[0] == [0, 0])
        #expect(strict["US-RI"]?[6] == [600, 1020])
        #expect(strict["US-RI"]?[7] == [0, 0])
        #expect(strict["US-PA"]?[0] == [810, 1200])
        #expect(strict["US-NV"]?[3] == [540, 1200])
        #expect(strict["CA-ON"]?[1] == [540, 1260])
        #expect(strict["?"] == [[0, 0], [600, 1080], [600, 1080], [600, 1080], [600, 1080], [600, 1080], [600, 1020], [0, 0]])
        // Every state key is a place the table knows (some provinces share area codes with others).
        let keys = Set(NANPAreaCodes.all.map(\.ruleKey))
        for key in QuietHoursPolicy.stateRules.keys where key.hasPrefix("US-") { #expect(keys.contains(key), "\(key)") }
    }

    @Test func holidays() {
        let h2026 = USHolidays.dates(year: 2026).map { "\($0.month)-\($0.day)" }
        #expect(h2026 == ["1-1", "1-19", "2-16", "5-25", "6-19", "7-3", "7-4", "9-7", "10-12", "11-11", "11-26", "12-25"])
        // 2028-01-01 is a Saturday: observed on Friday 2027-12-31.
        #expect(USHolidays.contains(year: 2027, month: 12, day: 31))
        #expect(!USHolidays.contains(year: 2026, month: 12, day: 31))
        // 2027-07-04 is a Sunday: observed on Monday the 5th.
        #expect(USHolidays.contains(year: 2027, month: 7, day: 5))
    }
}
