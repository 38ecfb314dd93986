import Foundation
public import Store
public import Support
import HTTP

/// The worker of `dispatcher run`, wired: producer → work queue → senders (rate limiter,
/// provider clients) → completer, with the rescuer and the provider prober beside them and,
/// for `--until-idle`, the idle watcher. `run` returns after a graceful shutdown (`shutdown.trigger`): no claimed
/// message is left `sending` — sends in flight finish (or, after the grace period, are
/// cancelled and settled as in doubt), unsent claims go back to `pending`.
public final class DispatchEngine: Sendable {
    public struct Options: Sendable {
        /// This worker's name in `lease_owner` (host and pid by default).
        public var workerID: String
        public var untilIdle = false
        public var gracePeriod: Duration = .seconds(30)
        public var pollInterval: Duration = .seconds(1)
        public var rescueInterval: Duration = .seconds(1)
        /// Services run beside the engine's own (the spool watcher, the callback server).
        public var extraServices: [any Service] = []
        public init(workerID: String = DispatchEngine.defaultWorkerID()) { self.workerID = workerID }
    }

    public let configuration: DispatcherConfiguration
    public let options: Options
    public let pool: ConnectionPool
    public let conninfo: String
    public let shutdown = Shutdown()
    public let queue: WorkQueue
    public let completer: Completer
    public let providers: [String: any SMSProvider]
    /// Everything the worker counts; `/metrics` renders it.
    public let metrics: Metrics
    let logger: Logger
    let http: HTTPClient

    /// `providers` overrides the clients built from the configuration (tests).
    public init(configuration: DispatcherConfiguration, conninfo: String, options: Options, logger: Logger,
                providers: [String: any SMSProvider]? = nil, metrics: Metrics = Metrics()) {
        self.metrics = metrics
        self.configuration = configuration
        self.options = options
        self.conninfo = conninfo
        self.logger = logger
        pool = ConnectionPool(conninfo: conninfo, maxConnections: min(8, 2 + configuration.concurrency / 4))
        queue = WorkQueue(capacity: configuration.concurrency)
        let completerConfiguration = Completer.Configuration(pollAfterSeconds: configuration.poll.afterSeconds,
                                                             optOutScope: configuration.optOutScope)
        completer = Completer(pool: pool, configuration: completerConfiguration, logger: logger)
        let http = HTTPClient()
        self.http = http
        self.providers = providers ?? configuration.accounts.mapValues { $0.makeClient(http: http) }
    }

    public static func defaultWorkerID() -> String {
        "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
    }

    /// `extraServices` run beside the engine's own (callback server, poller, spool).
    public func run(extraServices: [any Service] = []) async throws {
        let names = providers.keys.sorted()
        let workArrived = WakeSignal()
        // Wake-ups from `pg_notify('dispatcher_work', …)`; the producer polls as well, so a
        // listener that cannot start only costs latency.
        let listener = try? await NotificationListener.start(conninfo: conninfo, channels: [Outbox.workChannel])
        if listener == nil { logger.warning("LISTEN \(Outbox.workChannel) unavailable; polling only") }
        let listening = Task {
            guard let listener else { return }
            for await _ in listener.notifications { workArrived.notify() }
        }
        var producerConfiguration = Producer.Configuration(owner: options.workerID, providers: names,
                                                           optOutScope: configuration.optOutScope)
        producerConfiguration.leaseSeconds = configuration.leaseSeconds
        producerConfiguration.pollInterval = options.pollInterval
        producerConfiguration.minClaim = max(1, configuration.concurrency / 4)
        producerConfiguration.compliance = configuration.sendingCompliance
        var rescuerConfiguration = Rescuer.Configuration(owner: options.workerID, providers: names,
                                                         pollAfterSeconds: configuration.poll.afterSeconds,
                                                         optOutScope: configuration.optOutScope)
        rescuerConfiguration.interval = options.rescueInterval
        rescuerConfiguration.maxAttempts = configuration.retry.maxAttempts
        rescuerConfiguration.lookupDelaySeconds = (configuration.accounts.values.map(\.timeoutSeconds).max() ?? 10) + 1
        rescuerConfiguration.holdSeconds = configuration.leaseSeconds
        rescuerConfiguration.horizonSeconds = configuration.inDoubt.horizonSeconds
        rescuerConfiguration.lookupEverySeconds = configuration.inDoubt.lookupEverySeconds
        let limiter = RateLimiter(pool: pool, logger: logger)
        var sender = MessageSender(providers: providers, configuration: configuration, limiter: limiter, pool: pool, logger: logger)
        sender.metrics = metrics
        sender.breaker = CircuitBreaker(threshold: configuration.breaker.failures, firstProbeSeconds: configuration.breaker.probeAfterSeconds)
        var prober = ProviderProber(providers: providers, pool: pool, shutdown: shutdown, logger: logger, metrics: metrics)
        prober.interval = options.rescueInterval
        prober.maxProbeIntervalSeconds = configuration.breaker.maxProbeIntervalSeconds
        var producer = Producer(configuration: producerConfiguration, pool: pool, queue: queue, completer: completer,
                                workArrived: workArrived, shutdown: shutdown, logger: logger)
        producer.metrics = metrics
        var services: [any Service] = [
            producer,
            SenderPool(concurrency: configuration.concurrency, queue: queue, sender: sender, completer: completer),
            completer,
            Rescuer(configuration: rescuerConfiguration, pool: pool, providers: providers, shutdown: shutdown, logger: logger),
            prober,
        ]
        if options.untilIdle {
            services.append(IdleWatcher(pool: pool, providers: names, queue: queue, completer: completer, shutdown: shutdown, logger: logger))
        }
        services += options.extraServices + extraServices
        let group = ServiceGroup(services: services, shutdown: shutdown, gracePeriod: options.gracePeriod, logger: logger)
        do {
            try await group.run()
        } catch {
            await finish(listener: listener, listening: listening)
            throw error
        }
        await finish(listener: listener, listening: listening)
    }

    private func finish(listener: NotificationListener?, listening: Task<Void, Never>) async {
        listener?.stop()
        listening.cancel()
        await pool.close()
        await http.shutdown()
    }
}
