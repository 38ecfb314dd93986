/// A long-running part of the worker, with a `Configuration` of its own (documented
/// defaults and units, `validate()` called when the worker starts). `run` returns when the
/// service has finished its work after it was asked to stop — through the `Shutdown` it was
/// built with, or by the cancellation of its task (`ServiceGroup.Stop`) — and stops
/// promptly when its task is cancelled.
public protocol Service: Sendable {
    var name: String { get }
    func run() async throws
}
