public import Foundation

/// One configured provider account (`providers.NAME` in the configuration).
public struct ProviderConfiguration: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        case plum, restcomm
        /// Answers in-process and accepts everything: for benchmarks only (`run --bench`).
        case null
    }

    public var name: String
    public var kind: Kind
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

    public init(name: String, kind: Kind, baseURL: URL, username: String = "", password: Secret = Secret(""),
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

    public static func sandboxPlum(name: String = "plum", baseURL: URL = sandboxURL) -> ProviderConfiguration {
        ProviderConfiguration(name: name, kind: .plum, baseURL: baseURL, username: "sandbox", password: Secret("sandbox"))
    }

    public static func sandboxRestcomm(name: String = "restcomm", baseURL: URL = sandboxURL) -> ProviderConfiguration {
        ProviderConfiguration(name: name, kind: .restcomm, baseURL: baseURL.appending(path: "restcomm"),
                              accountSID: "ACsandbox", authToken: Secret("sandbox"))
    }

    public var description: String {
        var parts = ["kind=\(kind.rawValue)", "base_url=\(baseURL.absoluteString)", "timeout_s=\(timeoutSeconds)"]
        switch kind {
        case .plum: parts += ["username=\(username)", "password=\(password)"]
        case .restcomm: parts += ["account_sid=\(accountSID)", "auth_token=\(authToken)"]
        case .null: break
        }
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
