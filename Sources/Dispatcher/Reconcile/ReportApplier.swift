import Foundation
public import Store
import Support

/// Applies stored callbacks and poll results to messages, in batches, forward only
/// (`Outbox.inboxApplyMany`). Wakes when the ingest stores something, and polls every
/// `interval` anyway: a report waiting for its provider id becomes applicable when the
/// worker records the send. Passes are at least `gather` apart: under load one pass applies
/// what many ingest commits stored (and a message's `sent` and `delivered` arriving close
/// together move it once), instead of one small transaction per ingest commit.
public final class ReportApplier: Sendable {
    private let pool: ConnectionPool
    private let metrics: Metrics
    private let interval: Duration
    private let gather: Duration
    /// Reports applied per statement (one transaction); a pass repeats until a batch is short.
    public static let batchSize = 1_000
    private let poked = WakeSignal()

    public init(pool: ConnectionPool, metrics: Metrics, interval: Duration = .milliseconds(200),
                gather: Duration = .milliseconds(100)) {
        self.pool = pool
        self.metrics = metrics
        self.interval = interval
        self.gather = gather
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
            let result = try await pool.withConnection { try await Outbox.inboxApplyMany($0, limit: Self.batchSize) }
            for (outcome, n) in result.outcomes { metrics.increment("dispatcher_callbacks_total", ["outcome": outcome], by: Double(n)) }
            for lag in result.lags { metrics.observe("dispatcher_callback_lag_seconds", [:], lag) }
            total += result.total
            if result.total < Self.batchSize { return total }
        }
    }

    /// Runs until cancelled.
    public func run() async throws {
        while !Task.isCancelled {
            let started = ContinuousClock.now
            var took = 0
            do {
                took = try await applyAvailable()
            } catch {
                metrics.increment("dispatcher_errors_total", ["service": "applier"])
            }
            if Task.isCancelled { return }
            // Let reports gather (unless a full batch is known to be waiting), then wait for a
            // poke or the interval, whichever comes first.
            if took < 1_000 {
                let rest = gather - (ContinuousClock.now - started)
                if rest > .zero { try? await Task.sleep(for: rest) }
            }
            await poked.wait(timeout: interval)
        }
    }
}
