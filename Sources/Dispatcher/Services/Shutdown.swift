import Support

/// A graceful-shutdown request shared by the services of one worker: once triggered, the
/// producer stops claiming and the others drain. Handlers run once, on the first trigger.
public final class Shutdown: Sendable {
    private struct State {
        var triggered = false
        var reason: String?
        var handlers: [@Sendable () -> Void] = []
    }

    private let state = LockedValue(State())

    public init() {}

    public var isTriggered: Bool { state.withLock { $0.triggered } }
    public var reason: String? { state.withLock { $0.reason } }

    /// Requests the shutdown (idempotent).
    public func trigger(reason: String) {
        let handlers = state.withLock { s -> [@Sendable () -> Void] in
            if s.triggered { return [] }
            s.triggered = true
            s.reason = reason
            defer { s.handlers = [] }
            return s.handlers
        }
        for h in handlers { h() }
    }

    /// Runs `handler` on trigger (now, if already triggered).
    public func onTrigger(_ handler: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { s -> Bool in
            if s.triggered { return true }
            s.handlers.append(handler)
            return false
        }
        if runNow { handler() }
    }

    /// Suspends until triggered (or cancelled).
    public func wait() async {
        let signal = WakeSignal()
        onTrigger { signal.notify() }
        // returns on the notification (remembered if it came first) or on cancellation
        await signal.wait()
    }

    /// Sleeps for `duration` or until triggered, whichever comes first.
    public func sleep(for duration: Duration) async {
        let signal = WakeSignal()
        onTrigger { signal.notify() }
        if isTriggered { return }
        await signal.wait(timeout: duration)
    }
}
