import Testing
@testable import Jobs

@Suite struct SegmentCountTests {
    func count(_ s: String) -> SegmentCount { SegmentCount(body: s) }
    func a(_ n: Int) -> String { String(repeating: "a", count: n) }
    func zh(_ n: Int) -> String { String(repeating: "ж", count: n) }

    @Test func alphabetTables() {
        #expect(GSM7.basic.count == 127) // 128 codes minus the escape
        #expect(GSM7.extension.count == 10) // form feed ^ { } \\ [ ~ ] | €
    }

    @Test func gsm7SingleAndConcatenated() {
        #expect(count(a(160)) == SegmentCount(encoding: .gsm7, segments: 1, units: 160))
        #expect(count(a(161)) == SegmentCount(encoding: .gsm7, segments: 2, units: 161))
        #expect(count(a(306)) == SegmentCount(encoding: .gsm7, segments: 2, units: 306))
        #expect(count(a(307)) == SegmentCount(encoding: .gsm7, segments: 3, units: 307))
        #expect(count("").segments == 1)
        #expect(count("Ça coûte 5€ @ Ñandú").encoding == .ucs2) // û is not GSM-7
        #expect(count("Ça va? 5€ @ Ñoño ¿ÄÖÜ§ à é").encoding == .gsm7)
    }

    @Test func extensionCharactersCountTwo() {
        #expect(count(a(158) + "€") == SegmentCount(encoding: .gsm7, segments: 1, units: 160))
        #expect(count(a(159) + "€") == SegmentCount(encoding: .gsm7, segments: 2, units: 161))
        #expect(count("^{}\\[~]|€\u{0C}").units == 20)
    }

    @Test func extensionCharacterIsNotSplitAcrossParts() {
        // 152 + 2 would straddle the 153-septet part boundary: the { moves to part 2.
        #expect(count(a(152) + "{" + a(151)) == SegmentCount(encoding: .gsm7, segments: 2, units: 305))
        // 306 units would fit 2 parts by arithmetic, but part 1 has a wasted septet.
        #expect(count(a(152) + "{" + a(152)) == SegmentCount(encoding: .gsm7, segments: 3, units: 306))
        // Without the straddle, 306 units are 2 parts.
        #expect(count(a(151) + "{" + a(153)) == SegmentCount(encoding: .gsm7, segments: 2, units: 306))
    }

    @Test func ucs2SingleAndConcatenated() {
        #expect(count(zh(70)) == SegmentCount(encoding: .ucs2, segments: 1, units: 70))
        #expect(count(zh(71)) == SegmentCount(encoding: .ucs2, segments: 2, units: 71))
        #expect(count(zh(134)) == SegmentCount(encoding: .ucs2, segments: 2, units: 134))
        #expect(count(zh(135)) == SegmentCount(encoding: .ucs2, segments: 3, units: 135))
        // One non-GSM character turns the whole message into UCS-2.
        #expect(count(a(69) + "ж") == SegmentCount(encoding: .ucs2, segments: 1, units: 70))
        #expect(count(a(70) + "ж").segments == 2)
    }

    @Test func emojiAreTwoUnitsAndNeverSplit() {
        #expect(count(String(repeating: "😀", count: 35)) == SegmentCount(encoding: .ucs2, segments: 1, units: 70))
        #expect(count(zh(69) + "😀") == SegmentCount(encoding: .ucs2, segments: 2, units: 71))
        #expect(count(zh(66) + "😀" + zh(65)) == SegmentCount(encoding: .ucs2, segments: 2, units: 133))
        #expect(count(zh(66) + "😀" + zh(66)) == SegmentCount(encoding: .ucs2, segments: 3, units: 134))
    }
}
