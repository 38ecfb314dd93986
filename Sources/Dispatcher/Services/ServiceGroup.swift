import Dispatch
import Foundation
public import Support

/// Runs services together as child tasks of one task group and stops them in stages, in the
/// reverse of the order they are listed (and started) in. Once `shutdown` is triggered
/// (SIGTERM/SIGINT, `--until-idle`, or a service that failed), the group takes the members
/// last to first: it asks one to stop — triggers its `Stop.signal`, or cancels its task for
/// `Stop.cancellation` — and waits for it to end before asking the next. A member that has
/// not ended `gracePeriod` after it was asked is cancelled (a cancelled service stops
/// promptly). A service that throws triggers the shutdown; the first error is rethrown once
/// all have ended.
public struct ServiceGroup: Sendable {
    /// How the group asks a member to stop.
    public enum Stop: Sendable {
        /// The service watches this request itself and finishes its work once it is
        /// triggered (the worker's own `Shutdown` for the services that stop on it at once).
        case signal(Shutdown)
        /// The service runs until its task is cancelled.
        case cancellation
    }

    public struct Member: Sendable {
        public var service: any Service
        public var stop: Stop
        public init(_ service: any Service, stop: Stop) {
            self.service = service
            self.stop = stop
        }
    }

    /// What the group did, for logs and tests.
    public enum Event: Sendable, Equatable {
        /// The group asked the service to stop (its turn came).
        case stopping(String)
        /// The service ended.
        case stopped(String)
    }

    /// In start order; stopped last to first.
    public var members: [Member]
    public var shutdown: Shutdown
    /// How long a member may take to stop once asked before it is cancelled.
    public var gracePeriod: Duration
    public var logger: Logger
    public var observer: @Sendable (Event) -> Void

    public init(members: [Member], shutdown: Shutdown, gracePeriod: Duration = .seconds(30), logger: Logger,
                observer: @escaping @Sendable (Event) -> Void = { _ in }) {
        self.members = members
        self.shutdown = shutdown
        self.gracePeriod = gracePeriod
        self.logger = logger
        self.observer = observer
    }

    /// One member's signals: `cancel` (the group wants its task cancelled) and `ended`.
    private struct Handle: Sendable {
        let member: Member
        let cancel = Shutdown()
        let ended = Shutdown()
    }

    public func run() async throws {
        let handles = members.map { Handle(member: $0) }
        var firstError: (any Error)?
        await withTaskGroup(of: (String, (any Error)?)?.self) { group in
            for handle in handles {
                group.addTask { [observer] in await Self.runMember(handle, observer: observer) }
            }
            // The stopper: once the shutdown is requested, stop the members last to first.
            group.addTask { [shutdown, gracePeriod, logger, observer] in
                await shutdown.wait()
                for handle in handles.reversed() {
                    let name = handle.member.service.name
                    if handle.ended.isTriggered { continue }
                    observer(.stopping(name))
                    switch handle.member.stop {
                    case .signal(let request): request.trigger(reason: shutdown.reason ?? "shutdown")
                    case .cancellation: handle.cancel.trigger(reason: "stop")
                    }
                    await handle.ended.sleep(for: gracePeriod)
                    if !handle.ended.isTriggered {
                        logger.warning("grace period over; cancelling \(name)")
                        handle.cancel.trigger(reason: "grace period over")
                        await handle.ended.wait()
                    }
                }
                return nil
            }
            var running = handles.count
            while running > 0, let result = await group.next() {
                guard let (name, error) = result else { continue }
                running -= 1
                if let error {
                    logger.error("service \(name) failed: \(error)")
                    if firstError == nil { firstError = error }
                    shutdown.trigger(reason: "service \(name) failed")
                } else {
                    logger.debug("service \(name) finished")
                }
            }
            // every member ended (the stopper may still wait for a shutdown that never came)
            group.cancelAll()
        }
        if let firstError { throw firstError }
    }

    /// Runs one member until it ends, cancelling it when its `cancel` is triggered.
    private static func runMember(_ handle: Handle, observer: @Sendable (Event) -> Void) async -> (String, (any Error)?)? {
        let service = handle.member.service
        var outcome: (any Error)?? = nil
        await withTaskGroup(of: (any Error)??.self) { inner in
            inner.addTask {
                do {
                    try await service.run()
                    return .some(nil)
                } catch {
                    return .some(error)
                }
            }
            inner.addTask {
                await handle.cancel.wait()
                return nil
            }
            while let result = await inner.next() {
                if let result {
                    outcome = result
                    inner.cancelAll()
                    break
                }
                inner.cancelAll()  // cancel requested: the service's task is cancelled; wait for it
            }
        }
        // before `ended`: the events come in the order the services ended
        observer(.stopped(service.name))
        handle.ended.trigger(reason: "ended")
        return (service.name, outcome ?? nil)
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
