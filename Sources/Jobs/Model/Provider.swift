/// The SMS providers a campaign can go through.
public enum Provider: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case plum
    case restcomm

    public var description: String { rawValue }

    /// Whether recipients may be `client:NAME` (Restcomm's client addresses).
    public var acceptsClientRecipients: Bool { self == .restcomm }
}
