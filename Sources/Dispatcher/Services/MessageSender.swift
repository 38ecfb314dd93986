import Foundation
public import Store
public import Support

/// Sends one claimed message and turns the provider's answer into the `Completion` to record:
/// rate limit first, then the lease check, the request, and the error policy.
///
/// | outcome | becomes |
/// |---|---|
/// | accepted | `accepted` with the provider id |
/// | rejected, policy retry (proves nothing was taken) | `pending` with backoff (`failed` after max attempts, `expired` past expiry); 429 / queue overflow also slow the sender down |
/// | rejected, policy look up (500, 502, 504, other 5xx) | `in_doubt`: looked up, never blindly resent |
/// | rejected, policy fail | `failed` (unsubscribed: and an opt-out) |
/// | rejected, policy halt | sender or provider halted; the message waits in `pending` |
/// | unknown (timeout or reset after sending, unreadable 2xx) | `in_doubt`: looked up, never blindly resent |
/// | no connection, 503 (nothing sent) | retry; the attempt is given back |
///
/// Transport failures (no connection, unknown outcome, any 5xx) feed the provider's circuit
/// breaker: after `breaker.failures` in a row the account is marked unavailable for every
/// worker until a probe succeeds (`ProviderProber`).
public struct MessageSender: Sendable {
    public var providers: [String: any SMSProvider]
    public var configuration: DispatcherConfiguration
    public var limiter: RateLimiter
    public var pool: ConnectionPool
    public var logger: Logger
    /// Sends, retries and rate-limiter waits go here.
    public let metrics: Metrics
    /// Consecutive transport failures per provider account (shared by this worker's senders).
    public let breaker: CircuitBreaker

    public init(providers: [String: any SMSProvider], configuration: DispatcherConfiguration, limiter: RateLimiter,
                pool: ConnectionPool, logger: Logger, metrics: Metrics, breaker: CircuitBreaker) {
        self.metrics = metrics
        self.breaker = breaker
        self.providers = providers
        self.configuration = configuration
        self.limiter = limiter
        self.pool = pool
        self.logger = logger
    }

    var retryPolicy: RetryPolicy {
        RetryPolicy(maxAttempts: configuration.retry.maxAttempts, baseDelaySeconds: configuration.retry.baseDelaySeconds,
                    maxDelaySeconds: configuration.retry.maxDelaySeconds)
    }

    public func send(_ item: WorkQueue.Item) async -> Completion {
        let m = item.message
        let metadata = ["message.id": String(m.id), "provider.name": m.provider]
        guard let provider = providers[m.provider], let body = m.body else {
            return Completion(messageID: m.id, leaseToken: m.leaseToken, kind: .failed, attempted: false,
                              errorClass: ErrorCode.invalidRequest.rawValue,
                              detail: m.body == nil ? "message has no body" : "provider not configured")
        }
        // The shared rate: the sender number's bucket, then the provider account's if it has one.
        let waitStarted = ContinuousClock.now
        metrics.observe("dispatcher_claim_to_send_seconds", ["provider": m.provider], (waitStarted - item.claimedAt).seconds)
        var slot: Date?
        // the latest slot this claim can use: the request (up to its timeout) must end
        // inside the lease, with a second to spare
        let timeout = configuration.accounts[m.provider]?.timeoutSeconds ?? 10
        let lastSlot = item.claimedAt + .milliseconds(Int64((configuration.leaseSeconds - timeout - 1) * 1000))
        do {
            let senderKey = RateLimits.senderKey(m.from)
            switch try await limiter.acquireSlot(key: senderKey, limit: configuration.rateLimit(sender: m.from), segments: m.segments,
                                                 notAfter: lastSlot) {
            case .granted(let at): slot = at
            case .halted: slot = nil
            case .tooLate(let at):
                // back to pending until its slot comes: claimed again then, by any worker
                var c = release(m, "no rate slot within the lease: the sender's next free slot is at \(at)")
                c.nextAttemptAt = at
                return c
            }
            var open = slot != nil
            if open, let providerLimit = configuration.accounts[m.provider]?.rateLimit {
                open = try await limiter.acquire(key: RateLimits.providerKey(m.provider), limit: providerLimit, segments: m.segments)
            }
            if !open { return release(m, "sender or provider halted") }
        } catch {
            if !(error is CancellationError) { logger.error("rate limiter unavailable: \(error)", metadata) }
            return release(m, "rate limiter unavailable")
        }
        metrics.observe("dispatcher_rate_limiter_wait_seconds", ["provider": m.provider], (ContinuousClock.now - waitStarted).seconds)
        // A revocation takes effect at once: one that came in while this message waited for its
        // slot sends it back to pending, where the next claim suppresses it.
        do {
            if try await pool.withConnection({
                try await Outbox.optOutExists($0, phone: m.to, sender: m.from, optOutScope: configuration.optOutScope)
            }) {
                return release(m, "the recipient opted out while it waited to be sent")
            }
        } catch {
            if !(error is CancellationError) { logger.error("opt-out check unavailable: \(error)", metadata) }
            return release(m, "opt-out check unavailable")
        }
        // Never start a request the lease may not outlive: another worker could take the message over.
        let leaseLeft = configuration.leaseSeconds - (ContinuousClock.now - item.claimedAt).seconds
        if leaseLeft < timeout + 1 {
            return release(m, "lease too short to send")
        }
        // no byte may leave after the lease (less a second for the clocks' skew): a worker
        // frozen or held up past it must not send what another may have taken over
        var sendBy = item.claimedAt + .milliseconds(Int64((configuration.leaseSeconds - 1) * 1000))
        // nor after the message expires: checked last before the request (the waits above,
        // the slot and the opt-out check, may have taken it past), and bounding the request
        if let expiresAt = m.expiresAt {
            let left = expiresAt.timeIntervalSinceNow
            if left <= 0 {
                return Completion(messageID: m.id, leaseToken: m.leaseToken, kind: .expired, attempted: false,
                                  errorClass: "expired", detail: "expires_at passed before sending")
            }
            sendBy = min(sendBy, ContinuousClock.now + .milliseconds(Int64(left * 1000)))
        }
        let sms = OutgoingSMS(from: m.from, to: m.to, body: body, callbackURL: callbackURL(provider: provider, key: m.callbackKey),
                              sendBy: sendBy)
        let started = Date()
        let result = await provider.send(sms)
        var c = await completion(for: result, message: m, metadata: metadata)
        await noteHealth(result, provider: m.provider, metadata: metadata)
        c.attemptedAt = started
        c.scheduledAt = slot
        let outcome: String
        switch result.outcome {
        case .accepted: outcome = "accepted"
        case .rejected: outcome = "rejected"
        case .unknown: outcome = "unknown"
        case .noConnection: outcome = "no_connection"
        }
        metrics.increment("dispatcher_sends_total", ["provider": m.provider, "outcome": outcome, "code": c.errorClass ?? ""])
        metrics.observe("dispatcher_send_latency_seconds", ["provider": m.provider], result.latency.seconds)
        if c.kind == .retry {
            metrics.increment("dispatcher_retries_total", ["provider": m.provider, "code": c.errorClass ?? ""])
        }
        return c
    }

    func release(_ m: ClaimedMessage, _ why: String) -> Completion {
        Completion(messageID: m.id, leaseToken: m.leaseToken, kind: .released, attempted: false, detail: why)
    }

    func callbackURL(provider: any SMSProvider, key: CallbackKey) -> URL? {
        // the account's name: the endpoint reads the body as that account's kind
        guard let base = configuration.publicURL, configuration.accounts[provider.name]?.kind.definition.callbacks != nil else { return nil }
        return base.appending(path: "callbacks/\(provider.name)/\(key)")
    }

    func completion(for result: SendResult, message m: ClaimedMessage, metadata: [String: String]) async -> Completion {
        var c = Completion(messageID: m.id, leaseToken: m.leaseToken, kind: .failed, httpStatus: result.httpStatus,
                           latencyMilliseconds: Int(result.latency.seconds * 1000))
        switch result.outcome {
        case .accepted(let id, let status):
            c.kind = .accepted
            c.providerMessageID = id
            c.providerStatus = status
            return c
        case .unknown(let why):
            // It may have been sent: the rescuer looks it up before anything goes again.
            c.errorClass = ErrorCode.timeout.rawValue
            c.detail = why
            return inDoubt(c, metadata)
        case .noConnection(let why):
            c.errorClass = ErrorCode.noConnection.rawValue
            c.detail = why
            return retry(c, m, rule: ErrorPolicy.rule(for: .noConnection))
        case .rejected(let failure):
            c.errorCode = failure.rawCode ?? failure.httpStatus.map(String.init)
            c.errorClass = failure.code.rawValue
            c.providerStatus = "rejected"
            let rule = ErrorPolicy.rule(for: failure)
            if rule.slowsDown { await limiter.slowDown(key: RateLimits.senderKey(m.from)) }
            switch rule.action {
            case .retry:
                return retry(c, m, rule: rule)
            case .lookUp:
                c.detail = "HTTP \(failure.httpStatus.map(String.init) ?? "?"): the provider may have taken it"
                return inDoubt(c, metadata)
            case .fail:
                c.kind = .failed
                return c
            case .failAndOptOut:
                c.kind = .failedOptOut
                return c
            case .haltSender, .haltAccount:
                let key = rule.action == .haltSender ? RateLimits.senderKey(m.from) : RateLimits.providerKey(m.provider)
                do {
                    let halted = try await pool.withConnection { try await RateLimits.rateLimitHalt($0, key: key, reason: failure.code.rawValue) }
                    if halted {
                        logger.critical("HALTED \(key) after \(failure): nothing more is sent through it until 'dispatcher resume'",
                                        metadata)
                    }
                } catch {
                    logger.error("could not record the halt of \(key): \(error)", metadata)
                }
                // Not this message's fault: it waits for the resume.
                c.kind = .retry
                c.nextAttemptAt = Date()
                return c
            }
        }
    }

    /// Unknown outcome: `in_doubt`, first looked up a second from now.
    func inDoubt(_ completion: Completion, _ metadata: [String: String]) -> Completion {
        var c = completion
        c.kind = .inDoubt
        c.providerStatus = "unknown"
        c.nextAttemptAt = Date().addingTimeInterval(1)
        logger.warning("send outcome unknown (\(c.errorClass ?? "")); message in doubt", metadata)
        return c
    }

    /// Counts transport failures towards the provider's breaker; opens it (for every worker,
    /// in `rate_limits`) when the threshold is reached.
    func noteHealth(_ result: SendResult, provider: String, metadata: [String: String]) async {
        let transportFailure: Bool
        switch result.outcome {
        case .noConnection, .unknown: transportFailure = true
        case .rejected(let failure): transportFailure = [.http5xx, .serverError, .serviceUnavailable].contains(failure.code)
        case .accepted: transportFailure = false
        }
        guard breaker.record(provider: provider, failure: transportFailure) else { return }
        do {
            let opened = try await pool.withConnection {
                try await RateLimits.rateLimitMarkUnavailable($0, key: RateLimits.providerKey(provider),
                                                               probeAfterSeconds: breaker.firstProbeSeconds)
            }
            if opened {
                metrics.increment("dispatcher_provider_unavailable_total", ["provider": provider])
                logger.error("provider account \(provider) unavailable after \(breaker.threshold) transport failures in a row: "
                             + "sending through it stops until a probe succeeds", metadata)
            }
        } catch {
            logger.error("could not record provider account \(provider) as unavailable: \(error)", metadata)
        }
    }

    func retry(_ completion: Completion, _ m: ClaimedMessage, rule: ErrorRule) -> Completion {
        var c = completion
        var random = SystemRandomNumberGenerator()
        // Nothing reached the provider: the attempt is given back and never counts towards max_attempts.
        let attempts = rule.nothingSent ? max(0, m.attempts - 1) : m.attempts
        c.attemptGivenBack = rule.nothingSent
        switch retryPolicy.decide(attempts: attempts, rule: rule, expiresAt: m.expiresAt, now: Date(), using: &random) {
        case .retry(let at):
            c.kind = .retry
            c.nextAttemptAt = at
        case .exhausted:
            c.kind = .failed
            c.detail = "gave up after \(m.attempts) attempt(s)"
        case .expired:
            c.kind = .expired
            c.detail = "the next attempt would come after expires_at"
        }
        return c
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
