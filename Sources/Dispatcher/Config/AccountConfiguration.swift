public import Foundation
public import Jobs

/// One configured provider account (`providers.NAME` in the configuration): a name, the kind
/// of API it speaks, and that kind's settings. What each kind reads and builds from it is in
/// its folder under `Providers/` (see `ProviderKind.definition`).
public struct AccountConfiguration: Sendable, Equatable, CustomStringConvertible {
    /// The key under `providers`: callback URLs, logs and `resume --provider` use it.
    public var name: String
    public var kind: ProviderKind
    public var baseURL: URL
    /// Plum user name.
    public var username: String
    /// Plum password (`password`, or the variable named by `password_env`).
    public var password: Secret
    /// Restcomm account SID.
    public var accountSID: String
    /// Restcomm auth token (`auth_token`, or the variable named by `auth_token_env`).
    public var authToken: Secret
    /// Per request, seconds.
    public var timeoutSeconds: Double
    /// Provider-wide segment rate across every sender (nil: unlimited).
    public var rateLimit: RateLimit?
    /// Plum only: the secret last path segment of this account's inbound SMS URL,
    /// `POST /inbound/plum/{key}` (`inbound_key`, or the variable named by `inbound_key_env`).
    /// Nil: this account takes no inbound SMS.
    public var inboundKey: Secret?

    public init(name: String, kind: ProviderKind, baseURL: URL, username: String = "", password: Secret = Secret(""),
                accountSID: String = "", authToken: Secret = Secret(""), timeoutSeconds: Double = 10, rateLimit: RateLimit? = nil) {
        self.name = name
        self.kind = kind
        self.baseURL = baseURL
        self.username = username
        self.password = password
        self.accountSID = accountSID
        self.authToken = authToken
        self.timeoutSeconds = timeoutSeconds
        self.rateLimit = rateLimit
    }

    /// The sandbox's default address and credentials (`dispatcher sandbox`).
    public static let sandboxURL = URL(string: "http://127.0.0.1:8787")!

    /// An account of `kind` named `name` with the kind's defaults: the sandbox's address and
    /// credentials for the kinds it serves.
    public static func sandbox(_ kind: ProviderKind, name: String? = nil, baseURL: URL = sandboxURL) -> AccountConfiguration {
        kind.definition.defaultAccount(name: name ?? kind.rawValue, sandboxURL: baseURL)
    }

    public static func sandboxPlum(name: String = "plum", baseURL: URL = sandboxURL) -> AccountConfiguration {
        sandbox(.plum, name: name, baseURL: baseURL)
    }

    public static func sandboxRestcomm(name: String = "restcomm", baseURL: URL = sandboxURL) -> AccountConfiguration {
        sandbox(.restcomm, name: name, baseURL: baseURL)
    }

    /// Safe to log: secrets print as `Secret` does.
    public var description: String {
        var parts = ["kind=\(kind.rawValue)", "base_url=\(baseURL.absoluteString)", "timeout_s=\(timeoutSeconds)"]
        parts += kind.definition.describe(self)
        if let rateLimit { parts.append("rate=\(rateLimit)") }
        return "\(name)(" + parts.joined(separator: " ") + ")"
    }
}

/// Segments per second and the burst allowed after an idle spell.
public struct RateLimit: Sendable, Equatable, CustomStringConvertible {
    public var perSecond: Double
    public var burst: Double

    public init(perSecond: Double, burst: Double) {
        self.perSecond = perSecond
        self.burst = max(1, burst)
    }

    public var description: String { "\(perSecond)/s burst \(burst)" }
}

/// The rule for an inbound key: at least 128 bits of randomness in a URL path segment.
public enum InboundKey {
    /// Fewest characters: 32 base64url characters carry 192 bits, 32 hex digits 128.
    public static let minimumLength = 32
    public static let maximumLength = 256

    /// Why `key` cannot be an inbound key, or nil when it can.
    public static func problem(_ key: String) -> String? {
        let allowed = key.unicodeScalars.allSatisfy {
            $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_")
        }
        if !allowed { return "must be letters, digits, '-' and '_' only (URL-safe base64 or hex)" }
        if key.count < minimumLength {
            return "must be at least \(minimumLength) characters (128 bits or more), got \(key.count); generate one with: openssl rand -base64 24 | tr '+/' '-_'"
        }
        if key.count > maximumLength { return "must be at most \(maximumLength) characters" }
        return nil
    }

    /// Compares in time that depends on the lengths only, never on where the two differ.
    public static func equal(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) {
            difference |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
        }
        return difference == 0
    }
}
