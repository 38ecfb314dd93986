import Foundation
import Jobs
import Support
import Store

/// Reads the configuration's JSON tree, naming the path of every error.
struct ConfigReader {
    let file: String
    let environment: [String: String]
    /// False for commands that send nothing (submit, validate): a secret's variable may be unset.
    var needsSecrets = true

    func fail(_ path: String, _ message: String) -> ConfigurationError {
        ConfigurationError(file: file, path: path, message)
    }

    func object(_ value: JSONValue, _ path: String, allowed: Set<String>) throws(ConfigurationError) -> [JSONMember] {
        guard case .object(let members) = value else { throw fail(path, "must be an object, not \(value.typeName)") }
        for m in members where !allowed.contains(m.key) {
            throw fail(path.isEmpty ? m.key : "\(path).\(m.key)", "unknown setting (known: \(allowed.sorted().joined(separator: ", ")))")
        }
        return members
    }

    func string(_ value: JSONValue, _ path: String) throws(ConfigurationError) -> String {
        guard case .string(let s) = value else { throw fail(path, "must be a string, not \(value.typeName)") }
        return s
    }

    func number(_ value: JSONValue, _ path: String, min: Double, minInclusive: Bool = true) throws(ConfigurationError) -> Double {
        guard case .number(let text) = value, let d = Double(text), d.isFinite else { throw fail(path, "must be a number, not \(value.typeName)") }
        if minInclusive ? d < min : d <= min { throw fail(path, "must be \(minInclusive ? "at least" : "more than") \(min.formatted()), got \(text)") }
        return d
    }

    func integer(_ value: JSONValue, _ path: String, min: Int) throws(ConfigurationError) -> Int {
        let d = try number(value, path, min: Double(min))
        guard d.rounded() == d, d < 1e9 else { throw fail(path, "must be a whole number") }
        return Int(d)
    }

    func url(_ value: JSONValue, _ path: String) throws(ConfigurationError) -> URL {
        let s = try string(value, path)
        guard let url = URL(string: s), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), url.host != nil else {
            throw fail(path, "must be an http:// or https:// URL")
        }
        return url
    }

    /// `NAME` inline or `NAME_env` naming an environment variable.
    func secret(_ members: [JSONMember], _ path: String, key: String) throws(ConfigurationError) -> Secret? {
        if let v = members.first(where: { $0.key == key })?.value { return Secret(try string(v, "\(path).\(key)")) }
        if let v = members.first(where: { $0.key == key + "_env" })?.value {
            let name = try string(v, "\(path).\(key)_env")
            guard let value = environment[name], !value.isEmpty else {
                if !needsSecrets { return Secret("") }
                throw fail("\(path).\(key)_env", "environment variable \(name) is not set")
            }
            return Secret(value)
        }
        return nil
    }

    func rate(_ members: [JSONMember], _ path: String) throws(ConfigurationError) -> RateLimit? {
        let rate = try members.first(where: { $0.key == "rate_per_second" }).map { m throws(ConfigurationError) in
            try number(m.value, "\(path).rate_per_second", min: 0, minInclusive: false)
        }
        let burst = try members.first(where: { $0.key == "burst" }).map { m throws(ConfigurationError) in
            try number(m.value, "\(path).burst", min: 1)
        }
        guard let rate else {
            if burst != nil { throw fail("\(path).burst", "needs rate_per_second beside it") }
            return nil
        }
        return RateLimit(perSecond: rate, burst: burst ?? max(1, rate))
    }

    mutating func configuration(_ json: JSONValue) throws(ConfigurationError) -> DispatcherConfiguration {
        var c = DispatcherConfiguration()
        let top = try object(json, "", allowed: [
            "listen", "public_url", "spool", "providers", "senders", "default_sender", "retry", "poll", "lease_s",
            "opt_out_scope", "concurrency", "in_doubt", "breaker", "http", "compliance",
        ])
        for m in top {
            switch m.key {
            case "listen":
                let s = try string(m.value, "listen")
                guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]), (0...65535).contains(port) else {
                    throw fail("listen", "must be HOST:PORT, got '\(s)'")
                }
                c.listen = s
            case "public_url": c.publicURL = try url(m.value, "public_url")
            case "spool": c.spool = try string(m.value, "spool")
            case "lease_s": c.leaseSeconds = try number(m.value, "lease_s", min: 1)
            case "concurrency": c.concurrency = try integer(m.value, "concurrency", min: 1)
            case "opt_out_scope":
                let s = try string(m.value, "opt_out_scope")
                guard let scope = OptOutScope(rawValue: s) else { throw fail("opt_out_scope", "must be \"sender\" or \"global\", got '\(s)'") }
                c.optOutScope = scope
            case "retry":
                for r in try object(m.value, "retry", allowed: ["max_attempts", "base_delay_s", "max_delay_s"]) {
                    switch r.key {
                    case "max_attempts": c.retry.maxAttempts = try integer(r.value, "retry.max_attempts", min: 1)
                    case "base_delay_s": c.retry.baseDelaySeconds = try number(r.value, "retry.base_delay_s", min: 0)
                    default: c.retry.maxDelaySeconds = try number(r.value, "retry.max_delay_s", min: 0)
                    }
                }
                if c.retry.maxDelaySeconds < c.retry.baseDelaySeconds { throw fail("retry.max_delay_s", "must be at least base_delay_s") }
            case "poll":
                for p in try object(m.value, "poll", allowed: ["after_s", "give_up_after_s"]) {
                    if p.key == "after_s" { c.poll.afterSeconds = try number(p.value, "poll.after_s", min: 0) }
                    else { c.poll.giveUpAfterSeconds = try number(p.value, "poll.give_up_after_s", min: 0) }
                }
            case "in_doubt":
                for p in try object(m.value, "in_doubt", allowed: ["horizon_s", "lookup_every_s"]) {
                    if p.key == "horizon_s" { c.inDoubt.horizonSeconds = try number(p.value, "in_doubt.horizon_s", min: 0) }
                    else { c.inDoubt.lookupEverySeconds = try number(p.value, "in_doubt.lookup_every_s", min: 0.1) }
                }
            case "breaker":
                for p in try object(m.value, "breaker", allowed: ["failures", "probe_after_s", "max_probe_interval_s"]) {
                    switch p.key {
                    case "failures": c.breaker.failures = try integer(p.value, "breaker.failures", min: 1)
                    case "probe_after_s": c.breaker.probeAfterSeconds = try number(p.value, "breaker.probe_after_s", min: 0.1)
                    default: c.breaker.maxProbeIntervalSeconds = try number(p.value, "breaker.max_probe_interval_s", min: 0.1)
                    }
                }
                if c.breaker.maxProbeIntervalSeconds < c.breaker.probeAfterSeconds {
                    throw fail("breaker.max_probe_interval_s", "must be at least probe_after_s")
                }
            case "compliance":
                let members = try object(m.value, "compliance", allowed: Self.replyComplianceKeys.union(Self.sendingComplianceKeys))
                c.compliance = try compliance(members)
                c.sendingCompliance = try sendingCompliance(members)
            case "http":
                for h in try object(m.value, "http", allowed: ["header_timeout_s", "body_timeout_s", "idle_timeout_s"]) {
                    let seconds = try number(h.value, "http.\(h.key)", min: 0, minInclusive: false)
                    switch h.key {
                    case "header_timeout_s": c.http.headerSeconds = seconds
                    case "body_timeout_s": c.http.bodySeconds = seconds
                    default: c.http.idleSeconds = seconds
                    }
                }
            case "default_sender":
                let members = try object(m.value, "default_sender", allowed: ["rate_per_second", "burst"])
                guard let r = try rate(members, "default_sender") else { throw fail("default_sender", "needs rate_per_second") }
                c.defaultSenderRate = r
            case "providers":
                guard case .object(let entries) = m.value else { throw fail("providers", "must be an object, not \(m.value.typeName)") }
                c.accounts = [:]
                for e in entries {
                    // the name goes into callback URLs and `resume --provider NAME`
                    guard !e.key.isEmpty, e.key.count <= 64,
                          e.key.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0)) })
                    else {
                        throw fail("providers.\(e.key)", "a provider account's name is 1–64 letters, digits, '-', '_' or '.'")
                    }
                    c.accounts[e.key] = try account(name: e.key, e.value)
                }
            default:  // senders
                guard case .object(let entries) = m.value else { throw fail("senders", "must be an object, not \(m.value.typeName)") }
                for e in entries {
                    let path = "senders.\(e.key)"
                    let number: PhoneNumber
                    do { number = try PhoneNumber(parsing: e.key) } catch { throw fail(path, "not a phone number: \(error)") }
                    let members = try object(e.value, path, allowed: ["provider", "rate_per_second", "burst"])
                    let owner = try members.first(where: { $0.key == "provider" }).map { p throws(ConfigurationError) in try string(p.value, "\(path).provider") }
                    guard let limit = try rate(members, path) else { throw fail(path, "needs rate_per_second") }
                    c.senders[number.e164] = .init(number: number.e164, account: owner, rateLimit: limit)
                }
            }
        }
        // A send must be able to finish inside its lease, with time to spare for the rate limiter.
        if let slowest = c.accounts.values.max(by: { $0.timeoutSeconds < $1.timeoutSeconds }), c.leaseSeconds < slowest.timeoutSeconds + 2 {
            throw fail("lease_s", "must be at least providers.\(slowest.name).timeout_s + 2 s (\((slowest.timeoutSeconds + 2).formatted()))")
        }
        for (number, sender) in c.senders {
            if let p = sender.account, c.accounts[p] == nil {
                throw fail("senders.\(number).provider", "no provider named '\(p)' (configured: \(c.accounts.keys.sorted().joined(separator: ", ")))")
            }
        }
        return c
    }

    func account(name: String, _ value: JSONValue) throws(ConfigurationError) -> AccountConfiguration {
        let path = "providers.\(name)"
        // the keys of every kind are known; only the inbound keys are refused on kinds without inbound SMS (below)
        let members = try object(value, path, allowed: Set(["kind", "base_url", "timeout_s", "rate_per_second", "burst"])
            .union(ProviderKind.allCases.flatMap { $0.definition.settingKeys }))
        func member(_ key: String) -> JSONValue? { members.first(where: { $0.key == key })?.value }
        let kindText = try member("kind").map { v throws(ConfigurationError) in try string(v, "\(path).kind") } ?? name
        guard let kind = ProviderKind(rawValue: kindText) else {
            throw fail("\(path).kind", "unknown provider kind '\(kindText)' (\(ProviderKind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        var account = AccountConfiguration.sandbox(kind, name: name)
        if let v = member("base_url") { account.baseURL = try url(v, "\(path).base_url") }
        if let v = member("timeout_s") { account.timeoutSeconds = try number(v, "\(path).timeout_s", min: 0, minInclusive: false) }
        account.rateLimit = try rate(members, path)
        try kind.definition.readSettings(members, path: path, reader: self, into: &account)
        if !kind.definition.takesInboundSMS, let m = members.first(where: { $0.key.hasPrefix("inbound_key") }) {
            throw fail("\(path).\(m.key)", "only Plum accounts take inbound SMS")
        }
        return account
    }
}
