import Foundation
public import Store

/// Applies stored callbacks and poll results to messages, in batches, forward only
/// (`Outbox.reportsApply`). Wakes when the ingest stores something, and polls every
/// `interval` anyway: a report waiting for its provider id becomes applicable when the
/// worker records the send.
public final class ReportApplier: Sendable {
    private let pool: ConnectionPool
    private let metrics: Metrics
    private let interval: Duration
    private let poked = LockedValue(false)

    public init(pool: ConnectionPool, metrics: Metrics, interval: Duration = .milliseconds(200)) {
        self.pool = pool
        self.metrics = metrics
        self.interval = interval
        metrics.describe("dispatcher_callbacks_total", type: "counter", "Provider reports applied or ignored, by source outcome")
        metrics.describe("dispatcher_callback_lag_seconds", type: "histogram", "Time from receiving a report to applying it")
    }

    /// Asks for an early pass (after new reports were stored).
    public func poke() { poked.withLock { $0 = true } }

    /// Applies everything applicable now; returns how many reports it took.
    @discardableResult
    public func applyAvailable() async throws -> Int {
        var total = 0
        while true {
            let result = try await pool.withConnection { try await Outbox.reportsApply($0, limit: 1_000) }
            for (outcome, n) in result.outcomes { metrics.increment("dispatcher_callbacks_total", ["outcome": outcome], by: Double(n)) }
            for lag in result.lags { metrics.observe("dispatcher_callback_lag_seconds", [:], lag) }
            total += result.total
            if result.total < 1_000 { return total }
        }
    }

    /// Runs until cancelled.
    public func run() async throws {
        while !Task.isCancelled {
            do {
                try await applyAvailable()
            } catch {
                metrics.increment("dispatcher_errors_total", ["service": "applier"])
            }
            // wait for a poke or the interval, whichever comes first (a flag checked every 5 ms)
            let deadline = ContinuousClock.now + interval
            while ContinuousClock.now < deadline, !poked.withLock({ let p = $0; $0 = false; return p }) {
                try? await Task.sleep(for: .milliseconds(5))
                if Task.isCancelled { return }
            }
        }
    }
}
