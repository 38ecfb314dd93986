public import Foundation

/// How the sandbox behaves. Durations are seconds (fractional allowed), rates are fractions 0…1.
/// JSON profile files decode into this (every field optional; see `SandboxConfiguration`).
public struct SandboxKnobs: Sendable, Codable, Equatable {
    /// Fraction of send requests answered 500 without accepting the message.
    public var serverErrorRate: Double = 0
    /// Fraction of send requests that accept the message and then answer only after
    /// `slowAnswerDelay` — longer than a client's timeout, so the message exists but the client
    /// sees a timeout (exercises in-doubt reconciliation).
    public var slowAnswerRate: Double = 0
    public var slowAnswerDelay: Double = 15
    /// Accepted → sent (the "sent" callback).
    public var sentDelay: Double = 0
    /// Accepted → final delivery state, drawn uniformly from this range (at least `sentDelay`).
    public var deliveryDelayMin: Double = 0
    public var deliveryDelayMax: Double = 0
    /// Status callbacks on/off.
    public var callbacks: Bool = true
    /// Fraction of callbacks posted twice.
    public var duplicateCallbackRate: Double = 0
    /// Fraction of messages whose callbacks arrive in the wrong order (Restcomm: delivery event
    /// before the sent event; Plum: a stale "queued" after "sent").
    public var outOfOrderCallbackRate: Double = 0
    /// Per-sender segment rate; above it Plum answers 429 and Restcomm 429 with code 30001
    /// (queue overflow). 0 means unlimited.
    public var segmentsPerSecond: Double = 0
    /// Segments a sender may send at once after an idle spell.
    public var burstSegments: Double = 10
    /// Seed of the sandbox's random choices (fault draws, delays, ids).
    public var seed: UInt64 = 1

    public init() {}

    /// No faults, instant delivery, no rate limit.
    public static let perfect = SandboxKnobs()

    /// What a new user sees: small delays, a low 5xx rate, a generous rate limit.
    public static var realistic: SandboxKnobs {
        var k = SandboxKnobs()
        k.serverErrorRate = 0.01
        k.sentDelay = 0.05
        k.deliveryDelayMin = 0.1
        k.deliveryDelayMax = 0.5
        k.duplicateCallbackRate = 0.01
        k.segmentsPerSecond = 100
        k.burstSegments = 200
        return k
    }

    /// High fault rates of every kind.
    public static var chaos: SandboxKnobs {
        var k = SandboxKnobs()
        k.serverErrorRate = 0.1
        k.slowAnswerRate = 0.05
        k.slowAnswerDelay = 15
        k.sentDelay = 0.1
        k.deliveryDelayMin = 0.2
        k.deliveryDelayMax = 3
        k.duplicateCallbackRate = 0.2
        k.outOfOrderCallbackRate = 0.2
        k.segmentsPerSecond = 5
        k.burstSegments = 10
        return k
    }

    public static func profile(named name: String) -> SandboxKnobs? {
        switch name {
        case "perfect": .perfect
        case "realistic": .realistic
        case "chaos": .chaos
        default: nil
        }
    }

    public init(from decoder: any Decoder) throws {
        // Every field optional: start from the defaults.
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = SandboxKnobs()
        serverErrorRate = try c.decodeIfPresent(Double.self, forKey: .serverErrorRate) ?? d.serverErrorRate
        slowAnswerRate = try c.decodeIfPresent(Double.self, forKey: .slowAnswerRate) ?? d.slowAnswerRate
        slowAnswerDelay = try c.decodeIfPresent(Double.self, forKey: .slowAnswerDelay) ?? d.slowAnswerDelay
        sentDelay = try c.decodeIfPresent(Double.self, forKey: .sentDelay) ?? d.sentDelay
        deliveryDelayMin = try c.decodeIfPresent(Double.self, forKey: .deliveryDelayMin) ?? d.deliveryDelayMin
        deliveryDelayMax = try c.decodeIfPresent(Double.self, forKey: .deliveryDelayMax) ?? d.deliveryDelayMax
        callbacks = try c.decodeIfPresent(Bool.self, forKey: .callbacks) ?? d.callbacks
        duplicateCallbackRate = try c.decodeIfPresent(Double.self, forKey: .duplicateCallbackRate) ?? d.duplicateCallbackRate
        outOfOrderCallbackRate = try c.decodeIfPresent(Double.self, forKey: .outOfOrderCallbackRate) ?? d.outOfOrderCallbackRate
        segmentsPerSecond = try c.decodeIfPresent(Double.self, forKey: .segmentsPerSecond) ?? d.segmentsPerSecond
        burstSegments = try c.decodeIfPresent(Double.self, forKey: .burstSegments) ?? d.burstSegments
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
    }

    private enum CodingKeys: String, CodingKey {
        case serverErrorRate = "server_error_rate", slowAnswerRate = "slow_answer_rate", slowAnswerDelay = "slow_answer_delay_s"
        case sentDelay = "sent_delay_s", deliveryDelayMin = "delivery_delay_min_s", deliveryDelayMax = "delivery_delay_max_s"
        case callbacks, duplicateCallbackRate = "duplicate_callback_rate", outOfOrderCallbackRate = "out_of_order_callback_rate"
        case segmentsPerSecond = "segments_per_second", burstSegments = "burst_segments", seed
    }
}

/// The sandbox's address, credentials and knobs.
///
/// Profile file (`dispatcher sandbox --config FILE`):
/// ```json
/// {"listen": "127.0.0.1:9090", "profile": "realistic",
///  "plum": {"username": "sandbox", "password": "sandbox"},
///  "restcomm": {"account_sid": "ACsandbox", "auth_token": "sandbox"},
///  "knobs": {"server_error_rate": 0.05, "delivery_delay_max_s": 2}}
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
        var object = (try? JSONSerialization.jsonObject(with: JSONEncoder().encode(knobs))) as? [String: Any] ?? [:]
        switch value {
        case "true", "false": object[name] = value == "true"
        default:
            guard let number = Double(value) else { throw SandboxConfigurationError("knob \(name): '\(value)' is not a number") }
            object[name] = number
        }
        guard Self.knobNames.contains(name) else {
            throw SandboxConfigurationError("unknown knob '\(name)' (\(Self.knobNames.sorted().joined(separator: ", ")))")
        }
        let data = try JSONSerialization.data(withJSONObject: object)
        knobs = try JSONDecoder().decode(SandboxKnobs.self, from: data)
    }

    public static let knobNames: Set<String> = [
        "server_error_rate", "slow_answer_rate", "slow_answer_delay_s", "sent_delay_s", "delivery_delay_min_s",
        "delivery_delay_max_s", "callbacks", "duplicate_callback_rate", "out_of_order_callback_rate",
        "segments_per_second", "burst_segments", "seed",
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
