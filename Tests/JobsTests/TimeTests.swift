import Foundation
import Testing
@testable import Jobs

@Suite struct TimestampTests {
    @Test func parsesOffsetsAndFractions() throws {
        let z = try Timestamp.parse("2026-11-23T14:00:00Z")
        #expect(z.timeIntervalSince1970 == 1_795_442_400)
        #expect(try Timestamp.parse("2026-11-23T09:00:00-05:00") == z)
        #expect(try Timestamp.parse("2026-11-23T19:30:00+0530") == z)
        #expect(try Timestamp.parse("2026-11-23 14:00Z") == z)
        #expect(try Timestamp.parse("2026-11-23T14:00:00.250Z").timeIntervalSince1970 == 1_795_442_400.25)
    }

    @Test func rejectsMissingOffsetAndNonsense() {
        #expect(throws: TimestampError.missingOffset) { try Timestamp.parse("2026-11-23T14:00:00") }
        #expect(throws: TimestampError.missingOffset) { try Timestamp.parse("2026-11-23T14:00:00.5") }
        #expect(throws: TimestampError.missingTime) { try Timestamp.parse("2026-11-23") }
        #expect(throws: TimestampError.outOfRange) { try Timestamp.parse("2026-02-29T10:00:00Z") }
        #expect(throws: TimestampError.outOfRange) { try Timestamp.parse("2026-11-23T24:00:00Z") }
        #expect(throws: TimestampError.malformed) { try Timestamp.parse("tomorrow") }
        #expect(throws: TimestampError.malformed) { try Timestamp.parse("2026-11-23T14:00:00Zjunk") }
        #expect(TimestampError.missingOffset.description == "the time has no UTC offset: add Z or an offset such as -05:00")
    }

    @Test func formatsUTC() throws {
        #expect(Timestamp.format(try Timestamp.parse("2024-02-29T23:59:59-01:00")) == "2024-03-01T00:59:59Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 0.5)) == "1970-01-01T00:00:00.500Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: -1)) == "1969-12-31T23:59:59Z")
    }
}

@Suite struct SendWindowTests {
    let ny = try! SendWindow(start: "09:00", end: "20:00", timeZone: "America/New_York")

    @Test func insideTheWindowIsUnchanged() {
        let t = date("2026-11-23T10:15:00-05:00")
        #expect(ny.contains(t))
        #expect(ny.nextAllowed(atOrAfter: t) == t)
        #expect(!ny.contains(date("2026-11-23T20:00:00-05:00")), "end is exclusive")
    }

    @Test func beforeAndAfterTheWindow() {
        #expect(ny.nextAllowed(atOrAfter: date("2026-11-23T06:00:00-05:00")) == date("2026-11-23T09:00:00-05:00"))
        #expect(ny.nextAllowed(atOrAfter: date("2026-11-23T20:00:00-05:00")) == date("2026-11-24T09:00:00-05:00"))
        // New Year's Eve rolls over month and year.
        #expect(ny.nextAllowed(atOrAfter: date("2026-12-31T23:00:00-05:00")) == date("2027-01-01T09:00:00-05:00"))
    }

    @Test func springForward() {
        // Saturday 22:00 EST → Sunday 2026-03-08 09:00 EDT, which is 13:00Z, not 14:00Z.
        let next = ny.nextAllowed(atOrAfter: date("2026-03-07T22:00:00-05:00"))
        #expect(next == date("2026-03-08T13:00:00Z"))
    }

    @Test func fallBack() {
        // Saturday 21:00 EDT → Sunday 2026-11-01 09:00 EST, which is 14:00Z.
        let next = ny.nextAllowed(atOrAfter: date("2026-10-31T21:00:00-04:00"))
        #expect(next == date("2026-11-01T14:00:00Z"))
    }

    @Test func startInTheSpringForwardGapOpensAtTheTransition() throws {
        let w = try SendWindow(start: "02:30", end: "06:00", timeZone: "America/New_York")
        // 02:30 does not exist on 2026-03-08; the window opens at 03:00 EDT (07:00Z).
        #expect(w.nextAllowed(atOrAfter: date("2026-03-08T00:00:00-05:00")) == date("2026-03-08T07:00:00Z"))
        #expect(w.nextAllowed(atOrAfter: date("2026-03-09T00:00:00-04:00")) == date("2026-03-09T02:30:00-04:00"))
    }

    @Test func windowEntirelyInTheGapMovesToTheNextDay() throws {
        let w = try SendWindow(start: "02:05", end: "02:45", timeZone: "America/New_York")
        #expect(w.nextAllowed(atOrAfter: date("2026-03-08T00:00:00-05:00")) == date("2026-03-09T02:05:00-04:00"))
    }

    @Test func ambiguousFallBackTimeUsesTheFirstOccurrence() throws {
        let w = try SendWindow(start: "01:30", end: "05:00", timeZone: "America/New_York")
        #expect(w.nextAllowed(atOrAfter: date("2026-11-01T00:00:00-04:00")) == date("2026-11-01T01:30:00-04:00"))
        // During the repeated hour (01:30 EST, second time) the window is open.
        let second = date("2026-11-01T01:40:00-05:00")
        #expect(w.nextAllowed(atOrAfter: second) == second)
    }

    @Test func overnightWindow() throws {
        let w = try SendWindow(start: "22:00", end: "06:00", timeZone: "Europe/Berlin")
        #expect(w.contains(date("2026-06-01T23:30:00+02:00")))
        #expect(w.contains(date("2026-06-02T05:59:00+02:00")))
        #expect(w.nextAllowed(atOrAfter: date("2026-06-02T12:00:00+02:00")) == date("2026-06-02T22:00:00+02:00"))
        let late = try SendWindow(start: "08:00", end: "24:00", timeZone: "UTC")
        #expect(late.contains(date("2026-06-02T23:59:59Z")))
    }

    @Test func invalidWindows() {
        #expect(throws: SendWindowError.unknownTimeZone("Mars/Olympus")) { try SendWindow(start: "09:00", end: "20:00", timeZone: "Mars/Olympus") }
        #expect(throws: SendWindowError.invalidTime(field: "start", "9am")) { try SendWindow(start: "9am", end: "20:00", timeZone: "UTC") }
        #expect(throws: SendWindowError.invalidTime(field: "end", "+1:00")) { try SendWindow(start: "09:00", end: "+1:00", timeZone: "UTC") }
        #expect(throws: SendWindowError.invalidTime(field: "start", "24:00")) { try SendWindow(start: "24:00", end: "20:00", timeZone: "UTC") }
        #expect(throws: SendWindowError.emptyWindow) { try SendWindow(start: "09:00", end: "09:00", timeZone: "UTC") }
    }
}
