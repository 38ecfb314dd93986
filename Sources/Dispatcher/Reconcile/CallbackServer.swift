import Support
public import HTTP

/// The HTTP side of `dispatcher run`: callbacks, inbound SMS, health and metrics on `listen`.
/// A `Service`: `start()` binds (so a bad or used address fails before anything is claimed),
/// `run()` serves until its task is cancelled, then stops gracefully.
///
/// With `console`, the operator console is served under `/console/` too: its live updates
/// start when `run()` does, and it is stopped (waiting event requests answered) before the
/// server stops.
public final class CallbackServer: Service {
    public let name = "http"
    private let server: HTTPServer
    private let console: ConsoleRoutes?

    /// `listen` is `HOST:PORT` (port 0 picks a free one).
    public init(listen: String, routes: ReconcileRoutes, console: ConsoleRoutes? = nil,
                configure: (inout HTTPServerConfiguration) -> Void = { _ in }) throws(ListenAddressError) {
        let (host, port) = try Self.parse(listen)
        var configuration = HTTPServerConfiguration(host: host, port: port)
        configuration.maxBodyBytes = 64 * 1024
        configure(&configuration)
        var router = HTTPRouter()
        routes.register(on: &router)
        console?.register(on: &router)
        self.console = console
        server = HTTPServer(configuration: configuration, router: router)
    }

    public struct ListenAddressError: Error, CustomStringConvertible {
        public var address: String
        public var description: String { "listen: '\(address)' is not HOST:PORT (for example 127.0.0.1:8080)" }
    }

    static func parse(_ listen: String) throws(ListenAddressError) -> (String, Int) {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65_535).contains(port) else {
            throw ListenAddressError(address: listen)
        }
        let host = String(listen[..<colon])
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }

    /// Binds and starts serving; returns the port.
    @discardableResult
    public func start() throws(SystemError) -> Int { try server.start() }

    public var port: Int? { server.port }

    /// Serves until the task is cancelled, then stops gracefully (requests in flight finish).
    public func run() async throws {
        if server.port == nil { try server.start() }
        await console?.startLiveUpdates()
        // Suspends until cancelled: the cancellation handler wakes it, no timer involved.
        let cancelled = WakeSignal()
        await withTaskCancellationHandler {
            await cancelled.wait()
        } onCancel: {
            cancelled.notify()
        }
        await console?.stop()
        await server.stop()
    }
}

extension HTTPServerConfiguration {
    /// The callback server's settings checked when the worker starts (`http.*_s` of the configuration).
    public func validate() throws(ServiceConfigurationError) {
        func check(_ ok: Bool, _ field: String, _ why: String) throws(ServiceConfigurationError) {
            if !ok { throw ServiceConfigurationError(service: "http", field: field, why) }
        }
        try check(eventLoops >= 1, "eventLoops", "must be at least 1")
        try check(maxConnections >= 1, "maxConnections", "must be at least 1")
        try check(maxBodyBytes >= 0, "maxBodyBytes", "must not be negative")
        try check(headerTimeout > .zero, "headerTimeout", "must be more than 0")
        try check(bodyTimeout > .zero, "bodyTimeout", "must be more than 0")
        try check(idleTimeout > .zero, "idleTimeout", "must be more than 0")
        try check(writeTimeout > .zero, "writeTimeout", "must be more than 0")
        try check(shutdownGracePeriod >= .zero, "shutdownGracePeriod", "must not be negative")
    }
}
