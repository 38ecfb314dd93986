import Foundation
public import Store

/// Records outcomes in batches: every ~50 ms, or at once when 100 are waiting, one
/// `messagesComplete` statement per batch. When the database is unavailable the outcomes
/// stay buffered and are retried; should the worker die meanwhile, the leases expire and the
/// rescuer settles those messages through the provider lookup.
public actor Completer: Service {
    public struct Configuration: Sendable {
        public var interval: Duration = .milliseconds(50)
        public var batchSize = 100
        public var pollAfterSeconds = 120.0
        public var globalOptOut = false
        public init() {}
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

    public init(pool: ConnectionPool, configuration: Configuration = Configuration(), logger: Logger) {
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

    /// No more submissions: `run` writes what is left and returns.
    public func finish() {
        finished = true
        wake.notify()
    }

    public var pending: Int { buffer.count }

    public func run() async throws {
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
                    try await Outbox.messagesComplete(c, batch, pollAfterSeconds: configuration.pollAfterSeconds,
                                                      globalOptOut: configuration.globalOptOut)
                }
                buffer.removeFirst(batch.count)
                recorded += batch.count
                failures = 0
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
}
