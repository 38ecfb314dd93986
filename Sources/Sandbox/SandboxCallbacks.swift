import Foundation
import Support
import HTTP

/// Posts status callbacks like a provider's webhook dispatcher: each message's events in plan
/// order at their times, at most `maxInFlight` requests at once (the rest wait their turn).
///
/// One scheduler task sleeps until the earliest due event (events due within `slack` of it go
/// with it) instead of a task and a timer per message; and the cap keeps a burst of callbacks
/// from opening a connection per callback — unbounded, they piled up past the receiver's
/// connection limit (its 503s are lost callbacks: providers do not retry them).
final class SandboxCallbacks: Sendable {
    static let maxInFlight = 64
    private static let slack: Duration = .milliseconds(1)

    /// A message's events still to post, the first of them due at `due`.
    private struct Chain {
        var due: ContinuousClock.Instant
        var order: Int
        var acceptedAt: ContinuousClock.Instant
        var events: ArraySlice<SandboxCallbackEvent>
    }

    private struct State {
        /// Binary min-heap by (due, order).
        var heap: [Chain] = []
        var nextOrder = 0
        var inFlight = 0
        var stopped = false
        var scheduler: Task<Void, Never>?
    }

    private let http: HTTPClient
    private let store: SandboxStore
    private let state = LockedValue(State())
    private let wake = WakeSignal()
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
        guard let first = events.first else { return }
        let start = state.withLock { s -> Bool in
            guard !s.stopped else { return false }
            s.nextOrder += 1
            Self.push(Chain(due: acceptedAt + .seconds(first.at), order: s.nextOrder, acceptedAt: acceptedAt, events: events[...]),
                      into: &s.heap)
            if s.scheduler == nil {
                s.scheduler = Task { [self] in await self.run() }
                return false
            }
            return true
        }
        if start { wake.notify() }
    }

    /// Cancels pending callbacks (on stop); requests in flight end with the HTTP client.
    func cancelAll() {
        let scheduler = state.withLock { s -> Task<Void, Never>? in
            s.stopped = true
            s.heap.removeAll()
            return s.scheduler
        }
        scheduler?.cancel()
        wake.notify()
    }

    private func run() async {
        while !Task.isCancelled {
            let now = ContinuousClock.now
            let (due, next) = state.withLock { s -> ([Chain], ContinuousClock.Instant?) in
                var due: [Chain] = []
                while s.inFlight < Self.maxInFlight, let top = s.heap.first, top.due <= now + Self.slack {
                    due.append(Self.pop(from: &s.heap))
                    s.inFlight += 1
                }
                // nothing more to do until a post ends (all slots busy) or the next event is due
                return (due, s.inFlight < Self.maxInFlight ? s.heap.first?.due : nil)
            }
            for chain in due {
                Task { [self] in await self.post(chain) }
            }
            if due.isEmpty {
                if let next { await wake.wait(timeout: next - now) } else { await wake.wait() }
            }
        }
    }

    private func post(_ chain: Chain) async {
        let event = chain.events.first!
        let failure = await Self.post(event, http: http)
        if let failure { logFailure(failure, event: event) }
        await store.noteCallback(delivered: failure == nil)
        state.withLock { s in
            s.inFlight -= 1
            let rest = chain.events.dropFirst()
            if !s.stopped, let next = rest.first {
                s.nextOrder += 1
                let due = max(ContinuousClock.now, chain.acceptedAt + .seconds(next.at))
                Self.push(Chain(due: due, order: s.nextOrder, acceptedAt: chain.acceptedAt, events: rest), into: &s.heap)
            }
        }
        wake.notify()
    }

    // MARK: The heap

    private static func before(_ a: Chain, _ b: Chain) -> Bool { (a.due, a.order) < (b.due, b.order) }

    private static func push(_ chain: Chain, into heap: inout [Chain]) {
        heap.append(chain)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard before(heap[i], heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    private static func pop(from heap: inout [Chain]) -> Chain {
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var smallest = i
            if l < heap.count && before(heap[l], heap[smallest]) { smallest = l }
            if r < heap.count && before(heap[r], heap[smallest]) { smallest = r }
            if smallest == i { break }
            heap.swapAt(i, smallest)
            i = smallest
        }
        return top
    }

    // MARK: Posting

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
