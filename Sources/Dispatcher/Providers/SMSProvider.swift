/// The client of one provider account the dispatcher sends through. Implementations (one per
/// kind, in its folder) own the wire format; `AccountConfiguration.makeClient` builds them.
public protocol SMSProvider: Sendable {
    /// The account's name (its key under the configuration's `providers`).
    var name: String { get }
    /// Sends one message. Never throws: every outcome, including transport errors, is a result.
    func send(_ message: OutgoingSMS) async -> SendResult
    /// One message by provider id.
    func status(id: String) async throws(ProviderError) -> ProviderMessage
    /// Messages matching `filter`, following the provider's paging up to `filter.maxResults`.
    func list(_ filter: MessageFilter) async throws(ProviderError) -> [ProviderMessage]
}
