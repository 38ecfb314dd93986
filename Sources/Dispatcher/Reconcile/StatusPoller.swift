public import Foundation
public import Store
public import Support

/// Learns final states that callbacks did not bring: messages in `accepted`/`sent` are
/// polled first `after` seconds after acceptance, then backing off (half their age, at
/// most hourly). Per provider account, a batch of several messages is first looked up with
/// one list query over its time range (Plum `messages.json`, Restcomm's list). A list entry
/// settles a message only when it holds a final state: Plum's list carries `status` alone
/// (queued, sent, failed), and delivery is learnt from `status.json`. So every message the
/// list does not show in a final state is asked for one by one (`statusConcurrency` at
/// once), all of the batch within the pass. Results go through the callback inbox and the
/// same forward-only apply. After `giveUpAfter` seconds a message is `unconfirmed`.
public final class StatusPoller: Service {
    public struct Configuration: Sendable {
        /// Seconds after acceptance before the first poll (`poll.after_s`).
        public var after: Double
        /// Seconds after acceptance when the provider's window is over (`poll.give_up_after_s`).
        public var giveUpAfter: Double
        /// How often to look for due polls.
        public var interval: Duration = .seconds(1)
        public var batchSize = 500
        /// How often to look for messages past `giveUpAfter` (a scan of every message waiting
        /// for a final state: 55 ms with 200,000 of them, too much for every poll pass).
        public var giveUpInterval: Double = 60
        /// Messages given up on (`unconfirmed`) per statement; the rest wait for the next pass.
        public var giveUpBatchSize = 10_000
        /// Below this many due messages of one provider, ask one by one instead of listing.
        public var listThreshold = 3
        /// Status requests in flight at once, per provider account.
        public var statusConcurrency = 8
        public init(after: Double, giveUpAfter: Double) {
            self.after = after
            self.giveUpAfter = giveUpAfter
        }

        public func validate() throws(ServiceConfigurationError) {
            func check(_ ok: Bool, _ field: String, _ why: String) throws(ServiceConfigurationError) {
                if !ok { throw ServiceConfigurationError(service: "poller", field: field, why) }
            }
            try check(after >= 0, "after", "must not be negative")
            try check(giveUpAfter >= 0, "giveUpAfter", "must not be negative")
            try check(interval > .zero, "interval", "must be more than 0")
            try check(batchSize >= 1, "batchSize", "must be at least 1")
            try check(giveUpInterval > 0, "giveUpInterval", "must be more than 0")
            try check(statusConcurrency >= 1, "statusConcurrency", "must be at least 1")
        }
    }

    public let name = "poller"

    private let pool: ConnectionPool
    private let providers: [String: any SMSProvider]
    private let metrics: Metrics
    private let configuration: Configuration
    private let now: @Sendable () -> Date
    private let onStored: @Sendable () -> Void
    /// When the last give-up sweep ran (by `now`, the injectable clock).
    private let lastGiveUp = LockedValue<Date?>(nil)

    private let failures: RepeatedErrorLog

    public init(pool: ConnectionPool, providers: [String: any SMSProvider], metrics: Metrics,
                configuration: Configuration, logger: Logger, now: @escaping @Sendable () -> Date = { Date() },
                onStored: @escaping @Sendable () -> Void = {}) {
        failures = RepeatedErrorLog(logger: logger)
        self.pool = pool
        self.providers = providers
        self.metrics = metrics
        self.configuration = configuration
        self.now = now
        self.onStored = onStored
        metrics.describe("dispatcher_polls_total", type: "counter", "Status polls, by provider and kind (list, status)")
    }

    /// One pass: give up on messages past the window, then poll what is due.
    /// Returns the number of reports stored.
    @discardableResult
    public func pollOnce() async throws -> Int {
        let now = self.now()
        let sweep = lastGiveUp.withLock { last -> Bool in
            guard last.map({ now.timeIntervalSince($0) >= configuration.giveUpInterval || now < $0 }) ?? true else { return false }
            last = now
            return true
        }
        let gaveUp = !sweep ? 0 : try await pool.withConnection {
            try await Outbox.messagePollGiveUpMany($0, cutoff: now.addingTimeInterval(-configuration.giveUpAfter),
                                       limit: configuration.giveUpBatchSize)
        }
        if gaveUp > 0 { metrics.increment("dispatcher_unconfirmed_total", [:], by: Double(gaveUp)) }
        let due = try await pool.withConnection {
            try await Outbox.messagePollClaimMany($0, now: now, after: configuration.after, limit: configuration.batchSize)
        }
        var reports: [ProviderReport] = []
        for (name, targets) in Dictionary(grouping: due, by: \.provider) {
            guard let provider = providers[name] else { continue }
            reports += await poll(targets, provider: provider, name: name)
        }
        if !reports.isEmpty {
            try await pool.withConnection { try await Outbox.inboxPollInsertMany($0, reports) }
            onStored()
        }
        return reports.count
    }

    private func poll(_ targets: [Outbox.PollTarget], provider: any SMSProvider, name: String) async -> [ProviderReport] {
        var found: [String: ProviderMessage] = [:]
        if targets.count >= configuration.listThreshold {
            let start = targets.map(\.acceptedAt).min()!.addingTimeInterval(-60)
            let end = targets.map(\.acceptedAt).max()!.addingTimeInterval(60)
            let senders = Set(targets.map(\.from))
            let filter = MessageFilter(from: senders.count == 1 ? senders.first : nil, start: start, end: end,
                                       pageSize: 1_000, maxResults: 20 * max(targets.count, 500))
            metrics.increment("dispatcher_polls_total", ["provider": name, "kind": "list"])
            if let listed = try? await provider.list(filter) {
                for m in listed { found[m.id] = m }
            }
        }
        let byID = Dictionary(targets.map { ($0.providerMessageID, $0) }, uniquingKeysWith: { a, _ in a })
        // Only a final state in the list settles a message; the rest are asked one by one.
        let ask = targets.map(\.providerMessageID).filter { found[$0].map { !$0.state.isFinal } ?? true }
        for (id, m) in await statuses(ask, provider: provider, name: name) { found[id] = m }
        return found.compactMap { id, m -> ProviderReport? in
            guard let target = byID[id], let state = ReconcileRoutes.lifecycleState(m.state) else { return nil }
            return ProviderReport(
                messageID: target.id, provider: name, providerMessageID: id, providerStatus: m.statusText, state: state,
                errorCode: m.failure?.rawCode, errorClass: m.failure?.code.rawValue, raw: nil)
        }
    }

    /// Status requests for `ids`, `statusConcurrency` at a time; failed requests are left out
    /// (those messages are polled again at their next poll time).
    private func statuses(_ ids: [String], provider: any SMSProvider, name: String) async -> [(String, ProviderMessage)] {
        var results: [(String, ProviderMessage)] = []
        await withTaskGroup(of: (String, ProviderMessage?).self) { group in
            var next = 0
            func start() {
                let id = ids[next]
                next += 1
                metrics.increment("dispatcher_polls_total", ["provider": name, "kind": "status"])
                group.addTask { (id, try? await provider.status(id: id)) }
            }
            while next < ids.count && next < max(1, configuration.statusConcurrency) { start() }
            for await (id, message) in group {
                if let message { results.append((id, message)) }
                if next < ids.count { start() }
            }
        }
        return results
    }

    /// Runs until cancelled.
    public func run() async throws {
        while !Task.isCancelled {
            do {
                try await pollOnce()
            } catch {
                metrics.increment("dispatcher_errors_total", ["service": "poller"])
                if !Task.isCancelled { failures.error("status poll pass failed: \(error) (will retry)") }
            }
            try? await Task.sleep(for: configuration.interval)
        }
    }
}
