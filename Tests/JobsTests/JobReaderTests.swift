import Foundation
import Testing
@testable import Jobs

@Suite struct JSONJobTests {
    let options = JobOptions(now: fixedNow)

    func validate(_ json: String, options: JobOptions? = nil) -> ValidatedJob {
        ValidatedJob(reading: JobReader(json: Array(json.utf8), file: "job.json", options: options ?? self.options))
    }

    @Test func everyErrorIsReportedWithItsPath() throws {
        let job = validate("""
        {
          "campaign": "c1",
          "from": "2435678910",
          "provider": "plum",
          "template": "Hi {{first_name}}, see you {{appt_time}}.",
          "window": {"start": "09:00", "end": "20:00", "tz": "America/New_York"},
          "messages": [
            {"id": "a1", "to": "19998881234", "vars": {"first_name": "Ana", "appt_time": "Tue 10:30"}},
            {"id": "a2", "to": "+12025550143", "body": "Explicit body"},
            {"id": "a3", "to": "12345", "vars": {"first_name": "Bo", "appt_time": "x"}},
            {"id": "a4", "to": "2025550144", "vars": {"first_name": "Cy"}},
            {"id": "a1", "to": "2025550145", "body": "dup"},
            {"id": "a6", "to": "client:bob", "body": "x"},
            {"id": "a7", "to": "2025550146", "body": "x", "expires_at": "2026-11-01T00:00:00Z"},
            {"id": "a8", "to": "2025550147", "body": "x", "send_at": "2026-11-25T10:00:00"},
            {"id": "a9", "to": "2025550148", "body": "x", "send_at": "2026-11-25T10:00:00Z", "expires_at": "2026-11-25T09:00:00Z"},
            {"id": "a10", "to": "2025550149", "body": "x", "send_at": "2026-11-25T02:00:00Z", "expires_at": "2026-11-25T03:00:00Z"},
            {"id": "a11", "to": "2025550150", "vars": {"first_name": "", "appt_time": "t"}},
            {"to": "2025550151", "body": "x", "colour": "red"},
            {"id": "a13", "to": 2025550152, "body": "\\u0000 nul"}
          ]
        }
        """)
        #expect(job.errors.map(\.description) == [
            "job.json: messages[2].to: invalid phone number: too short (5 digits; a NANP number has 10, an international one starts with + and has at least 7)",
            "job.json: messages[3].vars: missing variable 'appt_time' for the template",
            "job.json: messages[4].id: duplicate message id 'a1' (an earlier message has it)",
            "job.json: messages[5].to: client: recipients are only valid with provider restcomm, not plum",
            "job.json: messages[6].expires_at: expires_at 2026-11-01T00:00:00Z is already past (now is 2026-11-20T12:00:00Z)",
            "job.json: messages[7].send_at: send_at: the time has no UTC offset: add Z or an offset such as -05:00",
            "job.json: messages[8].expires_at: expires_at 2026-11-25T09:00:00Z is before send_at 2026-11-25T10:00:00Z",
            "job.json: messages[9].expires_at: the send window first opens at 2026-11-25T14:00:00Z, after expires_at 2026-11-25T03:00:00Z",
            "job.json: messages[10].vars.first_name: variable 'first_name' is empty",
            "job.json: messages[11].colour: unknown field",
            "job.json: messages[12].body: the message body contains a NUL character",
        ])
        #expect(job.errors.map(\.messageID) == ["a3", "a4", "a1", "a6", "a7", "a8", "a9", "a10", "a11", nil, "a13"])
        #expect(!job.isValid)
        #expect(job.messages.map(\.externalID) == ["a1", "a2"])
        let first = try #require(job.messages.first)
        #expect(first.to == .phone(try PhoneNumber(parsing: "+19998881234")))
        #expect(first.from.e164 == "+12435678910")
        #expect(first.body == "Hi Ana, see you Tue 10:30.")
        #expect(first.segments == SegmentCount(encoding: .gsm7, segments: 1, units: 26))
        #expect(first.sendAt == fixedNow, "send_at defaults to now")
        // Now is 07:00 in New York: the window opens at 09:00 EST.
        #expect(first.dueAt == date("2026-11-20T14:00:00Z"))
        #expect(first.source == .jsonIndex(0))
        #expect(job.summary.messages == 2)
        #expect(job.summary.segments == 2)
        #expect(job.summary.bySender == ["+12435678910": .init(messages: 2, segments: 2)])
        #expect(job.summary.firstSendAt == date("2026-11-20T14:00:00Z"))
    }

    @Test func campaignFieldErrorsAreAllReported() {
        let job = validate("""
        {"campaign": "", "from": "555", "provider": "twilio", "template": "Hi {{name",
         "expires_at": "2026-01-01T00:00:00Z",
         "window": {"start": "9am", "end": "20:00", "tz": "Mars/Olympus"},
         "messages": [{"to": "2025550143"}, {"to": "20255501"}]}
        """)
        #expect(job.header == nil)
        #expect(job.errors.map(\.description) == [
            "job.json: campaign: campaign name is required",
            "job.json: provider: unknown provider 'twilio' (expected plum or restcomm)",
            "job.json: from: invalid sender number: too short (3 digits; a NANP number has 10, an international one starts with + and has at least 7)",
            "job.json: template: unclosed '{{' at character 4 of the template (write \\{{ for a literal {{)",
            "job.json: expires_at: expires_at 2026-01-01T00:00:00Z is already past (now is 2026-11-20T12:00:00Z)",
            "job.json: window.start: window start '9am' is not a time HH:MM",
            "job.json: messages[1].to: invalid phone number: too short (8 digits; a NANP number has 10, an international one starts with + and has at least 7)",
        ])
    }

    @Test func unknownTimeZoneAndTypeErrors() {
        let job = validate("""
        {"campaign": "c", "from": 2435678910, "provider": "plum", "send_at": 5,
         "window": {"start": "09:00", "end": "20:00", "tz": "Mars/Olympus", "days": 1},
         "messages": [{"to": "2025550143", "body": "x", "vars": []}, "oops"], "extra": true}
        """)
        #expect(job.errors.map(\.description) == [
            "job.json: send_at: must be a string, not a number",
            "job.json: window.days: unknown field",
            "job.json: extra: unknown field",
            "job.json: window.tz: unknown time zone 'Mars/Olympus' (use an IANA name such as America/New_York)",
            "job.json: messages[0].vars: must be an object, not an array",
            "job.json: messages[1]: must be an object, not a string",
        ])
    }

    @Test func syntaxErrorsHaveLineAndColumn() {
        let job = validate("{\"campaign\": \"x\",\n  \"from\": }")
        #expect(job.errors.map(\.description) == ["job.json:2:11: invalid JSON: unexpected character, expected a value"])
        let dup = validate("{\"campaign\": \"x\", \"campaign\": \"y\"}")
        #expect(dup.errors.map(\.description) == ["job.json:1:19: invalid JSON: duplicate key 'campaign'"])
        let deep = validate(String(repeating: "[", count: 100_000))
        #expect(deep.errors.map(\.message) == ["invalid JSON: nesting deeper than 64 levels"])
        #expect(validate("[1]").errors.map(\.description) == ["job.json: a job file is a JSON object, not an array"])
        #expect(validate("").errors.map(\.description) == ["job.json:1:1: invalid JSON: the file is empty (expected a JSON object)"])
        let badUTF8 = ValidatedJob(reading: JobReader(json: Array("{\"campaign\": \"".utf8) + [0xFF] + Array("\"}".utf8), file: "j.json"))
        #expect(badUTF8.errors.map(\.description) == ["j.json:1:14: invalid JSON: invalid UTF-8 in a string (the file must be UTF-8 encoded)"])
    }

    @Test func restcommAllowsClientsAndPerMessageSenders() throws {
        let job = validate("""
        {"campaign": "rc", "from": "+1 202 555 0100", "provider": "restcomm", "send_at": "2026-11-21T15:00:00Z",
         "messages": [
           {"id": "1", "to": "client:alice", "body": "Hello 😀"},
           {"id": "2", "to": "+442079460958", "body": "Robert'); DROP TABLE messages;--", "from": "2025550199"}
         ]}
        """)
        #expect(job.errors.isEmpty)
        #expect(job.isValid)
        #expect(job.header?.kind == .restcomm)
        #expect(job.messages.map(\.to.address) == ["client:alice", "+442079460958"])
        #expect(job.messages[0].segments == SegmentCount(encoding: .ucs2, segments: 1, units: 8))
        #expect(job.messages[1].body == "Robert'); DROP TABLE messages;--")
        #expect(job.messages[1].dueAt == date("2026-11-21T15:00:00Z"), "no window: due at send_at")
        #expect(job.summary.bySender == ["+12025550100": .init(messages: 1, segments: 1), "+12025550199": .init(messages: 1, segments: 1)])
    }

    @Test func maxSegmentsIsConfigurable() {
        let body = String(repeating: "a", count: 1531) // 11 parts of 153 septets
        let json = "{\"campaign\": \"c\", \"from\": \"2435678910\", \"provider\": \"plum\", \"messages\": [{\"to\": \"2025550143\", \"body\": \"\(body)\"}]}"
        #expect(validate(json).errors.map(\.description) == ["job.json: messages[0].body: the body needs 11 segments (GSM-7, 1531 units); the maximum is 10"])
        let relaxed = validate(json, options: JobOptions(now: fixedNow, maxSegments: 11))
        #expect(relaxed.errors.isEmpty)
        #expect(relaxed.messages.first?.segments.segments == 11)
    }

    @Test func missingMessagesAndBothMessagesAndCSV() {
        #expect(validate("{\"campaign\": \"c\", \"from\": \"2435678910\", \"provider\": \"plum\"}").errors.map(\.description)
                == ["job.json: a job file needs \"messages\" (or \"csv\" naming a CSV file beside it)"])
        #expect(validate("{\"campaign\": \"c\", \"from\": \"2435678910\", \"provider\": \"plum\", \"messages\": []}").errors.map(\.description)
                == ["job.json: messages: no messages"])
    }

    @Test func derivedIDsAreStableAndDuplicatesCaught() throws {
        let json = """
        {"campaign": "c", "from": "2435678910", "provider": "plum", "messages": [
          {"to": "2025550144", "body": "Explicit \\"body\\", with comma"},
          {"to": "+1 (202) 555-0144", "body": "Explicit \\"body\\", with comma"}
        ]}
        """
        let job = validate(json)
        // FNV-1a 64 of "+12025550144" 0x1F body 0x1F "" (no send_at).
        #expect(job.messages.map(\.externalID) == ["fa7594c53ef48ea8"])
        #expect(job.messages.first?.idIsDerived == true)
        #expect(job.errors.map(\.description) == ["job.json: messages[1]: duplicate message: an earlier message has the same recipient, body and send_at (derived id fa7594c53ef48ea8)"])
        #expect(FNV1a.hash("") == 0xcbf2_9ce4_8422_2325)
        #expect(FNV1a.hash("a") == 0xaf63_dc4c_8601_ec8c)
    }
}

@Suite struct CSVJobTests {
    let settings = CampaignSettings(campaign: "csv-test", from: "2435678910", provider: "plum",
                                    template: "Hi {{first_name}}, {{appt_time}}")
    let options = JobOptions(now: fixedNow)

    func validate(_ csv: String, settings: CampaignSettings? = nil) -> ValidatedJob {
        ValidatedJob(reading: JobReader(csv: Array(csv.utf8), file: "people.csv", campaign: settings ?? self.settings, options: options))
    }

    @Test func rowErrorsHaveLineAndColumn() throws {
        let job = validate("""
        id,to,first_name,appt_time,body
        r1,19998881234,Ana,Tue 10:30,
        r2,(202) 555-0143,Bo,,
        r3,20255501ab,Cy,Wed,
        ,2025550144,,,"Explicit ""body"", with comma"
        r1,2025550145,Dee,Thu,
        r7,2025550146,Eve,Fri,,

        """)
        #expect(job.errors.map(\.description) == [
            "people.csv:3:22: variable 'appt_time' is empty",
            "people.csv:4:4: invalid phone number: contains letters",
            "people.csv:6:1: duplicate message id 'r1' (an earlier message has it)",
            "people.csv:7:24: expected 5 fields as in the header, found 6",
        ])
        #expect(job.errors.map(\.messageID) == ["r2", "r3", "r1", nil])
        #expect(job.messages.map(\.externalID) == ["r1", "fa7594c53ef48ea8"])
        #expect(job.messages.map(\.source) == [.csvLine(2), .csvLine(5)])
        #expect(job.messages[1].body == "Explicit \"body\", with comma")
        #expect(job.messages[0].body == "Hi Ana, Tue 10:30")
    }

    @Test func missingToColumnAndTemplateVariablesWithoutColumns() {
        #expect(validate("phone,x\n1,2\n").errors.map(\.description) == ["people.csv:1:1: the header has no 'to' column (found: phone, x)"])
        #expect(validate("to,first_name\n2025550143,Ana\n").errors.map(\.description)
                == ["people.csv:1:1: the template uses 'appt_time' but the CSV has no such column (and no 'body' column)"])
    }

    @Test func csvStructureErrorsBecomeJobErrors() {
        #expect(validate("to,body\n2025550143,\"open\n").errors.map(\.description)
                == ["people.csv:2:12: unterminated quoted field: the quote opened here is never closed"])
        #expect(validate("").errors.map(\.description) == ["people.csv:1:1: the file is empty: a header row with a 'to' column is required"])
        #expect(validate("to,body\n").errors.map(\.description) == ["people.csv:1:1: the file has a header row but no data rows"])
    }

    @Test func flagErrorsNameTheFlag() {
        let job = validate("to,body\n2025550143,hi\n", settings: CampaignSettings(campaign: "c", from: "12", provider: "plum", sendAt: "soon"))
        #expect(job.errors.map(\.description) == [
            "--from: invalid sender number: too short (2 digits; a NANP number has 10, an international one starts with + and has at least 7)",
            "--send-at: send_at: not an ISO 8601 time (expected e.g. 2026-11-23T14:00:00Z or 2026-11-23T09:00:00-05:00)",
        ])
        #expect(CampaignSettings(template: "x").missingFlags == ["--campaign", "--from", "--provider"])
        #expect(settings.missingFlags.isEmpty)
    }

    @Test func perRowSendAtExpiryAndFrom() throws {
        let job = validate("""
        to,body,send_at,expires_at,from
        2025550143,a,2026-11-22T10:00:00-05:00,2026-11-23T00:00:00Z,
        2025550144,b,,,+12025550199

        """)
        #expect(job.errors.isEmpty)
        #expect(job.messages[0].sendAt == date("2026-11-22T15:00:00Z"))
        #expect(job.messages[0].expiresAt == date("2026-11-23T00:00:00Z"))
        #expect(job.messages[1].from.e164 == "+12025550199")
        #expect(job.messages[1].sendAt == fixedNow)
        #expect(job.summary.firstSendAt == fixedNow)
        #expect(job.summary.lastSendAt == date("2026-11-22T15:00:00Z"))
    }

    @Test func streamingManyRowsHoldsOneRowAtATime() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var text = "id,to,first_name,appt_time\n"
        let rows = 50_000
        for i in 0..<rows {
            text += "m\(i),+1202555\(String(i % 10_000).leftPad(4)),N\(i),Tue\n"
        }
        try write(text, to: dir + "/big.csv")
        let reader = JobReader(path: dir + "/big.csv", campaign: settings, options: options)
        #expect(reader.header?.campaign == "csv-test")
        var messages = 0
        while let item = reader.next() {
            if case .message = item { messages += 1 } else { Issue.record("unexpected \(item)") }
        }
        #expect(messages == rows)
        #expect(reader.summary.messages == rows)
        #expect(reader.errorCount == 0)
        let stats = try #require(reader.csvStatistics)
        #expect(stats.rowsRead == rows)
        #expect(stats.peakRowsHeld == 1)
    }
}

@Suite struct ManifestTests {
    @Test func manifestStreamsTheCSVBesideIt() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try write("{\"campaign\": \"m\", \"from\": \"2435678910\", \"provider\": \"plum\", \"template\": \"Hi {{n}}\", \"csv\": \"m.csv\"}", to: dir + "/m.json")
        try write("to,n\n2025550143,Ana\n2025550144,\n", to: dir + "/m.csv")
        let job = ValidatedJob.load(path: dir + "/m.json", options: JobOptions(now: fixedNow))
        #expect(job.header?.campaign == "m")
        #expect(job.messages.map(\.body) == ["Hi Ana"])
        #expect(job.errors.map(\.description) == ["\(dir)/m.csv:3:12: variable 'n' is empty"])
        // Given the CSV alone, its manifest is found.
        let again = ValidatedJob.load(path: dir + "/m.csv", options: JobOptions(now: fixedNow))
        #expect(again.header?.campaign == "m")
        #expect(again.messages.count == 1)
        #expect(JobReader.manifest(forCSV: dir + "/m.csv") == dir + "/m.json")
    }

    @Test func bareCSVWithoutCampaignFieldsAndMissingFiles() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try write("to,body\n2025550143,hi\n", to: dir + "/bare.csv")
        #expect(ValidatedJob.load(path: dir + "/bare.csv").errors.map(\.description) == [
            "\(dir)/bare.csv: a CSV file needs campaign fields: a manifest \(dir)/bare.json with \"csv\", or --campaign, --from and --provider",
        ])
        #expect(ValidatedJob.load(path: dir + "/nope.json").errors.map(\.description) == ["\(dir)/nope.json: cannot read the file: No such file or directory"])
        try write("{\"campaign\": \"m\", \"from\": \"2435678910\", \"provider\": \"plum\", \"csv\": \"gone.csv\"}", to: dir + "/g.json")
        #expect(ValidatedJob.load(path: dir + "/g.json").errors.map(\.description) == ["\(dir)/gone.csv: cannot read the file: No such file or directory"])
    }
}

@Suite struct ExampleJobTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("jobs/examples").path
    let options = JobOptions(now: fixedNow)

    @Test(arguments: ["dental-reminders.json", "dental-reminders-csv.json", "restcomm-reminders.json"])
    func validExamples(name: String) {
        let job = ValidatedJob.load(path: Self.examples + "/" + name, options: options)
        #expect(job.errors.isEmpty, "\(job.errors)")
        #expect(job.isValid)
        #expect(job.messages.count >= 3)
    }

    @Test func jsonAndCSVDentalCampaignsAgree() {
        let json = ValidatedJob.load(path: Self.examples + "/dental-reminders.json", options: options)
        let csv = ValidatedJob.load(path: Self.examples + "/dental-reminders-csv.json", options: options)
        #expect(json.header?.campaign != csv.header?.campaign)
        #expect(json.messages.count == 8)
        #expect(json.messages.map(\.body) == csv.messages.map(\.body))
        #expect(json.messages.map(\.to) == csv.messages.map(\.to))
        #expect(json.messages.map(\.externalID) == csv.messages.map(\.externalID))
    }

    @Test func mistakesExampleShowsRowErrors() {
        let job = ValidatedJob.load(path: Self.examples + "/with-mistakes.json", options: options)
        let csv = Self.examples + "/with-mistakes.csv"
        #expect(job.errors.map(\.description) == [
            "\(csv):3:5: invalid phone number: too short (9 digits; a NANP number has 10, an international one starts with + and has at least 7)",
            "\(csv):4:20: variable 'clinic' is empty",
            "\(csv):5:5: invalid phone number: area code 911 is an N11 service code",
            "\(csv):6:44: send_at: the time has no UTC offset: add Z or an offset such as -05:00",
            "\(csv):7:1: duplicate message id 'm-1' (an earlier message has it)",
            "\(csv):8:5: invalid phone number: contains letters",
            "\(csv):9:5: client: recipients are only valid with provider restcomm, not plum",
        ])
        #expect(job.messages.map(\.externalID) == ["m-1"])
    }
}
