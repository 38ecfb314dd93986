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
