// Fuzz target `segments`: SMS segment counting (Sources/Jobs/Model/SegmentCount.swift),
// checked against a second, independent implementation written here from GSM 03.38 and
// 3GPP TS 23.040:
// - GSM-7 when every character is in the default alphabet (one septet) or its extension
//   table (escape + one septet: two); else UCS-2, counted in UTF-16 code units;
// - one message holds 160 septets / 70 units; concatenated parts hold 153 / 67 (the user
//   data header takes the rest); an escape pair or a surrogate pair is never split across
//   parts; an empty body is one segment.
// Two bodies per input: the input as UTF-8, and the input bytes mapped onto the GSM alphabets
// (with a few non-GSM characters) so long GSM-7 bodies near the part boundaries are common.
@testable import Jobs

/// GSM 03.38 default alphabet by code position 0x00–0x7F (0x1B, the escape, is not a character).
private let basicTable: [UInt32] = [
    0x40, 0xA3, 0x24, 0xA5, 0xE8, 0xE9, 0xF9, 0xEC, 0xF2, 0xC7, 0x0A, 0xD8, 0xF8, 0x0D, 0xC5, 0xE5,
    0x394, 0x5F, 0x3A6, 0x393, 0x39B, 0x3A9, 0x3A0, 0x3A8, 0x3A3, 0x398, 0x39E, 0x1B, 0xC6, 0xE6, 0xDF, 0xC9,
    0x20, 0x21, 0x22, 0x23, 0xA4, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x2D, 0x2E, 0x2F,
    0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D, 0x3E, 0x3F,
    0xA1, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F,
    0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5A, 0xC4, 0xD6, 0xD1, 0xDC, 0xA7,
    0xBF, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6A, 0x6B, 0x6C, 0x6D, 0x6E, 0x6F,
    0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0xE4, 0xF6, 0xF1, 0xFC, 0xE0,
]
/// The extension table's characters (positions 0x0A, 0x14, 0x28, 0x29, 0x2F, 0x3C, 0x3D, 0x3E, 0x40, 0x65).
private let extensionTable: [UInt32] = [0x0C, 0x5E, 0x7B, 0x7D, 0x5C, 0x5B, 0x7E, 0x5D, 0x7C, 0x20AC]
private let escapePosition = 0x1B

private func septets(_ unit: UInt16) -> Int? {
    let v = UInt32(unit)
    if let i = basicTable.firstIndex(of: v), i != escapePosition { return 1 }
    if extensionTable.contains(v) { return 2 }
    return nil
}

/// Segments for items of `sizes` packed greedily, none split.
private func pack(_ sizes: [Int], single: Int, part: Int) -> Int {
    let total = sizes.reduce(0, +)
    if total <= single { return 1 }
    var parts = 1, room = part
    for s in sizes {
        if s > room { parts += 1; room = part }
        room -= s
    }
    return parts
}

private func reference(_ body: String) -> SegmentCount {
    let units = Array(body.utf16)
    var gsm: [Int] = []
    var isGSM = true
    for u in units {
        guard let s = septets(u) else { isGSM = false; break }
        gsm.append(s)
    }
    if isGSM {
        return SegmentCount(encoding: .gsm7, segments: pack(gsm, single: 160, part: 153), units: gsm.reduce(0, +))
    }
    var sizes: [Int] = []
    var i = 0
    while i < units.count {
        let pair = UTF16.isLeadSurrogate(units[i]) && i + 1 < units.count && UTF16.isTrailSurrogate(units[i + 1])
        sizes.append(pair ? 2 : 1)
        i += pair ? 2 : 1
    }
    return SegmentCount(encoding: .ucs2, segments: pack(sizes, single: 70, part: 67), units: units.count)
}

private let mapped: [Unicode.Scalar] = {
    var scalars = basicTable.enumerated().filter { $0.offset != escapePosition }.map { Unicode.Scalar($0.element)! }
    scalars += extensionTable.map { Unicode.Scalar($0)! }
    scalars += ["á", "ç", "中", "😀", "\u{00A0}", "`"].flatMap(\.unicodeScalars)
    return scalars
}()

private func check(_ body: String) {
    let got = SegmentCount(body: body)
    let want = reference(body)
    if got != want { fatalError("\(body.debugDescription): \(got) but expected \(want)") }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    check(String(decoding: bytes, as: UTF8.self))
    // Mostly GSM: non-GSM characters only from the top byte values.
    var body = String.UnicodeScalarView()
    for b in bytes {
        let i = Int(b)
        body.append(i < 0xF8 ? mapped[i % (mapped.count - 6)] : mapped[mapped.count - 6 + (i - 0xF8) % 6])
    }
    check(String(body))
    return 0
}
