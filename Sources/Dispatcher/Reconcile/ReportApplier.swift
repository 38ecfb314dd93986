import Foundation
public import Store
public import Support

/// Applies stored callbacks and poll results to messages, in batches, forward only
/// (`Outbox.inboxApplyMany`). Wakes when the ingest stores something, and polls every
/// `interval` anyway: a report waiting for its provider id becomes applicable when the
/// worker records the send. Passes are at least `gather` apart: under load one pass applies
/// what many ingest commits stored (and a message's `sent` and `delivered` arriving close
/// together move it once), instead of one small transaction per ingest commit.
public final class ReportApplier: Service {
    public struct Configuration: Sendable {
        /// Longest wait between passes when nothing pokes the applier. Default 200 ms.
        public var interval: Duration = .milliseconds(200)
        /// Shortest time between passes (reports gather meanwhile). Default 100 ms.
        public var gather: Duration = .milliseconds(100)
        /// Reports applied per statement (one transaction); a pass repeats until a batch is
        /// short. Default 1,000.
        public var batchSize = 1_000
        public init() {}

        public func validate() throws(ServiceConfigurationError) {
            guard interval > .zero else { throw ServiceConfigurationError(service: "applier", field: "interval", "must be more than 0") }
            guard gather >= .zero else { throw ServiceConfigurationError(service: "applier", field: "gather", "must not be negative") }
            guard batchSize > 0 else { throw ServiceConfigurationError(service: "applier", field: "batchSize", "must be more than 0") }
        }
    }

    public let name = "applier"
    private let pool: ConnectionPool
    private let metrics: Metrics
    private let configuration: Configuration
    private let failures: RepeatedErrorLog
    private let poked = WakeSignal()

    public init(pool: ConnectionPool, metrics: Metrics, configuration: Configuration = Configuration(), logger: Logger) {
        self.pool = pool
        self.metrics = metrics
        self.configuration = configuration
        failures = RepeatedErrorLog(logger: logger)
        metrics.describe("dispatcher_callbacks_total", type: "counter", "Provider reports applied or ignored, by source outcome")
        metrics.describe("dispatcher_callback_lag_seconds", type: "histogram", "Time from receiving a report to applying it")
    }

    /// Asks for an early pass (after new reports were stored).
    public func poke() { poked.notify() }

    /// Applies everything applicable now; returns how many reports it took.
    @discardableResult
    public func applyAvailable() async throws -> Int {
        var total = 0
        while true {
            let result = try await pool.withConnection { try await Outbox.inboxApplyMany($0, limit: configuration.batchSize) }
            for (outcome, n) in result.outcomes { metrics.increment("dispatcher_callbacks_total", ["outcome": outcome], by: Double(n)) }
            for lag in result.lags { metrics.observe("dispatcher_callback_lag_seconds", [:], lag) }
            total += result.total
            if result.total < configuration.batchSize { return total }
        }
    }

    /// Runs until cancelled; then makes one last pass, so that reports stored before its turn
    /// to stop came (callbacks that arrived while sends drained, for outcomes the completer
    /// has since recorded) are applied by this worker rather than the next.
    public func run() async throws {
        while !Task.isCancelled {
            let started = ContinuousClock.now
            let took = await pass()
            if Task.isCancelled { break }
            // Let reports gather (unless a full batch is known to be waiting), then wait for a
            // poke or the interval, whichever comes first.
            if took < 1_000 {
                let rest = configuration.gather - (ContinuousClock.now - started)
                if rest > .zero { try? await Task.sleep(for: rest) }
            }
            await poked.wait(timeout: configuration.interval)
        }
        // the store's statements do not watch cancellation: this pass runs to its end
        await pass(final: true)
    }

    /// `applyAvailable`, its failure counted and logged (at most once a minute).
    @discardableResult
    private func pass(final: Bool = false) async -> Int {
        do {
            return try await applyAvailable()
        } catch {
            metrics.increment("dispatcher_errors_total", ["service": "applier"])
            failures.error("applying stored reports failed: \(error)" + (final ? " (left for the next start)" : " (will retry)"))
            return 0
        }
    }
}
