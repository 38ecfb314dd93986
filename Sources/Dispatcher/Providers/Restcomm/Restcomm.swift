import Foundation
import HTTP
import Jobs
import Support

/// The Restcomm kind (Twilio-compatible): form posts under `Accounts/{sid}`, JSON answers and
/// errors with numeric codes, status callbacks.
enum Restcomm: ProviderDefinition {
    static func defaultAccount(name: String, sandboxURL: URL) -> AccountConfiguration {
        AccountConfiguration(name: name, kind: .restcomm, baseURL: sandboxURL.appending(path: "restcomm"),
                             accountSID: "ACsandbox", authToken: Secret("sandbox"))
    }

    static let settingKeys: [String] = ["account_sid", "auth_token", "auth_token_env"]

    static func readSettings(_ members: [JSONMember], path: String, reader: ConfigReader,
                                    into account: inout AccountConfiguration) throws(ConfigurationError) {
        if let v = members.first(where: { $0.key == "account_sid" })?.value { account.accountSID = try reader.string(v, "\(path).account_sid") }
        if let s = try reader.secret(members, path, key: "auth_token") { account.authToken = s }
    }

    static func makeClient(_ account: AccountConfiguration, timeout: Duration, http: HTTPClient) -> any SMSProvider {
        RestcommClient(name: account.name, configuration: .init(baseURL: account.baseURL, accountSID: account.accountSID,
                                                                authToken: account.authToken.value, timeout: timeout), http: http)
    }

    static func describe(_ account: AccountConfiguration) -> [String] {
        ["account_sid=\(account.accountSID)", "auth_token=\(account.authToken)"]
    }

    static let callbacks: CallbackFormat? = CallbackFormat(
        parse: { RestcommClient.parseCallback($0) }, requiredFields: "MessageSid and MessageStatus")

    static let takesInboundSMS = false
}
