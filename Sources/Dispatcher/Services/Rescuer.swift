import Foundation
public import Store
public import Support

/// Settles what a crash or a timeout left uncertain, about once a second:
/// - pending messages past `expires_at` → `expired`;
/// - expired leases (`sending`, its worker gone) → `in_doubt`;
/// - in-doubt messages are looked up: a callback or poll report stored for the message names
///   its provider id, or the provider's message list shows it (same recipient and sender, digits
///   only with the NANP `1` optional, a time window around the attempts, the body equal after
///   normalisation — trimmed, line breaks as LF, Unicode NFC, whitespace runs as one space —
///   and an id no other message has): the id is adopted and the message is `accepted`. Not
///   found: looked up again every `lookupEverySeconds` until `horizonSeconds` after it went in
///   doubt (a provider may commit after our timeout, its list may lag behind acceptance); only
///   then back to `pending` (or `expired` / `failed` when its time or attempts ran out). Never
///   sent twice by guesswork.
public struct Rescuer: Service {
    public struct Configuration: Sendable {
        /// This worker's name in `lease_owner` (it holds in-doubt messages while looking them up).
        public var owner: String
        /// The provider accounts whose messages it settles.
        public var providers: [String]
        /// Between passes, ±20 % jitter. Default 1 s.
        public var interval: Duration = .seconds(1)
        /// Lookups start this long after a lease expired (a request still running has ended).
        public var lookupDelaySeconds = 11.0
        /// Seconds an in-doubt message is held while looked up (`lease_s`). Default 60.
        public var holdSeconds = 60.0
        /// `retry.max_attempts`. Default 5.
        public var maxAttempts = 5
        /// First status poll after a message found at the provider is adopted (`poll.after_s`).
        public var pollAfterSeconds: Double
        /// Whose opt-outs a provider's "unsubscribed" answer records (`opt_out_scope`).
        public var optOutScope: OptOutScope
        /// Expired pending messages and expired leases settled per statement, each pass.
        public var sweepBatchSize = 1_000
        /// `in_doubt.horizon_s`: no resend before this long after the message went in doubt.
        public var horizonSeconds = 600.0
        /// `in_doubt.lookup_every_s`: the lookups' interval within the horizon.
        public var lookupEverySeconds = 30.0
        public init(owner: String, providers: [String], pollAfterSeconds: Double, optOutScope: OptOutScope) {
            self.owner = owner
            self.providers = providers
            self.pollAfterSeconds = pollAfterSeconds
            self.optOutScope = optOutScope
        }

        public func validate() throws(ServiceConfigurationError) {
            func check(_ ok: Bool, _ field: String, _ why: String) throws(ServiceConfigurationError) {
                if !ok { throw ServiceConfigurationError(service: "rescuer", field: field, why) }
            }
            try check(!owner.isEmpty, "owner", "must not be empty")
            try check(interval > .zero, "interval", "must be more than 0")
            try check(lookupDelaySeconds >= 0, "lookupDelaySeconds", "must not be negative")
            try check(holdSeconds > 0, "holdSeconds", "must be more than 0")
            try check(maxAttempts >= 1, "maxAttempts", "must be at least 1")
            try check(horizonSeconds >= 0, "horizonSeconds", "must not be negative")
            try check(lookupEverySeconds > 0, "lookupEverySeconds", "must be more than 0")
        }
    }

    public let name = "rescuer"
    public var configuration: Configuration
    public var pool: ConnectionPool
    public var providers: [String: any SMSProvider]
    /// Its request to stop (the worker's group triggers it when the rescuer's turn comes):
    /// the pass under way finishes, no other starts.
    public var shutdown: Shutdown
    public var logger: Logger

    public init(configuration: Configuration, pool: ConnectionPool, providers: [String: any SMSProvider], shutdown: Shutdown, logger: Logger) {
        self.configuration = configuration
        self.pool = pool
        self.providers = providers
        self.shutdown = shutdown
        self.logger = logger
    }

    public func run() async throws {
        while !shutdown.isTriggered && !Task.isCancelled {
            do {
                try await pass()
            } catch {
                logger.error("rescue pass failed: \(error)")
            }
            await shutdown.sleep(for: configuration.interval * Double.random(in: 0.8...1.2))
        }
    }

    /// One round: expire, rescue leases, look up what is in doubt.
    public func pass() async throws {
        let (expired, rescued) = try await pool.withConnection { c in
            (try await Outbox.messageExpireMany(c, limit: configuration.sweepBatchSize),
             try await Outbox.messageRescueMany(c, limit: configuration.sweepBatchSize, lookupDelaySeconds: configuration.lookupDelaySeconds))
        }
        if expired > 0 { logger.info("expired \(expired) pending message(s) past expires_at") }
        if rescued > 0 { logger.warning("\(rescued) lease(s) expired: messages in doubt until looked up") }
        while !shutdown.isTriggered {
            let held = try await pool.withConnection { c in
                try await Outbox.messageInDoubtClaimMany(c, owner: configuration.owner, limit: 20, leaseSeconds: configuration.holdSeconds,
                                                      providers: configuration.providers)
            }
            if held.isEmpty { return }
            for message in held { await settle(message) }
        }
    }

    func settle(_ m: InDoubtMessage) async {
        let metadata = ["message.id": String(m.id), "provider.name": m.provider]
        guard let provider = providers[m.provider] else { return }
        var completion = Completion(messageID: m.id, leaseToken: m.leaseToken, kind: .retry, attempted: false, nextAttemptAt: Date())
        do {
            // 1. A callback or poll report stored for it: the provider took it.
            let reported = try await pool.withConnection { c in
                try await Outbox.inboxProviderIDList(c, messageID: m.id, provider: m.provider)
            }
            if let id = try await firstUnclaimed(reported, message: m) {
                completion.kind = .accepted
                completion.providerMessageID = id
                completion.detail = "a stored provider report names it: adopted"
                logger.info("in-doubt message was sent (a stored report names it): adopted the provider's id", metadata)
                try await record(completion)
                return
            }
            // 2. The provider's list.
            let since = (m.firstAttemptAt ?? Date().addingTimeInterval(-86_400)).addingTimeInterval(-120)
            let until = Date().addingTimeInterval(120)
            let found: [ProviderMessage]
            do {
                found = try await provider.list(MessageFilter(to: m.to, from: m.from, start: since, end: until))
            } catch {
                // Held until `holdSeconds` pass; looked up again then (never resent without a lookup).
                logger.warning("in-doubt lookup failed: \(error)", metadata)
                return
            }
            let body = m.body.map(Self.normalisedBody)
            let candidates = found.filter { p in
                !p.id.isEmpty && Self.sameNumber(p.to, m.to) && Self.sameNumber(p.from, m.from)
                    && body != nil && Self.normalisedBody(p.body) == body
                    && (p.createdAt.map { $0 >= since && $0 <= until } ?? true)
            }
            if let id = try await firstUnclaimed(candidates.map(\.id), message: m) {
                let match = candidates.first { $0.id == id }
                completion.kind = .accepted
                completion.providerMessageID = id
                completion.providerStatus = match?.status
                completion.detail = "found at the provider: adopted"
                logger.info("in-doubt message was sent: adopted the provider's id", metadata)
            } else if let wentInDoubt = m.inDoubtSince,
                      Date().timeIntervalSince(wentInDoubt) < configuration.horizonSeconds {
                // Not (yet) there: a late commit or a lagging list would show later. Look again.
                let next = min(Date().addingTimeInterval(configuration.lookupEverySeconds),
                               wentInDoubt.addingTimeInterval(configuration.horizonSeconds))
                try await pool.withConnection { c in
                    _ = try await Outbox.messageInDoubtDeferIfHeld(c, id: m.id, leaseToken: m.leaseToken, at: next)
                }
                return
            } else if let expiresAt = m.expiresAt, expiresAt <= Date() {
                completion.kind = .expired
                completion.errorClass = "expired"
                completion.detail = "not found at the provider within the in-doubt horizon and expires_at passed"
            } else if m.attempts >= configuration.maxAttempts {
                completion.kind = .failed
                completion.errorClass = ErrorCode.timeout.rawValue
                completion.detail = "not found at the provider after \(m.attempts) attempt(s)"
            } else {
                completion.detail = "not found at the provider within the in-doubt horizon: to be sent again"
                logger.info("in-doubt message was not sent: back to pending", metadata)
            }
            try await record(completion)
        } catch {
            logger.error("settling an in-doubt message failed: \(error)", metadata)
        }
    }

    /// The first of `ids` no other message carries (a lookup never adopts another message's send).
    private func firstUnclaimed(_ ids: [String], message m: InDoubtMessage) async throws -> String? {
        guard !ids.isEmpty else { return nil }
        let known = try await pool.withConnection { c in
            try await Outbox.messageProviderIDListTaken(c, provider: m.provider, ids: ids, excluding: m.id)
        }
        return ids.first { !known.contains($0) }
    }

    private func record(_ completion: Completion) async throws {
        try await pool.withConnection { c in
            _ = try await Outbox.messageCompleteIfHeldMany(c, [completion], from: .inDoubt,
                                                 pollAfterSeconds: configuration.pollAfterSeconds,
                                                 optOutScope: configuration.optOutScope)
        }
    }

    /// A body as providers may store it: line breaks as LF, Unicode NFC, runs of whitespace as
    /// one space, no surrounding whitespace.
    static func normalisedBody(_ body: String) -> String {
        let text = body.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
            .precomposedStringWithCanonicalMapping
        var out = ""
        var pendingSpace = false
        for scalar in text.unicodeScalars {
            if scalar.properties.isWhitespace {
                pendingSpace = !out.isEmpty
                continue
            }
            if pendingSpace { out.unicodeScalars.append(" ") }
            pendingSpace = false
            out.unicodeScalars.append(scalar)
        }
        return out
    }

    /// Plum lists 10-digit national numbers; compare on the digits, NANP `1` prefix optional.
    static func sameNumber(_ a: String, _ b: String) -> Bool {
        func key(_ s: String) -> String {
            let digits = s.filter(\.isNumber)
            return digits.count == 11 && digits.hasPrefix("1") ? String(digits.dropFirst()) : digits
        }
        return key(a) == key(b)
    }
}
