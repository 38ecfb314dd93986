import Foundation

/// A dedicated OS thread that runs submitted work items one at a time, in order.
///
/// libpq calls block; Swift's cooperative pool has one thread per core (two here),
/// so every blocking call of a connection runs on that connection's own worker thread
/// and the awaiting task is resumed through a continuation.
final class ThreadWorker: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [() -> Void] = []
    private var head = 0
    private var stopping = false

    init(name: String) {
        let thread = Thread { [self] in loop() }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Runs `work` on the worker thread and returns its result to the caller.
    func run<T>(_ work: @escaping @Sendable () throws -> sending T) async throws -> sending T {
        try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<T, any Error>) in
            enqueue {
                do { continuation.resume(returning: try work()) } catch { continuation.resume(throwing: error) }
            }
        }
    }

    /// Queues `work` without waiting for it.
    func enqueue(_ work: @escaping () -> Void) {
        condition.lock()
        if stopping {
            condition.unlock()
            work()  // the thread is gone or going; run inline so no continuation is leaked
            return
        }
        queue.append(work)
        condition.signal()
        condition.unlock()
    }

    /// Lets the thread finish what is queued, then exit.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while head == queue.count && !stopping { condition.wait() }
            if head == queue.count {
                condition.unlock()
                return
            }
            let work = queue[head]
            head += 1
            if head > 64 && head * 2 > queue.count {
                queue.removeFirst(head)
                head = 0
            }
            condition.unlock()
            work()
        }
    }
}
