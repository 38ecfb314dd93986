public import Store
public import Support

/// `run --until-idle`: triggers the shutdown once this worker has nothing in hand and the
/// database has no message this worker could act on now (`messageOutstandingExists`: none
/// `sending` or `in_doubt`, none `pending` and due in an active, unhalted campaign), twice in
/// a row.
public struct IdleWatcher: Service {
    public let name = "idle-watcher"
    public var pool: ConnectionPool
    public var providers: [String]
    public var queue: WorkQueue
    public var completer: Completer
    public var shutdown: Shutdown
    public var interval: Duration
    public var logger: Logger

    public init(pool: ConnectionPool, providers: [String], queue: WorkQueue, completer: Completer, shutdown: Shutdown,
                interval: Duration = .milliseconds(50), logger: Logger) {
        self.pool = pool
        self.providers = providers
        self.queue = queue
        self.completer = completer
        self.shutdown = shutdown
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        var idleRounds = 0
        while !shutdown.isTriggered && !Task.isCancelled {
            await shutdown.sleep(for: interval)
            let queueIdle = await queue.isIdle
            let unrecorded = await completer.pending
            let local = queueIdle && unrecorded == 0
            let outstanding = local ? (try? await pool.withConnection { try await Outbox.messageOutstandingExists($0, providers: providers) }) : nil
            idleRounds = outstanding == false ? idleRounds + 1 : 0
            if idleRounds >= 2 {
                logger.info("idle: nothing due, sending or in doubt")
                shutdown.trigger(reason: "idle")
            }
        }
    }
}
