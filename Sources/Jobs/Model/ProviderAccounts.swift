/// The configured provider accounts, for routing a campaign: each account has a name (a
/// key of the configuration's `providers`, such as `plum-prod`) and a kind (Plum or
/// Restcomm), and a sender number may belong to one account (`senders.NUMBER.provider`).
///
/// A job's `provider` names an account or a kind. The campaign goes through:
/// - the account that owns its sender number, when one does; the job's `provider` must then
///   be that account's name or its kind;
/// - otherwise the account the job names;
/// - otherwise the one account of the kind the job names (several of that kind: the job
///   must name one).
public struct ProviderAccounts: Sendable, Equatable {
    /// Account name → kind.
    public var accounts: [String: ProviderKind]
    /// Sender number (E.164) → the account that owns it.
    public var senderAccounts: [String: String]

    public init(accounts: [String: ProviderKind], senderAccounts: [String: String] = [:]) {
        self.accounts = accounts
        self.senderAccounts = senderAccounts
    }

    /// The account a campaign goes through, or why there is none.
    public func account(for provider: String, sender: String) -> Result<(name: String, kind: ProviderKind), RoutingError> {
        let named = accounts[provider]
        let kind = named == nil ? ProviderKind(jobName: provider) : nil
        guard named != nil || kind != nil else {
            return .failure(RoutingError("unknown provider '\(provider)' (configured accounts: \(list(accounts.keys)); kinds: plum, restcomm)"))
        }
        if let owner = senderAccounts[sender] {
            guard let ownerKind = accounts[owner] else {
                return .failure(RoutingError("sender \(sender) belongs to provider account '\(owner)', which is not configured"))
            }
            if provider == owner || (named == nil && kind == ownerKind) { return .success((owner, ownerKind)) }
            return .failure(RoutingError(
                "provider '\(provider)' does not match sender \(sender), which belongs to account '\(owner)' (kind \(ownerKind))"))
        }
        if let named { return .success((provider, named)) }
        let ofKind = accounts.filter { $0.value == kind }.map(\.key).sorted()
        switch ofKind.count {
        case 0:
            return .failure(RoutingError("no provider account of kind \(kind!) is configured (configured: \(list(accounts.keys)))"))
        case 1:
            return .success((ofKind[0], kind!))
        default:
            return .failure(RoutingError(
                "several provider accounts are of kind \(kind!) (\(ofKind.joined(separator: ", "))): name one as the provider, or give the sender number an account under senders"))
        }
    }

    private func list(_ names: Dictionary<String, ProviderKind>.Keys) -> String {
        names.isEmpty ? "none" : names.sorted().joined(separator: ", ")
    }

    public struct RoutingError: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }
}
