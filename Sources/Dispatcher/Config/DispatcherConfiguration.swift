public import Foundation
public import Jobs
import Support
public import Store

/// The worker's configuration: a JSON file, every field optional.
///
/// ```json
/// {"listen": "127.0.0.1:8080", "public_url": "https://sms.example.com", "spool": "jobs/incoming",
///  "providers": {"plum": {"kind": "plum", "base_url": "…", "username": "acme", "password_env": "PLUM_PASSWORD",
///                         "timeout_s": 10, "rate_per_second": 50, "burst": 50}},
///  "senders": {"2435678910": {"provider": "plum", "rate_per_second": 1, "burst": 1}},
///  "default_sender": {"rate_per_second": 10, "burst": 10},
///  "retry": {"max_attempts": 5, "base_delay_s": 30, "max_delay_s": 3600},
///  "poll": {"after_s": 120, "give_up_after_s": 604800},
///  "in_doubt": {"horizon_s": 600, "lookup_every_s": 30},
///  "breaker": {"failures": 5, "probe_after_s": 5, "max_probe_interval_s": 60},
///  "lease_s": 60, "opt_out_scope": "sender", "concurrency": 16,
///  "http": {"header_timeout_s": 10, "body_timeout_s": 30, "idle_timeout_s": 75}}
/// ```
/// `in_doubt`: a send whose outcome is unknown (timeout or reset after sending, a 5xx other
/// than 503) is looked up at the provider a second later, then every `lookup_every_s`; a
/// callback or poll report stored for it, or a matching entry in the provider's message list,
/// settles it as accepted. It is sent again only once `horizon_s` has passed since it went in
/// doubt with no sign of acceptance (a provider may commit late, its list may lag).
/// `breaker`: after `failures` transport failures in a row (no connection, unknown outcome,
/// 5xx) a provider account is unavailable for every worker — nothing is claimed for it — until
/// a probe (a list request, never a send) succeeds; probes run `probe_after_s` after that,
/// then at doubling intervals up to `max_probe_interval_s`.
/// With no providers configured, `plum` and `restcomm` point at the local sandbox
/// (`http://127.0.0.1:8787`, its default credentials). Secrets come from the file or from the
/// environment variable named by `password_env` / `auth_token_env`; `description` shows them
/// as `****`.
public struct DispatcherConfiguration: Sendable, CustomStringConvertible {

    public struct Retry: Sendable, Equatable {
        public var maxAttempts = 5
        public var baseDelaySeconds = 30.0
        public var maxDelaySeconds = 3600.0
        public init() {}
    }

    public struct Poll: Sendable, Equatable {
        public var afterSeconds = 120.0
        public var giveUpAfterSeconds = 604_800.0
        public init() {}
    }

    /// `in_doubt`: how long and how often a send of unknown outcome is looked up before a resend.
    public struct InDoubt: Sendable, Equatable {
        public var horizonSeconds = 600.0
        public var lookupEverySeconds = 30.0
        public init() {}
    }

    /// `breaker`: when a provider account counts as unavailable, and how it is probed.
    public struct Breaker: Sendable, Equatable {
        public var failures = 5
        public var probeAfterSeconds = 5.0
        public var maxProbeIntervalSeconds = 60.0
        public init() {}
    }

    /// Timeouts of the HTTP server on `listen` (`http`), in seconds.
    public struct HTTPTimeouts: Sendable, Equatable {
        /// From a request's first byte (or the connection's idle start) until its head is complete.
        public var headerSeconds = 10.0
        /// From the end of the head until the body is complete.
        public var bodySeconds = 30.0
        /// A keep-alive connection with no request for this long is closed. Keep it longer
        /// than the reverse proxy's upstream keep-alive (deploy/nginx: 30 s), so the proxy, not
        /// the dispatcher, closes idle connections: else a request the proxy sends just as the
        /// dispatcher closes fails with 502.
        public var idleSeconds = 75.0
        public init() {}
    }

    /// A sender number's limits (`senders.NUMBER`).
    public struct Sender: Sendable, Equatable {
        /// E.164.
        public var number: String
        /// The account that owns the number (`senders.NUMBER.provider`), if any.
        public var account: String?
        public var rateLimit: RateLimit
    }

    public var listen = "127.0.0.1:8080"
    public var publicURL: URL?
    public var spool = "jobs/incoming"
    /// The provider accounts (`providers` in the file), by name.
    public var accounts: [String: AccountConfiguration] = [
        "plum": .sandboxPlum(), "restcomm": .sandboxRestcomm(),
    ]
    /// By E.164 number.
    public var senders: [String: Sender] = [:]
    /// Limits of a sender number the file does not list.
    public var defaultSenderRate = RateLimit(perSecond: 10, burst: 10)
    public var retry = Retry()
    public var poll = Poll()
    public var inDoubt = InDoubt()
    public var breaker = Breaker()
    public var leaseSeconds = 60.0
    public var optOutScope = OptOutScope.sender
    /// `compliance.quiet_hours` and `compliance.frequency_cap`: applied by every claim.
    public var sendingCompliance = SendingCompliance.none
    /// Sends in flight at once per worker.
    public var concurrency = 16
    public var http = HTTPTimeouts()
    /// `compliance`: extra opt-out and opt-in keywords, and the texts sent back to inbound SMS.
    public var compliance = ComplianceConfiguration()

    public init() {}

    /// The provider accounts and which sender number belongs to which, for routing
    /// campaigns. A job names plum or restcomm, never null: an account of kind `null` (a
    /// benchmark's) routes as the kind its name spells, else as Plum.
    public var providerAccounts: ProviderAccounts {
        var kinds: [String: ProviderKind] = [:]
        for (name, account) in accounts {
            kinds[name] = account.kind == .null ? ProviderKind(jobName: name) ?? .plum : account.kind
        }
        var owners: [String: String] = [:]
        for (number, sender) in senders { if let p = sender.account { owners[number] = p } }
        return ProviderAccounts(accounts: kinds, senderAccounts: owners)
    }

    /// The limits of `number` (E.164).
    public func rateLimit(sender number: String) -> RateLimit {
        senders[number]?.rateLimit ?? defaultSenderRate
    }

    public var description: String {
        var lines = ["listen \(listen)", "public_url \(publicURL?.absoluteString ?? "-")", "spool \(spool)"]
        for name in accounts.keys.sorted() { lines.append("provider \(accounts[name]!)") }
        for number in senders.keys.sorted() { lines.append("sender \(number) \(senders[number]!.rateLimit)") }
        lines.append("default sender \(defaultSenderRate)")
        lines.append("retry max_attempts=\(retry.maxAttempts) base_delay_s=\(retry.baseDelaySeconds) max_delay_s=\(retry.maxDelaySeconds)")
        lines.append("poll after_s=\(poll.afterSeconds) give_up_after_s=\(poll.giveUpAfterSeconds)")
        lines.append("in_doubt horizon_s=\(inDoubt.horizonSeconds) lookup_every_s=\(inDoubt.lookupEverySeconds)")
        lines.append("breaker failures=\(breaker.failures) probe_after_s=\(breaker.probeAfterSeconds) max_probe_interval_s=\(breaker.maxProbeIntervalSeconds)")
        lines.append("lease_s \(leaseSeconds), opt_out_scope \(optOutScope.rawValue), concurrency \(concurrency)")
        lines.append("http header_timeout_s=\(http.headerSeconds) body_timeout_s=\(http.bodySeconds) idle_timeout_s=\(http.idleSeconds)")
        return lines.joined(separator: "\n")
    }

    // MARK: Loading

    /// The file `load(path:)` reads: `path`, else `dispatcher.json` when it exists, else none.
    public static func file(path: String?) -> String? {
        path ?? (FileManager.default.fileExists(atPath: "dispatcher.json") ? "dispatcher.json" : nil)
    }

    /// Reads `path`; with `path` nil, `dispatcher.json` in the current directory if present,
    /// else the defaults. `needsSecrets` false (commands that send nothing) lets a secret's
    /// environment variable be unset.
    public static func load(path: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
                            needsSecrets: Bool = true) throws(ConfigurationError) -> DispatcherConfiguration {
        let file = path ?? "dispatcher.json"
        guard let data = FileManager.default.contents(atPath: file) else {
            if path == nil { return DispatcherConfiguration() }
            throw ConfigurationError(.unreadable, file: file, "cannot read the configuration file")
        }
        return try parse(Array(data), file: file, environment: environment, needsSecrets: needsSecrets)
    }

    public static func parse(_ bytes: [UInt8], file: String = "config", environment: [String: String] = [:],
                             needsSecrets: Bool = true) throws(ConfigurationError) -> DispatcherConfiguration {
        let json: JSONValue
        do { json = try JSONParser.parse(bytes) } catch {
            throw ConfigurationError(file: "\(file):\(error.line):\(error.column)", error.message)
        }
        var reader = ConfigReader(file: file, environment: environment)
        reader.needsSecrets = needsSecrets
        return try reader.configuration(json)
    }
}
