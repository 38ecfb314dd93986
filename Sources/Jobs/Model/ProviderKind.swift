/// The provider APIs an account speaks: the `kind` of an entry of the configuration's
/// `providers`. A job's `provider` names an account or one of the kinds a job may name
/// (`init(jobName:)`).
public enum ProviderKind: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case plum
    case restcomm
    /// Answers in-process and accepts everything: for benchmarks only (`run --bench`). A job
    /// cannot name it; it names an account of this kind instead.
    case null

    /// The kind a job's `provider` names (case-insensitive): plum or restcomm; nil otherwise.
    public init?(jobName name: String) {
        guard let kind = ProviderKind(rawValue: name.lowercased()), kind != .null else { return nil }
        self = kind
    }

    public var description: String { rawValue }

    /// Whether recipients may be `client:NAME` (Restcomm's client addresses).
    public var acceptsClientRecipients: Bool { self == .restcomm }
}
