import Foundation
import HTTP
import Jobs
import Support

/// The Plum kind: form posts with HTTP Basic credentials, JSON or XML envelopes, callbacks to
/// `result_url`, inbound SMS at `/inbound/plum/{key}`.
enum Plum: ProviderDefinition {
    static func defaultAccount(name: String, sandboxURL: URL) -> AccountConfiguration {
        AccountConfiguration(name: name, kind: .plum, baseURL: sandboxURL, username: "sandbox", password: Secret("sandbox"))
    }

    static let settingKeys: [String] = ["username", "password", "password_env", "inbound_key", "inbound_key_env"]

    static func readSettings(_ members: [JSONMember], path: String, reader: ConfigReader,
                                    into account: inout AccountConfiguration) throws(ConfigurationError) {
        func member(_ key: String) -> JSONValue? { members.first(where: { $0.key == key })?.value }
        if let v = member("username") { account.username = try reader.string(v, "\(path).username") }
        if let s = try reader.secret(members, path, key: "password") { account.password = s }
        // (a command that sends nothing gets an empty key for an unset variable: no inbound then)
        if let s = try reader.secret(members, path, key: "inbound_key"), !s.value.isEmpty || member("inbound_key") != nil {
            let key = member("inbound_key") != nil ? "inbound_key" : "inbound_key_env"
            if let problem = InboundKey.problem(s.value) { throw reader.fail("\(path).\(key)", "the inbound key \(problem)") }
            account.inboundKey = s
        }
    }

    static func makeClient(_ account: AccountConfiguration, timeout: Duration, http: HTTPClient) -> any SMSProvider {
        PlumClient(name: account.name, configuration: .init(baseURL: account.baseURL, username: account.username,
                                                            password: account.password.value, timeout: timeout), http: http)
    }

    static func describe(_ account: AccountConfiguration) -> [String] {
        var parts = ["username=\(account.username)", "password=\(account.password)"]
        if let inboundKey = account.inboundKey { parts.append("inbound_key=\(inboundKey)") }
        return parts
    }

    static let callbacks: CallbackFormat? = CallbackFormat(
        parse: { PlumClient.parseCallback($0) }, requiredFields: "sms_message_id and status (or delivery_status)")

    static let takesInboundSMS = true
}
