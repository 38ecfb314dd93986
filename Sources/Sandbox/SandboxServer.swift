public import Foundation
public import HTTP

/// A local SMS provider speaking both providers' APIs on one port, as their documentation shows them
/// (the examples are pinned in `Tests/DispatcherTests/Fixtures/seeds`):
/// Plum under `/ws/sms/…`, Restcomm under `/restcomm/2012-04-24/…` (also `/api/2012-04-24/…`),
/// plus `/sandbox/stats`, `/sandbox/messages`, `/sandbox/knobs`, `/sandbox/reset`, `/sandbox/ping`.
/// Test numbers: `SandboxTestNumbers`; knobs: `SandboxKnobs`.
///
///     let sandbox = SandboxServer(configuration: SandboxConfiguration(knobs: .perfect))
///     let port = try sandbox.start()
///     ...
///     await sandbox.stop()
public final class SandboxServer: Sendable {
    public let configuration: SandboxConfiguration
    public let store: SandboxStore
    private let http: HTTPClient
    private let callbacks: SandboxCallbacks
    private let server: HTTPServer

    public init(configuration: SandboxConfiguration) {
        self.configuration = configuration
        store = SandboxStore(knobs: configuration.knobs)
        http = HTTPClient()
        callbacks = SandboxCallbacks(http: http, store: store, logger: configuration.logger)
        var serverConfiguration = configuration.server
        serverConfiguration.host = configuration.host
        serverConfiguration.port = configuration.port
        let api = SandboxAPI(configuration: configuration, store: store, callbacks: callbacks)
        server = HTTPServer(configuration: serverConfiguration, router: api.router())
    }

    /// Starts serving; returns the bound port.
    @discardableResult
    public func start() throws(SystemError) -> Int {
        try server.start()
    }

    /// `http://HOST:PORT` while running.
    public var baseURL: URL? {
        server.port.flatMap { URL(string: "http://\(configuration.host):\($0)") }
    }

    public func stats() async -> SandboxStats { await store.stats() }

    public func setKnobs(_ knobs: SandboxKnobs) async { await store.setKnobs(knobs) }

    /// Stops serving (gracefully), cancels pending callbacks, closes the callback client.
    public func stop() async {
        await server.stop()
        callbacks.cancelAll()
        await http.shutdown()
    }
}
