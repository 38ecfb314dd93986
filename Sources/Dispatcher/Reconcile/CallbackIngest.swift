public import Store

/// Makes callbacks durable in batches: each request waits until its callback is committed
/// (or known to be forged), so a 2xx always means "in PostgreSQL", while one statement and
/// one commit serve every callback that arrived in the meantime.
public actor CallbackIngest {
    private let pool: ConnectionPool
    private let maxBatch: Int
    private var queue: [(ProviderReport, CheckedContinuation<Outbox.CallbackVerdict, any Error>)] = []
    private var flushing = false
    /// Called after each stored batch, to wake the applier.
    private let onStored: @Sendable () -> Void
    private let logger: Logger

    public init(pool: ConnectionPool, maxBatch: Int = 500, logger: Logger = .silent, onStored: @escaping @Sendable () -> Void = {}) {
        self.pool = pool
        self.maxBatch = maxBatch
        self.logger = logger
        self.onStored = onStored
    }

    /// Stores one callback; returns once it is durable (or rejected). Throws when the
    /// database is unavailable: the caller answers 503 and the provider retries.
    public func store(_ report: ProviderReport) async throws -> Outbox.CallbackVerdict {
        try await withCheckedThrowingContinuation { continuation in
            queue.append((report, continuation))
            if !flushing {
                flushing = true
                Task { await self.flushLoop() }
            }
        }
    }

    private func flushLoop() async {
        while !queue.isEmpty {
            let batch = Array(queue.prefix(maxBatch))
            queue.removeFirst(batch.count)
            do {
                let verdicts = try await pool.withConnection { try await Outbox.callbacksStore($0, batch.map(\.0)) }
                for (i, item) in batch.enumerated() { item.1.resume(returning: verdicts[i]) }
                if verdicts.contains(.stored) { onStored() }
            } catch {
                logger.error("storing \(batch.count) callback(s) failed, answered 503: \(error)")
                for item in batch { item.1.resume(throwing: error) }
            }
        }
        flushing = false
    }
}
