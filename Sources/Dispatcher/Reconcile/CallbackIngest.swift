public import Store
public import Support

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

    /// A callback the database refuses on its own (a value it cannot store): not worth a
    /// retry by the provider, and no reason to refuse the others of its batch.
    public struct Unstorable: Error, Sendable, CustomStringConvertible {
        public let reason: String
        public var description: String { "the callback cannot be stored: \(reason)" }
    }

    private func flushLoop() async {
        while !queue.isEmpty {
            let batch = Array(queue.prefix(maxBatch))
            queue.removeFirst(batch.count)
            do {
                let verdicts = try await pool.withConnection { try await Outbox.inboxCallbackInsertMany($0, batch.map(\.0)) }
                for (i, item) in batch.enumerated() { item.1.resume(returning: verdicts[i]) }
                if verdicts.contains(.stored) { onStored() }
            } catch where batch.count > 1 && Self.mayBeOneRow(error) {
                // one bad report must not fail the others: each on its own
                logger.warning("storing \(batch.count) callback(s) at once failed (\(error)); storing them one by one")
                var stored = false
                for item in batch {
                    do {
                        let verdict = try await pool.withConnection { try await Outbox.inboxCallbackInsertMany($0, [item.0]) }[0]
                        stored = stored || verdict == .stored
                        item.1.resume(returning: verdict)
                    } catch {
                        item.1.resume(throwing: Self.rowError(error))
                    }
                }
                if stored { onStored() }
            } catch {
                logger.error("storing \(batch.count) callback(s) failed, answered 503: \(error)")
                for item in batch { item.1.resume(throwing: Self.rowError(error)) }
            }
        }
        flushing = false
    }

    /// A data or integrity error (SQLSTATE classes 22 and 23): perhaps one row's doing. A
    /// timeout, a lock not granted, a full disk or a lost connection is the database's state,
    /// not a row's: storing row by row would only wait that much longer per row.
    static func mayBeOneRow(_ error: any Error) -> Bool {
        guard let e = error as? PostgresError, e.kind == .server, let state = e.sqlState?.rawValue else { return false }
        return state.hasPrefix("22") || state.hasPrefix("23")
    }

    /// A data or integrity error about one callback becomes `Unstorable`; anything else stays
    /// what it is (the database is unavailable: 503, and the provider retries).
    static func rowError(_ error: any Error) -> any Error {
        guard let e = error as? PostgresError, e.kind == .server, let state = e.sqlState?.rawValue,
              state.hasPrefix("22") || state.hasPrefix("23") else { return error }
        return Unstorable(reason: "SQLSTATE \(state)")
    }
}
