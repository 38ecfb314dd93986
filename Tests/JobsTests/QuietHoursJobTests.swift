import Foundation
import Testing
@testable import Jobs

/// `"tz": "recipient"` windows and `quiet_hours` in job files.
@Suite struct QuietHoursJobTests {
    func validate(_ json: String) -> ValidatedJob {
        ValidatedJob(reading: JobReader(json: Array(json.utf8), file: "job.json", options: JobOptions(now: fixedNow)))
    }

    @Test func aRecipientWindowAndAPolicyAreKeptForTheClaim() throws {
        let job = validate("""
        {"campaign": "c", "from": "2435678910", "provider": "plum", "quiet_hours": "us-strict",
         "window": {"start": "09:00", "end": "20:00", "tz": "recipient"},
         "messages": [{"to": "2125550143", "body": "x"}]}
        """)
        #expect(job.errors.isEmpty, "\(job.errors)")
        let header = try #require(job.header)
        #expect(header.window == nil)
        #expect(header.recipientWindow == CampaignWindow(startMinute: 540, endMinute: 1200, timeZone: nil))
        #expect(header.quietHours == .usStrict)
        // the claim defers it, not submit: due as asked
        #expect(job.messages.first?.dueAt == fixedNow)
    }

    @Test func malformedHostileAndOversizedValuesAreNamed() {
        let long = String(repeating: "us-federal", count: 10_000)
        let cases: [(String, String)] = [
            (#""quiet_hours": "us-lenient""#, "job.json: quiet_hours: quiet_hours must be \"us-federal\" or \"us-strict\""),
            (#""quiet_hours": "US-FEDERAL""#, "job.json: quiet_hours: quiet_hours must be \"us-federal\" or \"us-strict\""),
            (#""quiet_hours": "us-federal\u0000""#, "job.json: quiet_hours: quiet_hours must be \"us-federal\" or \"us-strict\""),
            ("\"quiet_hours\": \"\(long)\"", "job.json: quiet_hours: quiet_hours must be \"us-federal\" or \"us-strict\""),
            (#""quiet_hours": 1"#, "job.json: quiet_hours: must be a string, not a number"),
            (#""quiet_hours": null"#, "job.json: quiet_hours: must be a string, not null"),
            (#""window": {"start": "25:00", "end": "20:00", "tz": "recipient"}"#, "job.json: window.start: window start '25:00' is not a time HH:MM"),
            (#""window": {"start": "09:00", "end": "09:00", "tz": "recipient"}"#, "job.json: window: window start and end are the same"),
            (#""window": {"start": "09:00", "end": "20:00", "tz": "Recipient"}"#,
             "job.json: window.tz: unknown time zone 'Recipient' (use an IANA name such as America/New_York)"),
        ]
        for (field, error) in cases {
            let job = validate("""
            {"campaign": "c", "from": "2435678910", "provider": "plum", \(field), "messages": [{"to": "2125550143", "body": "x"}]}
            """)
            #expect(job.header == nil, "\(field.prefix(60))")
            #expect(job.errors.map(\.description).first == error, "\(field.prefix(60))")
            #expect(job.errors.allSatisfy { $0.description.count < 300 })
        }
    }
}
