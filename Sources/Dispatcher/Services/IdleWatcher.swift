public import Store
public import Support

/// `run --until-idle`: triggers the shutdown once this worker has nothing in hand and the
/// database has no message this worker could act on now (`messageOutstandingExists`: none
/// `sending` or `in_doubt`, none `pending` and due in an active, unhalted campaign), twice in
/// a row.
public struct IdleWatcher: Service {
    public struct Configuration: Sendable {
        /// Between checks. Default 50 ms.
        public var interval: Duration = .milliseconds(50)
        public init() {}

        public func validate() throws(ServiceConfigurationError) {
            guard interval > .zero else { throw ServiceConfigurationError(service: "idle-watcher", field: "interval", "must be more than 0") }
        }
    }

    public let name = "idle-watcher"
    public var configuration: Configuration
    public var pool: ConnectionPool
    public var providers: [String]
    public var queue: WorkQueue
    public var completer: Completer
    /// The worker's shutdown, which it triggers.
    public var shutdown: Shutdown
    /// Its own request to stop (the worker's group triggers it when the watcher's turn comes).
    public var stop: Shutdown
    public var logger: Logger

    public init(configuration: Configuration = Configuration(), pool: ConnectionPool, providers: [String], queue: WorkQueue,
                completer: Completer, shutdown: Shutdown, stop: Shutdown, logger: Logger) {
        self.configuration = configuration
        self.pool = pool
        self.providers = providers
        self.queue = queue
        self.completer = completer
        self.shutdown = shutdown
        self.stop = stop
        self.logger = logger
    }

    public func run() async throws {
        var idleRounds = 0
        while !stop.isTriggered && !Task.isCancelled {
            await stop.sleep(for: configuration.interval)
            if shutdown.isTriggered {
                // nothing left to decide: wait for its turn to stop
                await stop.wait()
                return
            }
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
