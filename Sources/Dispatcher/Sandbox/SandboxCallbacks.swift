import Foundation

/// Posts status callbacks: one task per message, its events in plan order at their times.
final class SandboxCallbacks: Sendable {
    private let http: HTTPClient
    private let store: SandboxStore
    private let tasks = LockedValue([Int: Task<Void, Never>]())
    private let nextID = LockedValue(0)

    init(http: HTTPClient, store: SandboxStore) {
        self.http = http
        self.store = store
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
                let delivered = await Self.post(event, http: http)
                await store.noteCallback(delivered: delivered)
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

    private static func post(_ event: SandboxCallbackEvent, http: HTTPClient) async -> Bool {
        let encoded = FormEncoding.encode(event.form)
        let request: HTTPClientRequest
        if event.method.uppercased() == "GET" {
            let separator = event.url.contains("?") ? "&" : "?"
            guard let url = URL(string: event.url + separator + encoded) else { return false }
            request = HTTPClientRequest(method: "GET", url: url, timeout: .seconds(5))
        } else {
            guard let url = URL(string: event.url) else { return false }
            var r = HTTPClientRequest(method: "POST", url: url, timeout: .seconds(5))
            r.setForm(event.form)
            request = r
        }
        do {
            let response = try await http.execute(request)
            return (200..<300).contains(response.status)
        } catch {
            return false
        }
    }
}
