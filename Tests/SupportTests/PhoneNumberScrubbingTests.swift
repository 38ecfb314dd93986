import Support
import Testing

@Suite struct PhoneNumberScrubbingTests {
    @Test(arguments: [
        // Plum's documented refusal, as the sandbox and a real account send it
        ("To number: +12025550112, is not a mobile number", "To number: [number], is not a mobile number"),
        ("To number: +1xxxxxxxxx, is not a mobile number", "To number: +1xxxxxxxxx, is not a mobile number"),
        ("The 'To' number 2025550143 is not a valid phone number.", "The 'To' number [number] is not a valid phone number."),
        ("call 202-555-0143 or (202) 555 0143", "call [number] or ([number]"),
        ("+44 20 7946 0958 and +1.202.555.0143", "[number] and [number]"),
        // short digit runs stay: error codes, statuses, counts
        ("30006", "30006"),
        ("HTTP 503 after 12 s", "HTTP 503 after 12 s"),
        ("code 123-4567", "code [number]"),
        ("123456", "123456"),
        ("+123456", "+123456"),
        ("1234567", "[number]"),
        ("555--0143", "[number]"), ("555---0143", "555---0143"), ("555-01 43-9", "[number]"),
        ("+", "+"), ("", ""), ("++12025550143", "+[number]"), ("-12025550143-", "-[number]-"),
        ("Zahl：２０２５５５０１４３", "Zahl：２０２５５５０１４３"),  // ASCII digits only
    ])
    func numbersBecomeAPlaceholder(_ text: String, _ expected: String) {
        #expect(PhoneNumberScrubbing.scrub(text) == expected)
    }

    @Test func hostileAndOversizedTextKeepsItsOtherCharacters() {
        let long = String(repeating: "9", count: 100_000)
        #expect(PhoneNumberScrubbing.scrub(long) == "[number]")
        let mixed = String(repeating: "a1 ", count: 50_000)
        #expect(PhoneNumberScrubbing.scrub(mixed) == mixed)
        let controls = "\u{0}\u{7}+120255\u{0}0143\u{FFFD}é"
        #expect(PhoneNumberScrubbing.scrub(controls) == controls)
        #expect(PhoneNumberScrubbing.scrub("e\u{301} 2025550143 🙂") == "e\u{301} [number] 🙂")
    }
}
