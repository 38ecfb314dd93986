public import Support
import HTTP
import Foundation
import Store

/// The worker of `dispatcher run` (and of `demo`, and of the tests), assembled in one place:
///
/// | order | service | stops by |
/// |---|---|---|
/// | 1 | `http`: callbacks, inbound SMS, `/healthz`, `/metrics`, the console (`reconcile`) | cancellation |
/// | 2 | `applier`: stored reports → messages (`reconcile`) | cancellation |
/// | 3 | `poller`: status polls (`reconcile`) | cancellation |
/// | 4 | `spool`: job files (`spool`) | cancellation |
/// | 5 | `rescuer`, `prober`, `idle-watcher` (`untilIdle`) | their own stop request |
/// | 6 | `completer`: records outcomes | the senders finishing |
/// | 7 | `sender`: the sender pool | the producer closing the work queue |
/// | 8 | `producer`: claims | the worker's `shutdown` |
///
/// Services start in that order and stop in the reverse one, each once the one after it has
/// ended: on `shutdown` the producer stops claiming (unsent claims go back to `pending`), the
/// senders drain (after `gracePeriod` the sends still in flight are cancelled and settled as in
/// doubt), the completer records their outcomes, the maintenance services stop, and the HTTP
/// server goes last, answering callbacks until every send has ended (the console, when
/// configured, stops just before it: waiting event requests are answered at once).
///
/// `start()` binds the HTTP listener, so a bad or used address fails before anything is
/// claimed; `run()` starts the worker if that was not done and returns after the shutdown.
/// Every service gets `metrics` when it is built.
public final class Worker: Sendable {
    public let configuration: Configuration
    public let shutdown = Shutdown()
    /// Everything the worker counts; `/metrics` renders it.
    public let metrics: Metrics
    public let completer: Completer
    let logger: Logger
    let observer: @Sendable (ServiceGroup.Event) -> Void
    let pool: ConnectionPool
    let queue: WorkQueue
    let http = HTTPClient()
    /// Wakes the producer: `pg_notify('dispatcher_work', …)` arrived.
    let workArrived = WakeSignal()

    /// The services and the resources `start()` made.
    struct Assembly: Sendable {
        var dispatcher: DispatcherConfiguration
        var providers: [String: any SMSProvider]
        var members: [ServiceGroup.Member]
        var server: CallbackServer?
        var pools: [ConnectionPool]
    }

    private let assembly = LockedValue<Assembly?>(nil)

    /// `observer` hears the service group's events (which service was asked to stop, which ended).
    public init(configuration: Configuration, logger: Logger, metrics: Metrics = Metrics(),
                observer: @escaping @Sendable (ServiceGroup.Event) -> Void = { _ in }) {
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
        self.observer = observer
        pool = ConnectionPool(conninfo: configuration.conninfo, maxConnections: min(8, 2 + configuration.dispatcher.concurrency / 4))
        queue = WorkQueue(capacity: configuration.dispatcher.concurrency)
        completer = Completer(pool: pool, configuration: configuration.completer, logger: logger)
    }

    /// The bound port of the HTTP server once started.
    public var port: Int? { assembly.current?.server?.port }

    /// The configuration the services use once started: `public_url` defaults to the bound address.
    public var dispatcherConfiguration: DispatcherConfiguration { assembly.current?.dispatcher ?? configuration.dispatcher }

    /// The provider clients once started.
    public var providers: [String: any SMSProvider] { assembly.current?.providers ?? [:] }

    /// Validates the configuration, binds the HTTP listener and builds the services.
    /// Throws `ServiceConfigurationError`, `CallbackServer.ListenAddressError` (not HOST:PORT)
    /// or `SystemError` (cannot bind).
    public func start() async throws {
        if assembly.current != nil { return }
        try configuration.validate()
        var dispatcher = configuration.dispatcher
        var pools = [pool]
        var members: [ServiceGroup.Member] = []
        var server: CallbackServer?
        var applier: (ReportApplier, ConnectionPool)?
        if configuration.reconcile {
            // `reconcilePool` stores and applies callbacks and poll results; `httpPool` serves the
            // other routes (inbound SMS, metrics, answers to malformed callbacks) with bounded
            // waiters, so a flood there never delays a callback; `healthPool` is `/healthz`'s.
            let conninfo = configuration.conninfo
            let reconcilePool = ConnectionPool(conninfo: conninfo, maxConnections: 4, settings: .http)
            let httpPool = ConnectionPool(conninfo: conninfo, maxConnections: configuration.httpPoolConnections,
                                          maxWaiters: configuration.httpPoolWaiters, settings: .http)
            let healthPool = ConnectionPool(conninfo: conninfo, maxConnections: 1, settings: .http)
            pools += [reconcilePool, httpPool, healthPool]
            // The console, when configured, on a pool of its own (pages never wait behind callbacks).
            var console: ConsoleRoutes?
            if configuration.console.isEnabled {
                let consolePool = ConnectionPool(conninfo: conninfo, maxConnections: configuration.consolePoolConnections,
                                                 maxWaiters: 64, settings: .http)
                pools.append(consolePool)
                console = ConsoleRoutes(pool: consolePool, configuration: configuration.console, logger: logger)
            }
            let reportApplier = ReportApplier(pool: reconcilePool, metrics: metrics, configuration: configuration.applier, logger: logger)
            let ingest = CallbackIngest(pool: reconcilePool, logger: logger, onStored: { reportApplier.poke() })
            let routes = ReconcileRoutes(pool: httpPool, healthPool: healthPool, ingest: ingest, metrics: metrics,
                                         configuration: .init(dispatcher))
            let logger = self.logger
            let callbackServer = try CallbackServer(listen: configuration.listenAddress, routes: routes, console: console) { server in
                configuration.httpServer(&server)
                server.logger = logger
            }
            do {
                let port = try callbackServer.start()
                if dispatcher.publicURL == nil {
                    // Callbacks reach this worker directly (the sandbox, a local test); behind nginx set public_url.
                    dispatcher.publicURL = Self.defaultPublicURL(listen: configuration.listenAddress, port: port)
                }
            } catch {
                for p in pools { await p.close() }
                throw error
            }
            server = callbackServer
            applier = (reportApplier, reconcilePool)
            members.append(.init(callbackServer, stop: .cancellation))
            members.append(.init(reportApplier, stop: .cancellation))
        }
        // The clients are built once `public_url` is known (their callback URLs name it).
        let http = self.http
        let providers = configuration.providers ?? dispatcher.accounts.mapValues { $0.makeClient(http: http) }
        if let (applier, reconcilePool) = applier {
            let poller = StatusPoller(pool: reconcilePool, providers: providers, metrics: metrics, configuration: configuration.poller,
                                      logger: logger, onStored: { applier.poke() })
            members.append(.init(poller, stop: .cancellation))
        }
        if configuration.spool {
            let logger = self.logger
            let spool = SpoolWatcher(configuration: configuration.spoolWatcher, directory: SpoolDirectory(path: dispatcher.spool),
                                     submitter: JobSubmitter(configuration: dispatcher), conninfo: configuration.conninfo,
                                     report: { logger.info("\($0)") })
            members.append(.init(spool, stop: .cancellation))
        }
        let names = configuration.providerNames
        let rescuerStop = Shutdown()
        members.append(.init(Rescuer(configuration: configuration.rescuer, pool: pool, providers: providers, shutdown: rescuerStop,
                                     logger: logger), stop: .signal(rescuerStop)))
        let proberStop = Shutdown()
        members.append(.init(ProviderProber(configuration: configuration.prober, providers: providers, pool: pool, shutdown: proberStop,
                                            logger: logger, metrics: metrics), stop: .signal(proberStop)))
        if configuration.untilIdle {
            let idleStop = Shutdown()
            members.append(.init(IdleWatcher(configuration: configuration.idleWatcher, pool: pool, providers: names, queue: queue,
                                             completer: completer, shutdown: shutdown, stop: idleStop, logger: logger),
                                 stop: .signal(idleStop)))
        }
        // The completer ends once the senders told it no more outcomes come; the senders end
        // once the producer closed the queue; the producer stops claiming on the shutdown.
        members.append(.init(completer, stop: .signal(shutdown)))
        let limiter = RateLimiter(pool: pool, logger: logger)
        let breaker = CircuitBreaker(threshold: dispatcher.breaker.failures, firstProbeSeconds: dispatcher.breaker.probeAfterSeconds)
        let sender = MessageSender(providers: providers, configuration: dispatcher, limiter: limiter, pool: pool, logger: logger,
                                   metrics: metrics, breaker: breaker)
        members.append(.init(SenderPool(configuration: configuration.sender, queue: queue, sender: sender, completer: completer),
                             stop: .signal(shutdown)))
        members.append(.init(Producer(configuration: configuration.producer, pool: pool, queue: queue, completer: completer,
                                      workArrived: workArrived, shutdown: shutdown, logger: logger, metrics: metrics),
                             stop: .signal(shutdown)))
        assembly.withLock { $0 = Assembly(dispatcher: dispatcher, providers: providers, members: members, server: server, pools: pools) }
    }

    /// Runs the services until the shutdown, then stops them in order (see the type's
    /// documentation) and closes the pools. Starts the worker first unless `start()` was called.
    public func run() async throws {
        try await start()
        guard let assembly = assembly.current else { return }
        // Wake-ups from `pg_notify('dispatcher_work', …)`; the producer polls as well, so a
        // listener that cannot start only costs latency.
        let listener = try? await NotificationListener.start(conninfo: configuration.conninfo, channels: [Outbox.workChannel])
        if listener == nil { logger.warning("LISTEN \(Outbox.workChannel) unavailable; polling only") }
        let listening = Task { [workArrived] in
            guard let listener else { return }
            for await _ in listener.notifications { workArrived.notify() }
        }
        let group = ServiceGroup(members: assembly.members, shutdown: shutdown, gracePeriod: configuration.gracePeriod,
                                 logger: logger, observer: observer)
        var failure: (any Error)?
        do {
            try await group.run()
        } catch {
            failure = error
        }
        listener?.stop()
        listening.cancel()
        for p in assembly.pools { await p.close() }
        await http.shutdown()
        if let failure { throw failure }
    }
}
