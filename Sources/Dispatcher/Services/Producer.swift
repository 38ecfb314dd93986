import Foundation
public import Store
public import Support

/// Claims due messages into the work queue — never more than the queue's free slots — and
/// wakes on `LISTEN dispatcher_work`, on a freed slot, or on a jittered poll. On shutdown it
/// stops claiming, releases the claimed messages no sender has started (back to `pending`,
/// conditional on their token) and closes the queue.
public struct Producer: Service {
    public struct Configuration: Sendable {
        /// This worker's name in `lease_owner`.
        public var owner: String
        /// The provider accounts whose messages it claims.
        public var providers: [String]
        /// Seconds a claim holds a message (`lease_s`). Default 60.
        public var leaseSeconds = 60.0
        /// Whose opt-outs suppress a claimed message (`opt_out_scope`).
        public var optOutScope: OptOutScope
        /// Poll when no notification came, ±20 % jitter so workers do not poll in step.
        public var pollInterval: Duration = .seconds(1)
        /// Most messages one claim statement takes. Default 500.
        public var maxBatch = 500
        /// While messages are in hand, wait (up to `claimLinger`) until this many slots are
        /// free before claiming: one statement for many freed slots rather than one per
        /// response. With nothing in hand it claims at once, whatever is free.
        public var minClaim = 1
        public var claimLinger: Duration = .milliseconds(5)
        /// Claim statements running at once.
        public var maxClaimsRunning = 2
        /// Quiet-hours default policy and frequency cap applied by the claim (`compliance` in the config).
        public var compliance: SendingCompliance
        public init(owner: String, providers: [String], optOutScope: OptOutScope, compliance: SendingCompliance) {
            self.compliance = compliance
            self.owner = owner
            self.providers = providers
            self.optOutScope = optOutScope
        }

        public func validate() throws(ServiceConfigurationError) {
            func check(_ ok: Bool, _ field: String, _ why: String) throws(ServiceConfigurationError) {
                if !ok { throw ServiceConfigurationError(service: "producer", field: field, why) }
            }
            try check(!owner.isEmpty, "owner", "must not be empty")
            try check(leaseSeconds > 0, "leaseSeconds", "must be more than 0")
            try check(pollInterval > .zero, "pollInterval", "must be more than 0")
            try check(maxBatch >= 1, "maxBatch", "must be at least 1")
            try check(minClaim >= 1, "minClaim", "must be at least 1")
            try check(claimLinger >= .zero, "claimLinger", "must not be negative")
            try check(maxClaimsRunning >= 1, "maxClaimsRunning", "must be at least 1")
        }
    }

    public let name = "producer"
    public var configuration: Configuration
    public var pool: ConnectionPool
    public var queue: WorkQueue
    public var completer: Completer
    /// Notified by the LISTEN connection (and by anyone who knows work arrived).
    public var workArrived: WakeSignal
    public var shutdown: Shutdown
    public var logger: Logger
    /// Claim batch sizes go here (`dispatcher_claim_batch_size`).
    public let metrics: Metrics

    /// `shutdown` is its request to stop claiming.
    public init(configuration: Configuration, pool: ConnectionPool, queue: WorkQueue, completer: Completer,
                workArrived: WakeSignal, shutdown: Shutdown, logger: Logger, metrics: Metrics) {
        self.metrics = metrics
        self.configuration = configuration
        self.pool = pool
        self.queue = queue
        self.completer = completer
        self.workArrived = workArrived
        self.shutdown = shutdown
        self.logger = logger
    }

    /// What the claim tasks tell the loop.
    private struct ClaimNews {
        var failures = 0
        /// A claim failed and the loop has not backed off for it yet.
        var backOff = false
        /// A claim found fewer due messages than it asked for: wait for a notification.
        var drained = false
    }

    public func run() async throws {
        let slotFreed = queue.slotFreed
        shutdown.onTrigger { [workArrived] in
            workArrived.notify()
            slotFreed.notify()
        }
        let news = LockedValue(ClaimNews())
        await queue.setNotifyThreshold(configuration.minClaim)
        // Claim statements run as tasks, up to `maxClaimsRunning` at once, each for slots that
        // were free when it started: the senders freed while one claim runs get the next one
        // without waiting for the first to return.
        await withDiscardingTaskGroup { group in
            var lingerSince: ContinuousClock.Instant?
            while !shutdown.isTriggered && !Task.isCancelled {
                let current = news.withLock { n -> ClaimNews in
                    let c = n
                    n.backOff = false
                    n.drained = false
                    return c
                }
                if current.backOff {
                    let failures = current.failures
                    await shutdown.sleep(for: .milliseconds(min(5000, 200 * (1 << min(failures, 5)))))
                    continue
                }
                if current.drained {
                    // Nothing more is due now: wait for a notification or the next poll.
                    await workArrived.wait(timeout: configuration.pollInterval * Double.random(in: 0.8...1.2))
                    continue
                }
                let (free, running) = await queue.claimState
                if free == 0 || running >= configuration.maxClaimsRunning {
                    // a freed slot, a finished claim or the shutdown wakes it
                    await slotFreed.wait()
                    continue
                }
                if free < configuration.minClaim && free < queue.capacity {
                    // Some slots are busy and will free soon: gather a few more before claiming.
                    let since = lingerSince ?? .now
                    lingerSince = since
                    let left = configuration.claimLinger - (ContinuousClock.now - since)
                    if left > .zero {
                        await slotFreed.wait(timeout: left)
                        continue
                    }
                }
                lingerSince = nil
                let limit = min(free, configuration.maxBatch)
                await queue.reserve(limit)
                group.addTask { await claim(limit, news: news) }
            }
        }
        let unsent = await queue.takeQueued()
        if !unsent.isEmpty {
            logger.info("releasing \(unsent.count) claimed message(s) not yet sent")
            await completer.submit(unsent.map { release($0) })
        }
        await queue.close()
    }

    /// One claim statement for `limit` reserved slots.
    private func claim(_ limit: Int, news: LockedValue<ClaimNews>) async {
        let claimed: [ClaimedMessage]
        // The leases run from the statement's start (the database's now()), so their clock here
        // starts before it is sent, not when its answer comes: an answer held up (a slow
        // network, a starved or frozen process) must not stretch a lease another worker may
        // already see expired.
        let claimedAt = ContinuousClock.now
        do {
            claimed = try await pool.withConnection { c in
                try await Outbox.messageClaimMany(c, owner: configuration.owner, limit: limit, leaseSeconds: configuration.leaseSeconds,
                                               providers: configuration.providers, optOutScope: configuration.optOutScope,
                                               compliance: configuration.compliance)
            }
            news.withLock { $0.failures = 0 }
        } catch {
            let failures = news.withLock { n -> Int in
                n.failures += 1
                n.backOff = true
                return n.failures
            }
            logger.error("claim failed (\(failures) in a row): \(error)")
            await queue.claimFinished(reservation: limit, [], claimedAt: claimedAt)
            return
        }
        if shutdown.isTriggered {
            // Claimed just as the shutdown came: hand them straight back.
            await completer.submit(claimed.map { release($0) })
            await queue.claimFinished(reservation: limit, [], claimedAt: claimedAt)
            return
        }
        if !claimed.isEmpty {
            logger.debug("claimed \(claimed.count)")
            metrics.observe("dispatcher_claim_batch_size", [:], Double(claimed.count))
        }
        // a full claim means more may be due, whatever an earlier, shorter one found
        news.withLock { $0.drained = claimed.count < limit }
        await queue.claimFinished(reservation: limit, claimed, claimedAt: claimedAt)
    }

    func release(_ m: ClaimedMessage) -> Completion {
        Completion(messageID: m.id, leaseToken: m.leaseToken, kind: .released, attempted: false, detail: "released at shutdown")
    }
}
