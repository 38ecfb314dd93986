internal import Glibc
import Support

/// A small HTTP/1.1 server: poll()-based event-loop threads with non-blocking sockets, requests
/// parsed on the loop, handlers run as tasks that prefer the loop as their executor, responses
/// written back in order (keep-alive and pipelining). Limits and timeouts: `HTTPServerConfiguration`.
///
///     var router = HTTPRouter()
///     router.get("/healthz") { _ in .text("ok\n") }
///     let server = HTTPServer(configuration: .init(host: "127.0.0.1", port: 0), router: router)
///     let port = try server.start()
///     ...
///     await server.stop()   // stop accepting, finish requests in flight, close
public final class HTTPServer: Sendable {
    private enum State {
        case idle
        case running(HTTPServerContext, port: Int)
        case stopping
        case stopped
    }

    public let configuration: HTTPServerConfiguration
    private let router: HTTPRouter
    private let state = LockedValue(State.idle)

    public init(configuration: HTTPServerConfiguration, router: HTTPRouter) {
        self.configuration = configuration
        self.router = router
    }

    /// Binds, starts the loops and returns the bound port.
    @discardableResult
    public func start() throws(SystemError) -> Int {
        let listening = try Socket.listen(host: configuration.host, port: configuration.port, backlog: 1024)
        var loops: [EventLoop] = []
        do {
            for i in 0..<max(1, configuration.eventLoops) {
                loops.append(try EventLoop(name: "http-server-\(listening.port)-\(i)", tick: configuration.tick))
            }
        } catch {
            close(listening.fd)
            throw error
        }
        let context = HTTPServerContext(configuration: configuration, router: router, loops: loops)
        let ok = state.withLock { state -> Bool in
            guard case .idle = state else { return false }
            state = .running(context, port: listening.port)
            return true
        }
        guard ok else {
            close(listening.fd)
            throw SystemError(call: "HTTPServer.start (already started)", errno: EINVAL)
        }
        let first = context.loops[0]
        first.loop.execute {
            let listener = HTTPListener(fd: listening.fd, home: first, context: context)
            first.loop.register(listening.fd, events: Int16(POLLIN), handler: listener)
            first.listener = listener
        }
        return listening.port
    }

    /// The bound port while running.
    public var port: Int? {
        state.withLock { if case .running(_, let port) = $0 { port } else { nil } }
    }

    /// Counts of open connections and running handlers (for tests and metrics).
    public var load: (connections: Int, handlers: Int) {
        state.withLock { state in
            guard case .running(let context, _) = state else { return (0, 0) }
            return context.counters.withLock { ($0.open, $0.handlers) }
        }
    }

    deinit {
        // Dropped while running (no stop()): end the loop threads; connections are closed.
        if case .running(let context, _) = state.current {
            for home in context.loops { home.loop.requestStop() }
        }
    }

    /// Graceful stop: stop accepting, let requests in flight finish (up to `shutdownGracePeriod`),
    /// close every connection, stop the loops.
    public func stop() async {
        let context: HTTPServerContext? = state.withLock { state in
            guard case .running(let context, _) = state else { return nil }
            state = .stopping
            return context
        }
        guard let context else { return }
        context.stopping.withLock { $0 = true }
        for home in context.loops {
            home.loop.execute {
                home.listener?.stop()
                home.listener = nil
                for connection in Array(home.connections.values) { connection.beginShutdown() }
            }
        }
        // Wait for the last connection to close and the last handler to finish (the context
        // notifies `drained` then), or for the grace period to run out.
        let deadline = ContinuousClock.now + configuration.shutdownGracePeriod
        while !context.isDrained {
            let left = deadline - ContinuousClock.now
            if left <= .zero { break }
            await context.drained.wait(timeout: left)
        }
        for home in context.loops {
            home.loop.execute {
                for connection in Array(home.connections.values) { connection.close() }
            }
            await home.loop.shutdown()
        }
        state.withLock { $0 = .stopped }
    }
}
