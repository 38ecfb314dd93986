import Foundation

/// Posts status callbacks: one task per message, its events in plan order at their times.
final class SandboxCallbacks: Sendable {
    private let http: HTTPClient
    private let store: SandboxStore
    private let tasks = LockedValue([Int: Task<Void, Never>]())
    private let nextID = LockedValue(0)
    /// Failed callbacks are logged (the first `maxFailuresLogged`), so a run that lost some says why.
    private let failuresLogged = LockedValue(0)
    private static let maxFailuresLogged = 20
    private let logger: Logger

    init(http: HTTPClient, store: SandboxStore, logger: Logger) {
        self.http = http
        self.store = store
        self.logger = logger
    }

    func schedule(_ events: [SandboxCallbackEvent], acceptedAt: ContinuousClock.Instant) {
        guard !events.isEmpty else { return }
        let id = nextID.withLock { $0 += 1; return $0 }
        let (http, store) = (http, store)
        let task = Task {
            for event in events {
                let due = acceptedAt + .milliseconds(Int64(event.at * 1000))
                if due > .now { try? await Task.sleep(until: due, clock: .continuous) }
                if Task.isCancelled { break }
                let failure = await Self.post(event, http: http)
                if let failure { self.logFailure(failure, event: event) }
                await store.noteCallback(delivered: failure == nil)
            }
            _ = self.tasks.withLock { $0.removeValue(forKey: id) }
        }
        tasks.withLock { $0[id] = task }
    }

    /// Cancels pending callbacks (on stop).
    func cancelAll() {
        let pending = tasks.withLock { t in defer { t.removeAll() }; return Array(t.values) }
        for task in pending { task.cancel() }
    }

    private func logFailure(_ reason: String, event: SandboxCallbackEvent) {
        let n = failuresLogged.withLock { $0 += 1; return $0 }
        guard n <= Self.maxFailuresLogged else { return }
        // the host only: the path holds the message's callback token
        let host = URL(string: event.url).map { "\($0.host ?? "?"):\($0.port.map(String.init) ?? "")" } ?? "?"
        logger.warning("callback to \(host) failed: \(reason)" + (n == Self.maxFailuresLogged ? " (no more failures logged)" : ""))
    }

    /// Posts one callback; nil when the receiver answered 2xx, else why not.
    private static func post(_ event: SandboxCallbackEvent, http: HTTPClient) async -> String? {
        let encoded = FormEncoding.encode(event.form)
        let request: HTTPClientRequest
        if event.method.uppercased() == "GET" {
            let separator = event.url.contains("?") ? "&" : "?"
            guard let url = URL(string: event.url + separator + encoded) else { return "invalid callback URL" }
            request = HTTPClientRequest(method: "GET", url: url, timeout: .seconds(5))
        } else {
            guard let url = URL(string: event.url) else { return "invalid callback URL" }
            var r = HTTPClientRequest(method: "POST", url: url, timeout: .seconds(5))
            r.setForm(event.form)
            request = r
        }
        do {
            let response = try await http.execute(request)
            return (200..<300).contains(response.status) ? nil : "HTTP \(response.status)"
        } catch {
            // (an invalid request's reason names the URL, and with it the token)
            if case .invalidRequest = error { return "invalid request" }
            return "\(error)"
        }
    }
}
