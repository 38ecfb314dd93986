import HTTP
import Support
/// Change notifications for the console's live updates, debounced.
///
/// Each notification on the listened channels calls `notified()`; the hub's generation
/// moves on at most once per `debounce` (notifications in between are folded into the next
/// move), and every request waiting in `wait(after:timeout:)` gets the new generation.
actor ConsoleEventHub {
    private(set) var generation = 0
    private let debounce: Duration
    private let clock = ContinuousClock()
    private var lastBump: ContinuousClock.Instant?
    private var bumpScheduled = false
    private var waiters: [Int: CheckedContinuation<Int?, Never>] = [:]
    private var nextWaiter = 0
    private var stopped = false

    init(debounce: Duration) {
        self.debounce = debounce
    }

    /// Something changed in the database.
    func notified() {
        guard !bumpScheduled, !stopped else { return }
        let now = clock.now
        if let lastBump, now - lastBump < debounce {
            bumpScheduled = true
            let delay = debounce - (now - lastBump)
            Task {
                try? await Task.sleep(for: delay)
                self.bump()
            }
        } else {
            bump()
        }
    }

    private func bump() {
        bumpScheduled = false
        guard !stopped else { return }
        generation += 1
        lastBump = clock.now
        let waiting = waiters
        waiters.removeAll()
        for (_, continuation) in waiting { continuation.resume(returning: generation) }
    }

    /// The generation once it is past `seen`, or nil after `timeout` (or once stopped).
    func wait(after seen: Int, timeout: Duration) async -> Int? {
        if generation > seen { return generation }
        if stopped { return nil }
        let id = nextWaiter
        nextWaiter += 1
        return await withCheckedContinuation { continuation in
            waiters[id] = continuation
            Task {
                try? await Task.sleep(for: timeout)
                self.expire(id)
            }
        }
    }

    private func expire(_ id: Int) {
        waiters.removeValue(forKey: id)?.resume(returning: nil)
    }

    /// Answers every waiting request at once (the server is stopping); later waits return nil.
    func stop() {
        stopped = true
        let waiting = waiters
        waiters.removeAll()
        for (_, continuation) in waiting { continuation.resume(returning: nil) }
    }
}
