/// Whose opt-outs apply to a message (`opt_out_scope` in the configuration): an opt-out row's
/// `sender` is the sender number it was made against, or `''` for every sender.
public enum OptOutScope: String, Sendable, CaseIterable {
    /// A recipient's opt-out applies to the sender it was made against (and `''` rows to all).
    case sender
    /// Any opt-out of a recipient applies to every sender; new ones are recorded for all (`''`).
    case global

    /// The `opt_outs.sender` an opt-out against `sender` is recorded under in this scope.
    public func listedSender(_ sender: String) -> String { self == .global ? "" : sender }
}
