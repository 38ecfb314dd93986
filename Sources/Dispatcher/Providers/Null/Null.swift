import Foundation
import HTTP
import Support

/// The null kind: answers in-process and accepts everything, for benchmarks only
/// (`run --bench`). It has no settings of its own, sends no callbacks and takes no inbound SMS.
enum Null: ProviderDefinition {
    static func defaultAccount(name: String, sandboxURL: URL) -> AccountConfiguration {
        AccountConfiguration(name: name, kind: .null, baseURL: URL(string: "http://null.invalid")!)
    }

    static let settingKeys: [String] = []

    static func readSettings(_ members: [JSONMember], path: String, reader: ConfigReader,
                                    into account: inout AccountConfiguration) throws(ConfigurationError) {}

    static func makeClient(_ account: AccountConfiguration, timeout: Duration, http: HTTPClient) -> any SMSProvider {
        NullClient(name: account.name)
    }

    static func describe(_ account: AccountConfiguration) -> [String] { [] }

    static let callbacks: CallbackFormat? = nil

    static let takesInboundSMS = false
}
