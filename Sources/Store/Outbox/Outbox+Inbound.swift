/// Inbound SMS and the opt-out list.
extension Outbox {
    /// Seconds within which an inbound SMS without a provider message id and with the same
    /// number, sender and body as one already recorded counts as a replay of it.
    public static let inboundReplayWindow = 600.0

    /// Arbitrary constant: the first half of the advisory lock key that serialises inbound SMS
    /// between the same two numbers (the second half hashes them).
    static let inboundLockClass: Int32 = 0x696E_626E  // "inbn"
}
