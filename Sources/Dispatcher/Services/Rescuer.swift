import Foundation
public import Store

/// Settles what a crash or a timeout left uncertain, about once a second:
/// - pending messages past `expires_at` → `expired`;
/// - expired leases (`sending`, its worker gone) → `in_doubt`;
/// - in-doubt messages are looked up in the provider's message list (same recipient and
///   sender, a time window around the first attempt, the same body): found → the provider id
///   is adopted and the message is `accepted`; not found → back to `pending` (or `expired`
///   / `failed` when its time or attempts ran out). Never sent twice by guesswork.
public struct Rescuer: Service {
    public struct Configuration: Sendable {
        public var owner: String
        public var providers: [String]
        public var interval: Duration = .seconds(1)
        /// Lookups start this long after a lease expired (a request still running has ended).
        public var lookupDelaySeconds = 11.0
        public var holdSeconds = 60.0
        public var maxAttempts = 5
        /// First status poll after a message found at the provider is adopted (`poll.after_s`).
        public var pollAfterSeconds: Double
        /// Opt-out scope of the completion statement (`opt_out_scope`).
        public var globalOptOut: Bool
        public init(owner: String, providers: [String], pollAfterSeconds: Double, globalOptOut: Bool) {
            self.owner = owner
            self.providers = providers
            self.pollAfterSeconds = pollAfterSeconds
            self.globalOptOut = globalOptOut
        }
    }

    public let name = "rescuer"
    public var configuration: Configuration
    public var pool: ConnectionPool
    public var providers: [String: any SMSProvider]
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
            (try await Outbox.messagesExpire(c), try await Outbox.messagesRescue(c, lookupDelaySeconds: configuration.lookupDelaySeconds))
        }
        if expired > 0 { logger.info("expired \(expired) pending message(s) past expires_at") }
        if rescued > 0 { logger.warning("\(rescued) lease(s) expired: messages in doubt until looked up") }
        while !shutdown.isTriggered {
            let held = try await pool.withConnection { c in
                try await Outbox.messagesInDoubtClaim(c, owner: configuration.owner, limit: 20, leaseSeconds: configuration.holdSeconds,
                                                      providers: configuration.providers)
            }
            if held.isEmpty { return }
            for message in held { await settle(message) }
        }
    }

    func settle(_ m: InDoubtMessage) async {
        let metadata = ["message.id": String(m.id), "provider.name": m.provider]
        guard let provider = providers[m.provider] else { return }
        let since = (m.firstAttemptAt ?? Date().addingTimeInterval(-86_400)).addingTimeInterval(-120)
        let found: [ProviderMessage]
        do {
            found = try await provider.list(MessageFilter(to: m.to, from: m.from, start: since, end: Date().addingTimeInterval(120)))
        } catch {
            // Held until `holdSeconds` pass; looked up again then.
            logger.warning("in-doubt lookup failed: \(error)", metadata)
            return
        }
        let candidates = found.filter { $0.body == m.body && Self.sameNumber($0.to, m.to) && Self.sameNumber($0.from, m.from) && !$0.id.isEmpty }
        var completion = Completion(messageID: m.id, leaseToken: m.leaseToken, kind: .retry, attempted: false, nextAttemptAt: Date())
        do {
            let known = try await pool.withConnection { c in
                try await Outbox.messagesProviderIDsKnown(c, provider: m.provider, ids: candidates.map(\.id))
            }
            if let match = candidates.first(where: { !known.contains($0.id) }) {
                completion.kind = .accepted
                completion.providerMessageID = match.id
                completion.providerStatus = match.status
                completion.detail = "found at the provider: adopted"
                logger.info("in-doubt message was sent: adopted the provider's id", metadata)
            } else if let expiresAt = m.expiresAt, expiresAt <= Date() {
                completion.kind = .expired
                completion.errorClass = "expired"
                completion.detail = "not found at the provider and expires_at passed"
            } else if m.attempts >= configuration.maxAttempts {
                completion.kind = .failed
                completion.errorClass = ErrorCode.timeout.rawValue
                completion.detail = "not found at the provider after \(m.attempts) attempt(s)"
            } else {
                completion.detail = "not found at the provider: to be sent again"
                logger.info("in-doubt message was not sent: back to pending", metadata)
            }
            try await pool.withConnection { c in
                _ = try await Outbox.messagesComplete(c, [completion], from: .inDoubt,
                                                     pollAfterSeconds: configuration.pollAfterSeconds,
                                                     globalOptOut: configuration.globalOptOut)
            }
        } catch {
            logger.error("settling an in-doubt message failed: \(error)", metadata)
        }
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
