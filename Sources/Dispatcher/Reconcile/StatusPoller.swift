public import Foundation
public import Store

/// Learns final states that callbacks did not bring: messages in `accepted`/`sent` are
/// polled first `after` seconds after acceptance, then backing off (half their age, at
/// most hourly). Per provider it prefers one list query over the batch's time range
/// (Plum `messages.json`, Restcomm's list) to one status request per message; what the
/// list does not show is asked for one by one. Results go through the callback inbox and
/// the same forward-only apply. After `giveUpAfter` seconds a message is `unconfirmed`.
public final class StatusPoller: Sendable {
    public struct Configuration: Sendable {
        /// Seconds after acceptance before the first poll (`poll.after_s`).
        public var after: Double = 120
        /// Seconds after acceptance when the provider's window is over (`poll.give_up_after_s`).
        public var giveUpAfter: Double = 604_800
        /// How often to look for due polls.
        public var interval: Duration = .seconds(1)
        public var batchSize = 500
        /// How often to look for messages past `giveUpAfter` (a scan of every message waiting
        /// for a final state: 55 ms with 200,000 of them, too much for every poll pass).
        public var giveUpInterval: Double = 60
        /// Below this many due messages of one provider, ask one by one instead of listing.
        public var listThreshold = 3
        public init() {}
    }

    private let pool: ConnectionPool
    private let providers: [String: any SMSProvider]
    private let metrics: Metrics
    private let configuration: Configuration
    private let now: @Sendable () -> Date
    private let onStored: @Sendable () -> Void
    /// When the last give-up sweep ran (by `now`, the injectable clock).
    private let lastGiveUp = LockedValue<Date?>(nil)

    public init(pool: ConnectionPool, providers: [String: any SMSProvider], metrics: Metrics,
                configuration: Configuration = Configuration(), now: @escaping @Sendable () -> Date = { Date() },
                onStored: @escaping @Sendable () -> Void = {}) {
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
            try await Outbox.pollsGiveUp($0, cutoff: now.addingTimeInterval(-configuration.giveUpAfter))
        }
        if gaveUp > 0 { metrics.increment("dispatcher_unconfirmed_total", [:], by: Double(gaveUp)) }
        let due = try await pool.withConnection {
            try await Outbox.pollsClaim($0, now: now, after: configuration.after, limit: configuration.batchSize)
        }
        var reports: [ProviderReport] = []
        for (name, targets) in Dictionary(grouping: due, by: \.provider) {
            guard let provider = providers[name] else { continue }
            reports += await poll(targets, provider: provider, name: name)
        }
        if !reports.isEmpty {
            try await pool.withConnection { try await Outbox.pollReportsStore($0, reports) }
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
        for target in targets where found[target.providerMessageID] == nil {
            metrics.increment("dispatcher_polls_total", ["provider": name, "kind": "status"])
            if let m = try? await provider.status(id: target.providerMessageID) { found[target.providerMessageID] = m }
        }
        return found.compactMap { id, m -> ProviderReport? in
            guard let target = byID[id], let state = ReconcileRoutes.lifecycleState(m.state) else { return nil }
            return ProviderReport(
                messageID: target.id, provider: name, providerMessageID: id,
                providerStatus: m.deliveryStatus.map { "\(m.status)/\($0)" } ?? m.status, state: state,
                errorCode: m.failure?.rawCode, errorClass: m.failure?.code.rawValue, raw: nil)
        }
    }

    /// Runs until cancelled.
    public func run() async throws {
        while !Task.isCancelled {
            do { try await pollOnce() } catch { metrics.increment("dispatcher_errors_total", ["service": "poller"]) }
            try? await Task.sleep(for: configuration.interval)
        }
    }
}
