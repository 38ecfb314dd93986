import Foundation
public import Store
public import Support

/// Records outcomes in batches: every ~50 ms, or at once when 100 are waiting, one
/// `messageCompleteIfHeldMany` statement per batch. Once the provider has answered, an outcome is never
/// dropped: when the statement fails for any reason but the batch's own data — the database
/// unavailable, read-only after a failover (25006), out of disk (53100), a statement timeout
/// (57014), a deadlock (40P01), … — the outcomes stay buffered (senders wait once
/// `maxBuffered` are waiting) and are retried with backoff. A batch refused for its data
/// (SQLSTATE classes 22 and 23) is recorded one by one, so one bad outcome does not hold up the
/// rest. Should the worker die meanwhile, the leases expire and the rescuer settles those
/// messages through the provider lookup.
public actor Completer: Service {
    public struct Configuration: Sendable {
        /// Longest wait before a batch smaller than `batchSize` is written. Default 50 ms.
        public var interval: Duration = .milliseconds(50)
        /// Outcomes per statement; a full batch is written at once. Default 100.
        public var batchSize = 100
        /// First status poll after acceptance (`poll.after_s`).
        public var pollAfterSeconds: Double
        /// Whose opt-outs a provider's "unsubscribed" answer records (`opt_out_scope`).
        public var optOutScope: OptOutScope
        /// Above this many outcomes waiting to be written, senders wait before taking more
        /// work (`waitForRoom`), so claims never outrun what the database can record.
        public var maxBuffered = 400
        public init(pollAfterSeconds: Double, optOutScope: OptOutScope) {
            self.pollAfterSeconds = pollAfterSeconds
            self.optOutScope = optOutScope
        }

        public func validate() throws(ServiceConfigurationError) {
            func check(_ ok: Bool, _ field: String, _ why: String) throws(ServiceConfigurationError) {
                if !ok { throw ServiceConfigurationError(service: "completer", field: field, why) }
            }
            try check(interval > .zero, "interval", "must be more than 0")
            try check(batchSize >= 1, "batchSize", "must be at least 1")
            try check(pollAfterSeconds >= 0, "pollAfterSeconds", "must not be negative")
            try check(maxBuffered >= batchSize, "maxBuffered", "must be at least batchSize")
        }
    }

    public nonisolated let name = "completer"
    private let pool: ConnectionPool
    private let configuration: Configuration
    private let logger: Logger
    private var buffer: [Completion] = []
    private var finished = false
    private let wake = WakeSignal()
    /// Completions written (applied or not) — for tests and metrics.
    public private(set) var recorded = 0

    public init(pool: ConnectionPool, configuration: Configuration, logger: Logger) {
        self.pool = pool
        self.configuration = configuration
        self.logger = logger
    }

    public func submit(_ completion: Completion) {
        buffer.append(completion)
        if buffer.count >= configuration.batchSize { wake.notify() }
    }

    public func submit(_ completions: [Completion]) {
        buffer += completions
        if buffer.count >= configuration.batchSize { wake.notify() }
    }

    private var roomWaiters: [CheckedContinuation<Void, Never>] = []

    /// Returns once the backlog of unwritten outcomes is below `maxBuffered` (at once when it
    /// is, or when the completer is finishing).
    public func waitForRoom() async {
        while buffer.count >= configuration.maxBuffered && !finished {
            await withCheckedContinuation { roomWaiters.append($0) }
        }
    }

    private func wakeRoomWaiters() {
        guard !roomWaiters.isEmpty, buffer.count < configuration.maxBuffered || finished else { return }
        let waiters = roomWaiters
        roomWaiters.removeAll()
        for w in waiters { w.resume() }
    }

    /// No more submissions: `run` writes what is left and returns.
    public func finish() {
        finished = true
        wakeRoomWaiters()
        wake.notify()
    }

    public var pending: Int { buffer.count }

    public func run() async throws {
        defer {
            finished = true
            wakeRoomWaiters()
        }
        var failures = 0
        while true {
            if buffer.isEmpty {
                if finished || Task.isCancelled { return }
                await wake.wait(timeout: configuration.interval)
                continue
            }
            let batch = Array(buffer.prefix(configuration.batchSize))
            do {
                _ = try await pool.withConnection { c in
                    try await Outbox.messageCompleteIfHeldMany(c, batch, from: .sending, pollAfterSeconds: configuration.pollAfterSeconds,
                                                      optOutScope: configuration.optOutScope)
                }
                buffer.removeFirst(batch.count)
                recorded += batch.count
                failures = 0
                wakeRoomWaiters()
            } catch let error as PostgresError where Self.refusesData(error) {
                // The batch's own data, not the database's state: one bad outcome must not hold up the rest.
                logger.error("recording \(batch.count) outcome(s) failed: \(error); recording them one by one")
                buffer.removeFirst(batch.count)
                let left = await recordOneByOne(batch)
                if !left.isEmpty {
                    // the database refused them for another reason meanwhile: keep them, retry later
                    buffer.insert(contentsOf: left, at: 0)
                    failures += 1
                    try? await Task.sleep(for: .milliseconds(min(5000, 100 * (1 << min(failures, 6)))))
                }
                wakeRoomWaiters()
            } catch {
                failures += 1
                logger.error("recording \(batch.count) outcome(s) failed (attempt \(failures)): \(error)")
                if Task.isCancelled { return }
                try? await Task.sleep(for: .milliseconds(min(5000, 100 * (1 << min(failures, 6)))))
            }
            if buffer.count < configuration.batchSize && !finished {
                await wake.wait(timeout: configuration.interval)
            }
        }
    }

    /// True when the server refused a statement for the data it was given (SQLSTATE classes
    /// 22, data exception, and 23, integrity constraint violation): retrying the same batch
    /// would fail again. Anything else — unavailable, read-only, disk full, timeouts,
    /// deadlocks, serialization failures — passes, and the outcomes are retried.
    static func refusesData(_ error: PostgresError) -> Bool {
        guard !error.isUnavailable, let state = error.sqlState?.rawValue else { return false }
        return state.hasPrefix("22") || state.hasPrefix("23")
    }

    /// Records completions one at a time after a batch was refused for its data. A provider id
    /// that already belongs to another message (a provider must never reuse one) is recorded as
    /// a failure naming the id; another outcome refused for its data is left to its lease, which
    /// expires into `in_doubt` and is settled by a lookup at the provider. Returns the ones the
    /// database refused for any other reason, to be kept and retried.
    private func recordOneByOne(_ batch: [Completion]) async -> [Completion] {
        var left: [Completion] = []
        for (index, completion) in batch.enumerated() {
            do {
                _ = try await pool.withConnection { c in
                    try await Outbox.messageCompleteIfHeldMany(c, [completion], from: .sending, pollAfterSeconds: configuration.pollAfterSeconds,
                                                      optOutScope: configuration.optOutScope)
                }
                recorded += 1
            } catch let error as PostgresError where error.sqlState == .uniqueViolation && completion.providerMessageID != nil {
                var conflict = completion
                conflict.kind = .failed
                conflict.detail = "the provider answered with id \(completion.providerMessageID!), which another message already has"
                conflict.providerMessageID = nil
                conflict.errorClass = "provider_id_conflict"
                logger.error("message \(completion.messageID): \(conflict.detail!)")
                do {
                    _ = try await pool.withConnection { c in
                        try await Outbox.messageCompleteIfHeldMany(c, [conflict], from: .sending, pollAfterSeconds: configuration.pollAfterSeconds,
                                                          optOutScope: configuration.optOutScope)
                    }
                    recorded += 1
                } catch {
                    left += [conflict] + batch[(index + 1)...]
                    break
                }
            } catch let error as PostgresError where Self.refusesData(error) {
                logger.error("message \(completion.messageID): outcome not recorded (\(error)); its lease will expire into in_doubt")
            } catch {
                left += batch[index...]
                break
            }
        }
        return left
    }
}
