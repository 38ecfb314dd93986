import Support
import HTTP
public import Foundation
import Store

extension Worker {
    /// Everything the worker is built from: the configuration file's settings and the
    /// options of `dispatcher run` (or of `demo`, or of a test). Each service's own
    /// `Configuration` is derived from it here, in one place, and validated by `start()`.
    public struct Configuration: Sendable {
        /// The configuration file's settings.
        public var dispatcher: DispatcherConfiguration
        /// libpq connection string of the outbox's database.
        public var conninfo: String
        /// This worker's name in `lease_owner`. Default HOST:PID.
        public var workerID: String = Worker.defaultWorkerID()
        /// Trigger the shutdown once nothing is left to do (`run --until-idle`). Default off.
        public var untilIdle = false
        /// How long a service may take to stop once asked before it is cancelled; for the
        /// senders, how long sends in flight may take after the shutdown (`--grace-s`). Default 30 s.
        public var gracePeriod: Duration = .seconds(30)
        /// The producer's poll for due messages when no notification came, ±20 %. Default 1 s.
        public var claimPollInterval: Duration = .seconds(1)
        /// The rescuer's and the prober's passes, ±20 %. Default 1 s.
        public var rescueInterval: Duration = .seconds(1)
        /// The status poller's passes. Default 1 s.
        public var statusPollInterval: Duration = .seconds(1)
        /// Run the reconciliation side: the callback/inbound HTTP server, the applier of
        /// stored reports and the status poller. Default on.
        public var reconcile = true
        /// `HOST:PORT` to serve on instead of `dispatcher.listen`. Default nil.
        public var listen: String?
        /// Connections of the pool for the HTTP routes other than callbacks. Default 2.
        public var httpPoolConnections = 2
        /// Callers that may wait for that pool; past them a request gets 503 at once. Default 64.
        public var httpPoolWaiters = 64
        /// Pick up job files from `dispatcher.spool`. Default off.
        public var spool = false
        /// Provider clients to use instead of those built from `dispatcher.accounts` (tests). Default nil.
        public var providers: [String: any SMSProvider]?
        /// The operator console under `/console/` on the HTTP server (needs `reconcile`).
        /// `dispatcher run` reads it from the environment (`ConsoleConfiguration.fromEnvironment`).
        /// Default off: no `/console/` route exists.
        public var console = ConsoleConfiguration(access: .off)
        /// Connections of the console's own pool, so a slow page never delays a callback. Default 2.
        public var consolePoolConnections = 2

        public init(dispatcher: DispatcherConfiguration, conninfo: String) {
            self.dispatcher = dispatcher
            self.conninfo = conninfo
        }

        /// The address the callback server binds.
        public var listenAddress: String { listen ?? dispatcher.listen }

        var providerNames: [String] { (providers.map { Array($0.keys) } ?? Array(dispatcher.accounts.keys)).sorted() }

        var producer: Producer.Configuration {
            var c = Producer.Configuration(owner: workerID, providers: providerNames, optOutScope: dispatcher.optOutScope,
                                           compliance: dispatcher.sendingCompliance)
            c.leaseSeconds = dispatcher.leaseSeconds
            c.pollInterval = claimPollInterval
            c.minClaim = max(1, dispatcher.concurrency / 4)
            return c
        }

        var sender: SenderPool.Configuration { SenderPool.Configuration(concurrency: dispatcher.concurrency) }

        var completer: Completer.Configuration {
            Completer.Configuration(pollAfterSeconds: dispatcher.poll.afterSeconds, optOutScope: dispatcher.optOutScope)
        }

        var rescuer: Rescuer.Configuration {
            var c = Rescuer.Configuration(owner: workerID, providers: providerNames, pollAfterSeconds: dispatcher.poll.afterSeconds,
                                          optOutScope: dispatcher.optOutScope)
            c.interval = rescueInterval
            c.maxAttempts = dispatcher.retry.maxAttempts
            c.lookupDelaySeconds = (dispatcher.accounts.values.map(\.timeoutSeconds).max() ?? 10) + 1
            c.holdSeconds = dispatcher.leaseSeconds
            c.horizonSeconds = dispatcher.inDoubt.horizonSeconds
            c.lookupEverySeconds = dispatcher.inDoubt.lookupEverySeconds
            return c
        }

        var prober: ProviderProber.Configuration {
            var c = ProviderProber.Configuration()
            c.interval = rescueInterval
            c.maxProbeIntervalSeconds = dispatcher.breaker.maxProbeIntervalSeconds
            return c
        }

        var idleWatcher: IdleWatcher.Configuration { IdleWatcher.Configuration() }

        var poller: StatusPoller.Configuration {
            var c = StatusPoller.Configuration(after: dispatcher.poll.afterSeconds, giveUpAfter: dispatcher.poll.giveUpAfterSeconds)
            c.interval = statusPollInterval
            return c
        }

        var applier: ReportApplier.Configuration { ReportApplier.Configuration() }

        var spoolWatcher: SpoolWatcher.Configuration { SpoolWatcher.Configuration() }

        func httpServer(_ configuration: inout HTTPServerConfiguration) {
            configuration.headerTimeout = .seconds(dispatcher.http.headerSeconds)
            configuration.bodyTimeout = .seconds(dispatcher.http.bodySeconds)
            configuration.idleTimeout = .seconds(dispatcher.http.idleSeconds)
        }

        /// Checks the worker's own options and every service's configuration.
        public func validate() throws(ServiceConfigurationError) {
            func check(_ ok: Bool, _ field: String, _ why: String) throws(ServiceConfigurationError) {
                if !ok { throw ServiceConfigurationError(service: "worker", field: field, why) }
            }
            try check(!workerID.isEmpty, "workerID", "must not be empty")
            try check(gracePeriod >= .zero, "gracePeriod", "must not be negative")
            try check(httpPoolConnections >= 1, "httpPoolConnections", "must be at least 1")
            try check(httpPoolWaiters >= 0, "httpPoolWaiters", "must not be negative")
            if console.isEnabled {
                func consoleCheck(_ ok: Bool, _ field: String, _ why: String) throws(ServiceConfigurationError) {
                    if !ok { throw ServiceConfigurationError(service: "console", field: field, why) }
                }
                try consoleCheck(reconcile, "console", "needs the HTTP server (reconcile)")
                try consoleCheck(consolePoolConnections >= 1, "consolePoolConnections", "must be at least 1")
                if console.access == .loopback {
                    let host = listenAddress.lastIndex(of: ":").map { String(listenAddress[..<$0]) } ?? listenAddress
                    try consoleCheck(ConsoleConfiguration.isLoopback(host: host), "console",
                                     "loopback mode (no credentials) is refused on '\(host.isEmpty ? "0.0.0.0" : host)', which other hosts can reach: "
                                     + "set \(ConsoleConfiguration.operatorVariable) to user:password, or listen on 127.0.0.1")
                }
            }
            try producer.validate()
            try sender.validate()
            try completer.validate()
            try rescuer.validate()
            try prober.validate()
            if untilIdle { try idleWatcher.validate() }
            if reconcile {
                var http = HTTPServerConfiguration()
                httpServer(&http)
                try http.validate()
                try poller.validate()
                try applier.validate()
            }
            if spool { try spoolWatcher.validate() }
        }
    }

    public static func defaultWorkerID() -> String {
        "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
    }

    /// `http://HOST:PORT` for the bound `listen` address (a wildcard host becomes 127.0.0.1):
    /// where callbacks reach a worker that has no `public_url`.
    public static func defaultPublicURL(listen: String, port: Int) -> URL? {
        var host = listen.lastIndex(of: ":").map { String(listen[..<$0]) } ?? "127.0.0.1"
        if host.isEmpty || host == "0.0.0.0" { host = "127.0.0.1" }
        return URL(string: "http://\(host):\(port)")
    }
}
