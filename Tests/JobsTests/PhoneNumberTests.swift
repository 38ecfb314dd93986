import Testing
@testable import Jobs

@Suite struct PhoneNumberTests {
    @Test(arguments: [
        ("19998881234", "+19998881234"),
        ("2435678910", "+12435678910"),
        ("(202) 555-0143", "+12025550143"),
        ("202.555.0143", "+12025550143"),
        ("+1 202-555-0143", "+12025550143"),
        ("1-202-555-0143", "+12025550143"),
        (" 202 555 0143 ", "+12025550143"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+49 30 123456", "+4930123456"),
        ("+6834002", "+6834002"),
        ("+823456789012345", "+823456789012345"),
    ])
    func accepted(input: String, e164: String) throws {
        #expect(try PhoneNumber(parsing: input).e164 == e164)
    }

    @Test(arguments: [
        ("202555014a", PhoneNumberError.containsLetters),
        ("call 2025550143", .containsLetters),
        ("555-0143", .tooShort(digits: 7)),
        ("20255501430", .notNANP),
        ("202555014300", .tooLong(digits: 12)),
        ("+1202555014", .tooShort(digits: 10)),
        ("+0441234567", .countryCodeStartsWithZero),
        ("+4412345678901234", .tooLong(digits: 16)),
        ("+441234", .tooShort(digits: 6)),
        ("0125550143", .areaCodeStartsWith("012")),
        ("1125550143", .areaCodeStartsWith("112")),
        ("11125550143", .areaCodeStartsWith("112")),
        ("9115550143", .serviceCode("911", part: "area code")),
        ("2024110143", .serviceCode("411", part: "exchange")),
        ("2020550143", .exchangeStartsWith("055")),
        ("+1 202 155 0143", .exchangeStartsWith("155")),
        ("", .empty),
        ("+", .empty),
        ("20+25550143", .misplacedPlus),
        ("202#5550143", .invalidCharacter("#")),
    ])
    func rejected(input: String, reason: PhoneNumberError) {
        #expect(throws: reason) { try PhoneNumber(parsing: input) }
    }

    @Test func messagesReadWell() {
        #expect(PhoneNumberError.serviceCode("911", part: "area code").description == "area code 911 is an N11 service code")
        #expect(PhoneNumberError.tooShort(digits: 7).description.hasPrefix("too short (7 digits"))
    }

    @Test func nanpNationalForm() throws {
        #expect(try PhoneNumber(parsing: "2435678910").nanpNational == "2435678910")
        #expect(try PhoneNumber(parsing: "+442079460958").nanpNational == nil)
    }

    @Test func clientRecipientsOnlyForRestcomm() throws {
        #expect(try Recipient(parsing: "client:alice", kind: .restcomm) == .client("alice"))
        #expect(try Recipient(parsing: "client:alice", kind: .restcomm).address == "client:alice")
        #expect(throws: RecipientError.clientNotSupported(.plum)) { try Recipient(parsing: "client:alice", kind: .plum) }
        #expect(throws: RecipientError.invalidClientName("empty name")) { try Recipient(parsing: "client:", kind: .restcomm) }
        #expect(throws: RecipientError.self) { try Recipient(parsing: "client:al ice", kind: .restcomm) }
        #expect(throws: RecipientError.self) { try Recipient(parsing: "client:" + String(repeating: "a", count: 65), kind: .restcomm) }
        #expect(try Recipient(parsing: "+1 202 555 0143", kind: .plum) == .phone(try PhoneNumber(parsing: "2025550143")))
    }
}
