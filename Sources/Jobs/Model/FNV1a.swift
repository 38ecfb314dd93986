/// FNV-1a, 64-bit: a tiny non-cryptographic hash with a fixed specification, so its
/// values are the same on every run, platform and Swift version (unlike `Hasher`,
/// which is seeded per process). Used for derived message ids and for the compact
/// set of seen ids. Not for anything an attacker must not forge.
public struct FNV1a: Sendable, Hashable {
    public static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    public static let prime: UInt64 = 0x0000_0100_0000_01b3

    public private(set) var value: UInt64 = FNV1a.offsetBasis

    public init() {}

    public mutating func combine<Bytes: Sequence>(bytes: Bytes) where Bytes.Element == UInt8 {
        for byte in bytes {
            value ^= UInt64(byte)
            value &*= Self.prime
        }
    }

    public mutating func combine(_ text: String) {
        combine(bytes: text.utf8)
    }

    public static func hash(_ text: String) -> UInt64 {
        var h = FNV1a()
        h.combine(text)
        return h.value
    }

    /// `value` as 16 lowercase hex digits.
    public var hex: String {
        let s = String(value, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
