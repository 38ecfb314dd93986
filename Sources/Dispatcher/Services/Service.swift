/// A long-running part of the worker. `run` returns when the service has finished its work
/// after a graceful shutdown was requested (through the `Shutdown` it was built with), and
/// stops promptly when its task is cancelled.
public protocol Service: Sendable {
    var name: String { get }
    func run() async throws
}
