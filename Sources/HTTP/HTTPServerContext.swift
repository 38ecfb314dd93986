import Support

/// What the server's loops share: configuration, router, counters. Immutable or lock-protected.
final class HTTPServerContext: Sendable {
    struct Counters {
        var open = 0
        var rejecting = 0
        var handlers = 0
    }

    let configuration: HTTPServerConfiguration
    let router: HTTPRouter
    let loops: [HTTPServerLoop]
    let counters = LockedValue(Counters())
    /// Notified when a connection closes or a handler finishes and nothing is left open or
    /// running (what a graceful stop waits for).
    let drained = WakeSignal()
    let stopping = LockedValue(false)
    let limits: HTTPRequestParser.Limits
    let timeouts: (header: UInt64, body: UInt64, idle: UInt64, write: UInt64)

    init(configuration: HTTPServerConfiguration, router: HTTPRouter, loops: [EventLoop]) {
        self.configuration = configuration
        self.router = router
        self.loops = loops.map(HTTPServerLoop.init)
        self.limits = configuration.parserLimits
        self.timeouts = (configuration.headerTimeout.nanoseconds, configuration.bodyTimeout.nanoseconds,
                         configuration.idleTimeout.nanoseconds, configuration.writeTimeout.nanoseconds)
    }

    /// True when no connection is open and no handler runs.
    var isDrained: Bool {
        counters.withLock { $0.open + $0.rejecting == 0 && $0.handlers == 0 }
    }

    /// Gives back a connection slot or a handler (`change`), notifying `drained` when that was the last.
    func release(_ change: (inout Counters) -> Void) {
        let empty = counters.withLock { c -> Bool in
            change(&c)
            return c.open + c.rejecting == 0 && c.handlers == 0
        }
        if empty { drained.notify() }
    }

    /// Takes a connection slot; false when `maxConnections` are open.
    func reserveConnection() -> Bool {
        counters.withLock { c in
            guard c.open < configuration.maxConnections else { return false }
            c.open += 1
            return true
        }
    }

    /// Takes a slot for answering 503 to a connection over the limit (bounded too).
    func reserveRejection() -> Bool {
        counters.withLock { c in
            guard c.rejecting < configuration.maxConnections else { return false }
            c.rejecting += 1
            return true
        }
    }
}

/// One loop's share of the server: its connections. Touched on that loop's thread only.
final class HTTPServerLoop: @unchecked Sendable {
    let loop: EventLoop
    var connections: [ObjectIdentifier: HTTPServerConnection] = [:]
    var listener: HTTPListener?

    init(loop: EventLoop) { self.loop = loop }
}
