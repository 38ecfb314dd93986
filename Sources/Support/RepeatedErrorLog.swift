/// Logs a failure that can repeat on every pass of a loop (a database outage seen by the
/// poller each second) at most once per `interval`, counting the ones it left out:
///
///     status poll pass failed: connection refused
///     status poll pass failed: connection refused (and 59 more since the last line)
///
/// The message must be safe to log: an error's `description` (never bound values, phone
/// numbers or secrets).
public final class RepeatedErrorLog: Sendable {
    private struct State {
        var lastLogged: ContinuousClock.Instant?
        var suppressed = 0
    }

    private let logger: Logger
    private let interval: Duration
    private let state = LockedValue(State())

    public init(logger: Logger, interval: Duration = .seconds(60)) {
        self.logger = logger
        self.interval = interval
    }

    public func error(_ message: String, now: ContinuousClock.Instant = .now) {
        let suppressed = state.withLock { s -> Int? in
            if let last = s.lastLogged, now - last < interval {
                s.suppressed += 1
                return nil
            }
            defer { s.suppressed = 0 }
            s.lastLogged = now
            return s.suppressed
        }
        guard let suppressed else { return }
        logger.error(message + (suppressed > 0 ? " (and \(suppressed) more since the last line)" : ""))
    }
}
