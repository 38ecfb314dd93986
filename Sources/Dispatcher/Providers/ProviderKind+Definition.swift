import Foundation
public import HTTP
import Jobs
import Support

/// Everything the engine knows about one kind of provider API, in that kind's folder
/// (`Plum/`, `Restcomm/`, `Null/`). Adding a kind is a folder with a type conforming to this
/// and one line in `ProviderKind.definition`.
protocol ProviderDefinition {
    /// An account named `name` with this kind's defaults (the sandbox's address and
    /// credentials, for the kinds the sandbox serves).
    static func defaultAccount(name: String, sandboxURL: URL) -> AccountConfiguration
    /// The keys of `providers.NAME` this kind reads beyond the common ones (kind, base_url,
    /// timeout_s, rate_per_second, burst).
    static var settingKeys: [String] { get }
    /// Reads those settings into `account`.
    static func readSettings(_ members: [JSONMember], path: String, reader: ConfigReader,
                             into account: inout AccountConfiguration) throws(ConfigurationError)
    /// The client for `account`.
    static func makeClient(_ account: AccountConfiguration, timeout: Duration, http: HTTPClient) -> any SMSProvider
    /// The kind's settings for `AccountConfiguration.description` (secrets as `Secret` prints them).
    static func describe(_ account: AccountConfiguration) -> [String]
    /// Reads a delivery callback's form body; nil when the kind sends no callbacks.
    static var callbacks: CallbackFormat? { get }
    /// Whether accounts of this kind take inbound SMS (`inbound_key`).
    static var takesInboundSMS: Bool { get }
}

/// How a kind's delivery callbacks are read.
struct CallbackFormat: Sendable {
    /// The report in a callback's form fields, nil when the fields it needs are missing.
    var parse: @Sendable ([String: String]) -> ProviderMessage?
    /// The fields it needs, for the 400 answer.
    var requiredFields: String
}

extension ProviderKind {
    /// The registry: each kind's definition.
    var definition: any ProviderDefinition.Type {
        switch self {
        case .plum: Plum.self
        case .restcomm: Restcomm.self
        case .null: Null.self
        }
    }
}

extension AccountConfiguration {
    /// The client for this account.
    public func makeClient(http: HTTPClient) -> any SMSProvider {
        let timeout = Duration.milliseconds(Int64((timeoutSeconds * 1000).rounded()))
        return kind.definition.makeClient(self, timeout: timeout, http: http)
    }
}
