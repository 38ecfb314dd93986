import Foundation
public import Store
public import Support

/// Runs a long-running loop as a `Service` that stops when the worker's shutdown is
/// requested (its task is cancelled then), rather than waiting for the grace period.
public struct ShutdownBoundService: Service {
    public let name: String
    let shutdown: Shutdown
    let body: @Sendable () async throws -> Void

    public init(name: String, shutdown: Shutdown, body: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.shutdown = shutdown
        self.body = body
    }

    public func run() async throws {
        let task = Task { try await body() }
        shutdown.onTrigger { task.cancel() }
        try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
    }
}

/// The reconciliation side of `dispatcher run`: the callback/inbound HTTP server on
/// `listen`, the applier of stored reports, the status poller, and the spool watcher.
///
/// Three connection pools: `pool` for storing and applying callbacks and poll results;
/// `httpPool` for the rest of the HTTP routes (inbound SMS, metrics, answers to malformed
/// callbacks), whose waiters are bounded (`httpPoolWaiters`; past them a request gets 503 at
/// once), so a flood on those routes never delays a callback; and one connection for
/// `/healthz`'s checks (at most one a second).
public struct ReconcileServices: Sendable {
    public let server: CallbackServer
    public let applier: ReportApplier
    public let pool: ConnectionPool
    public let httpPool: ConnectionPool
    public let healthPool: ConnectionPool
    public let metrics: Metrics
    let pollConfiguration: StatusPoller.Configuration

    /// Builds the services and binds the HTTP server (a port in use fails here, before
    /// anything is claimed); `port` then tells where it listens.
    public init(configuration: DispatcherConfiguration, conninfo: String,
                metrics: Metrics, listen: String? = nil, pollInterval: Duration = .seconds(1),
                httpPoolConnections: Int = 2, httpPoolWaiters: Int = 64,
                logger: Logger = .silent) throws {
        let pool = ConnectionPool(conninfo: conninfo, maxConnections: 4, settings: .http)
        let httpPool = ConnectionPool(conninfo: conninfo, maxConnections: httpPoolConnections, maxWaiters: httpPoolWaiters, settings: .http)
        let healthPool = ConnectionPool(conninfo: conninfo, maxConnections: 1, settings: .http)
        let applier = ReportApplier(pool: pool, metrics: metrics)
        let ingest = CallbackIngest(pool: pool, logger: logger, onStored: { applier.poke() })
        let routes = ReconcileRoutes(pool: httpPool, healthPool: healthPool, ingest: ingest, metrics: metrics, configuration: .init(configuration))
        let timeouts = configuration.http
        server = try CallbackServer(listen: listen ?? configuration.listen, routes: routes) { server in
            server.headerTimeout = .seconds(timeouts.headerSeconds)
            server.bodyTimeout = .seconds(timeouts.bodySeconds)
            server.idleTimeout = .seconds(timeouts.idleSeconds)
            server.logger = logger
        }
        try server.start()
        var pollConfiguration = StatusPoller.Configuration(after: configuration.poll.afterSeconds,
                                                           giveUpAfter: configuration.poll.giveUpAfterSeconds)
        pollConfiguration.interval = pollInterval
        self.pollConfiguration = pollConfiguration
        self.applier = applier
        self.pool = pool
        self.httpPool = httpPool
        self.healthPool = healthPool
        self.metrics = metrics
    }

    public var port: Int? { server.port }

    /// Closes the connection pools (after the services have stopped).
    public func close() async {
        await pool.close()
        await httpPool.close()
        await healthPool.close()
    }

    /// The services to run beside the engine's; the poller asks `providers`.
    public func services(shutdown: Shutdown, providers: [String: any SMSProvider], spool: SpoolWatcher?) -> [any Service] {
        let poller = StatusPoller(pool: pool, providers: providers, metrics: metrics, configuration: pollConfiguration,
                                  onStored: { [applier] in applier.poke() })
        var list: [any Service] = [
            ShutdownBoundService(name: "http", shutdown: shutdown) { [server] in try await server.run() },
            ShutdownBoundService(name: "applier", shutdown: shutdown) { [applier] in try await applier.run() },
            ShutdownBoundService(name: "poller", shutdown: shutdown) { [poller] in try await poller.run() },
        ]
        if let spool {
            list.append(ShutdownBoundService(name: "spool", shutdown: shutdown) { try await spool.run() })
        }
        return list
    }
}
