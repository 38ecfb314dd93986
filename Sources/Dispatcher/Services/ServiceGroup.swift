import Dispatch
import Foundation
public import Support

/// Runs services together as child tasks of one task group, with a two-step shutdown:
/// `shutdown` triggered (SIGTERM/SIGINT, `--until-idle`, or a service that failed) asks every
/// service to finish its work; whatever is still running `gracePeriod` later is cancelled.
/// A service that throws triggers the shutdown of the others; the first error is rethrown
/// once all have ended.
public struct ServiceGroup: Sendable {
    public var services: [any Service]
    public var shutdown: Shutdown
    public var gracePeriod: Duration
    public var logger: Logger

    public init(services: [any Service], shutdown: Shutdown, gracePeriod: Duration = .seconds(30), logger: Logger) {
        self.services = services
        self.shutdown = shutdown
        self.gracePeriod = gracePeriod
        self.logger = logger
    }

    public func run() async throws {
        var firstError: (any Error)?
        await withTaskGroup(of: (String, (any Error)?)?.self) { group in
            for service in services {
                group.addTask {
                    do {
                        try await service.run()
                        return (service.name, nil)
                    } catch {
                        return (service.name, error)
                    }
                }
            }
            // The watchdog: hard stop once the grace period after the shutdown request ran out.
            group.addTask { [shutdown, gracePeriod] in
                await shutdown.wait()
                try? await Task.sleep(for: gracePeriod)
                return nil
            }
            var running = services.count
            while running > 0, let result = await group.next() {
                guard let (name, error) = result else {
                    if !Task.isCancelled { logger.warning("grace period over; cancelling \(running) service(s)") }
                    group.cancelAll()
                    continue
                }
                running -= 1
                if let error {
                    logger.error("service \(name) failed: \(error)")
                    if firstError == nil { firstError = error }
                    shutdown.trigger(reason: "service \(name) failed")
                } else {
                    logger.debug("service \(name) finished")
                }
            }
            group.cancelAll()
        }
        if let firstError { throw firstError }
    }
}

/// SIGTERM and SIGINT through `DispatchSource` (not a C handler): the first triggers the
/// graceful shutdown. Keep the returned object alive while the services run.
public final class TerminationSignals: Sendable {
    private let sources: LockedValue<[any DispatchSourceSignal]>

    public init(shutdown: Shutdown, logger: Logger) {
        let queue = DispatchQueue(label: "dispatcher.signals")
        var list: [any DispatchSourceSignal] = []
        for (number, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler {
                logger.notice("\(name): stopping — no new claims, finishing sends in flight")
                shutdown.trigger(reason: name)
            }
            source.resume()
            list.append(source)
        }
        sources = LockedValue(list)
    }

    /// Restores default signal handling.
    public func cancel() {
        sources.withLock { list in
            for s in list { s.cancel() }
            list.removeAll()
        }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
