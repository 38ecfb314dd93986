/// SplitMix64: a small seeded generator so sandbox runs are reproducible.
struct SandboxRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// True with probability `p`.
    mutating func chance(_ p: Double) -> Bool {
        p > 0 && Double.random(in: 0..<1, using: &self) < p
    }

    /// 32 lowercase hex digits (128 bits), like Plum's `sms_message_id`.
    mutating func hex128() -> String { Self.hex128(using: &self) }

    /// 32 lowercase hex digits from any generator.
    static func hex128<G: RandomNumberGenerator>(using generator: inout G) -> String {
        let a = String(generator.next(), radix: 16), b = String(generator.next(), radix: 16)
        return String(repeating: "0", count: 16 - a.count) + a + String(repeating: "0", count: 16 - b.count) + b
    }
}
