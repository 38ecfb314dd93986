public import Foundation
public import Support
public import HTTP

/// The sandbox's address, credentials and knobs.
///
/// Profile file (`dispatcher sandbox --config FILE`):
/// ```json
/// {"listen": "127.0.0.1:8787", "profile": "realistic",
///  "plum": {"username": "sandbox", "password": "sandbox"},
///  "restcomm": {"account_sid": "ACsandbox", "auth_token": "sandbox"},
///  "knobs": {"server_error_rate": 0.05, "delivery_delay_max_s": 2, "plum_callback_delivery": "status"}}
/// ```
/// `knobs` override the named profile's values.
public struct SandboxConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 0
    public var plumUsername = "sandbox"
    public var plumPassword = "sandbox"
    public var restcommAccountSID = "ACsandbox"
    public var restcommAuthToken = "sandbox"
    public var knobs = SandboxKnobs.realistic
    /// HTTP server settings (event loops, limits).
    public var server = HTTPServerConfiguration()
    /// Where the sandbox says what went wrong (failed callbacks).
    public var logger = Logger(label: "sandbox")

    public init(knobs: SandboxKnobs = .realistic) {
        self.knobs = knobs
    }

    /// Reads a profile file (format above) on top of the defaults.
    public static func load(json data: Data) throws -> SandboxConfiguration {
        struct File: Decodable {
            struct Plum: Decodable { var username: String?; var password: String? }
            struct Restcomm: Decodable { var account_sid: String?; var auth_token: String? }
            var listen: String?
            var profile: String?
            var plum: Plum?
            var restcomm: Restcomm?
            var knobs: [String: JSONScalar]?
        }
        let file = try JSONDecoder().decode(File.self, from: data)
        var configuration = SandboxConfiguration()
        if let name = file.profile {
            guard let knobs = SandboxKnobs.profile(named: name) else {
                throw SandboxConfigurationError("unknown profile '\(name)' (perfect, realistic, chaos)")
            }
            configuration.knobs = knobs
        }
        if let listen = file.listen { try configuration.setListen(listen) }
        if let p = file.plum {
            configuration.plumUsername = p.username ?? configuration.plumUsername
            configuration.plumPassword = p.password ?? configuration.plumPassword
        }
        if let r = file.restcomm {
            configuration.restcommAccountSID = r.account_sid ?? configuration.restcommAccountSID
            configuration.restcommAuthToken = r.auth_token ?? configuration.restcommAuthToken
        }
        if let overrides = file.knobs {
            for (key, value) in overrides { try configuration.setKnob(key, value.text) }
        }
        return configuration
    }

    /// `HOST:PORT`.
    public mutating func setListen(_ listen: String) throws {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
              (0...65535).contains(port) else {
            throw SandboxConfigurationError("listen address must be HOST:PORT, got '\(listen)'")
        }
        host = String(listen[..<colon])
        self.port = port
    }

    /// Sets one knob by its JSON name (`server_error_rate`, `callbacks`, …) from text.
    public mutating func setKnob(_ name: String, _ value: String) throws {
        guard Self.knobNames.contains(name) else {
            throw SandboxConfigurationError("unknown knob '\(name)' (\(Self.knobNames.sorted().joined(separator: ", ")))")
        }
        var object = (try? JSONSerialization.jsonObject(with: JSONEncoder().encode(knobs))) as? [String: Any] ?? [:]
        if let choices = Self.stringKnobs[name] {
            guard choices.contains(value) else {
                throw SandboxConfigurationError("knob \(name): '\(value)' is not one of \(choices.joined(separator: ", "))")
            }
            object[name] = value
        } else {
            switch value {
            case "true", "false": object[name] = value == "true"
            default:
                guard let number = Double(value) else { throw SandboxConfigurationError("knob \(name): '\(value)' is not a number") }
                object[name] = number
            }
        }
        let data = try JSONSerialization.data(withJSONObject: object)
        do {
            knobs = try JSONDecoder().decode(SandboxKnobs.self, from: data)
        } catch {
            throw SandboxConfigurationError("knob \(name): '\(value)' does not fit")
        }
    }

    public static let knobNames: Set<String> = [
        "server_error_rate", "slow_answer_rate", "slow_answer_delay_s", "sent_delay_s", "delivery_delay_min_s",
        "delivery_delay_max_s", "callbacks", "delivery_callbacks", "plum_list_delivery_status", "plum_callback_delivery",
        "duplicate_callback_rate", "out_of_order_callback_rate", "segments_per_second", "burst_segments", "seed",
        "accept_then_5xx_rate", "accept_then_5xx_count", "accept_then_5xx_status", "late_commit_rate", "late_commit_delay_s",
        "list_lag_s", "outage_s", "outage_start_s", "outage_mode", "body_normalisation",
    ]

    /// The knobs that take a word, and their words.
    public static let stringKnobs: [String: [String]] = [
        "plum_callback_delivery": SandboxKnobs.PlumCallbackDelivery.allCases.map(\.rawValue),
        "outage_mode": SandboxKnobs.OutageMode.allCases.map(\.rawValue),
        "body_normalisation": SandboxKnobs.BodyNormalisation.allCases.map(\.rawValue),
    ]
}

/// A profile file or flag the sandbox cannot use.
public struct SandboxConfigurationError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// A JSON number, string or boolean, as text.
private struct JSONScalar: Decodable {
    var text: String
    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { text = b ? "true" : "false" }
        else if let d = try? c.decode(Double.self) { text = String(d) }
        else { text = try c.decode(String.self) }
    }
}
