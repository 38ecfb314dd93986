import Foundation
internal import Glibc

/// Something an event loop watches: a non-blocking descriptor's owner. Called on the loop thread only.
protocol EventLoopHandler: AnyObject {
    /// The descriptor is ready (`revents` from poll).
    func handleEvents(_ revents: Int16)
    /// Called about every `tick` with the monotonic time, to enforce deadlines.
    func tick(now: UInt64)
    /// The loop is shutting down: release the descriptor.
    func loopClosing()
}

/// One thread running a poll() loop over non-blocking descriptors, a queue of work from other
/// threads (woken through a pipe), and a `TaskExecutor` so HTTP handler tasks run here without
/// hopping threads. Blocking calls never happen on Swift's cooperative pool: they are here.
///
/// Everything registered with the loop is touched only on its thread; other threads talk to it
/// through `execute(_:)`.
final class EventLoop: TaskExecutor, @unchecked Sendable {
    private enum Work {
        case closure(@Sendable () -> Void)
        case job(UnownedJob)
    }

    private struct Registration {
        var handler: any EventLoopHandler
        var events: Int16
    }

    let name: String
    private let tickNanos: UInt64
    private let wakeRead: Int32
    private let wakeWrite: Int32

    // Shared with other threads, under `lock`.
    private let lock = NSLock()
    private var queue: [Work] = []
    private var wakePending = false
    private var stopRequested = false
    private var stopped = false
    private var exitWaiters: [CheckedContinuation<Void, Never>] = []

    // Loop thread only.
    private var registrations: [Int32: Registration] = [:]
    private var pollSet: [pollfd] = []
    private var pollSetDirty = true
    private var loopThread: pthread_t?
    /// A scratch buffer for reads, reused by every handler on this loop.
    let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)

    init(name: String, tick: Duration = .milliseconds(50)) throws(SystemError) {
        self.name = name
        self.tickNanos = max(tick.nanoseconds, 1_000_000)
        var fds: [Int32] = [0, 0]
        _ = try systemCall("pipe") { pipe(&fds) }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        try Socket.setNonBlocking(wakeRead)
        try Socket.setNonBlocking(wakeWrite)
        let started = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            loopThread = pthread_self()
            started.signal()
            run()
        }
        thread.name = name
        thread.start()
        started.wait()
    }

    deinit {
        readBuffer.deallocate()
    }

    /// True on this loop's thread.
    var inEventLoop: Bool {
        guard let loopThread else { return false }
        return pthread_equal(pthread_self(), loopThread) != 0
    }

    /// Runs `work` on the loop thread (soon, in order). Dropped once the loop has stopped.
    func execute(_ work: @escaping @Sendable () -> Void) {
        submit(.closure(work))
    }

    func enqueue(_ job: consuming ExecutorJob) {
        lock.lock()
        if stopped {
            lock.unlock()
            // The loop is gone; jobs that still prefer it run on the global executor.
            globalConcurrentExecutor.enqueue(job)
            return
        }
        queue.append(.job(UnownedJob(job)))
        let wake = !wakePending && !inEventLoop
        if wake { wakePending = true }
        lock.unlock()
        if wake { signalWake() }
    }

    private func submit(_ work: Work) {
        lock.lock()
        if stopped { lock.unlock(); return }
        queue.append(work)
        let wake = !wakePending && !inEventLoop
        if wake { wakePending = true }
        lock.unlock()
        if wake { signalWake() }
    }

    private func signalWake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    // MARK: Registration (loop thread only)

    func register(_ fd: Int32, events: Int16, handler: any EventLoopHandler) {
        precondition(inEventLoop)
        registrations[fd] = Registration(handler: handler, events: events)
        pollSetDirty = true
    }

    func setInterest(_ fd: Int32, events: Int16) {
        guard registrations[fd] != nil, registrations[fd]!.events != events else { return }
        registrations[fd]!.events = events
        pollSetDirty = true
    }

    func unregister(_ fd: Int32) {
        if registrations.removeValue(forKey: fd) != nil { pollSetDirty = true }
    }

    // MARK: Shutdown

    /// Asks the loop to stop without waiting (for `deinit`s of owners).
    func requestStop() {
        lock.lock()
        let already = stopRequested || stopped
        stopRequested = true
        lock.unlock()
        if !already { signalWake() }
    }

    /// Stops the loop after the work already queued; registered handlers get `loopClosing()`.
    func shutdown() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            lock.lock()
            if stopped {
                lock.unlock()
                continuation.resume()
                return
            }
            exitWaiters.append(continuation)
            stopRequested = true
            lock.unlock()
            signalWake()
        }
    }

    // MARK: The loop

    private func run() {
        var nextTick = monotonicNanos() &+ tickNanos
        while true {
            if pollSetDirty { rebuildPollSet() }
            lock.lock()
            let hasWork = !queue.isEmpty
            let stopping = stopRequested
            lock.unlock()
            if stopping && !hasWork { break }
            let timeout = hasWork ? 0 : Int32(max(1, tickNanos / 1_000_000))
            let count = pollSet.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), timeout) }
            if count > 0 {
                // Copy: handlers may change the poll set while we walk it.
                let ready = pollSet
                for entry in ready where entry.revents != 0 {
                    if entry.fd == wakeRead {
                        drainWakePipe()
                    } else if let registration = registrations[entry.fd] {
                        registration.handler.handleEvents(entry.revents)
                    }
                }
            }
            runQueuedWork()
            let now = monotonicNanos()
            if now >= nextTick {
                for registration in Array(registrations.values) { registration.handler.tick(now: now) }
                nextTick = now &+ tickNanos
            }
        }
        for registration in Array(registrations.values) { registration.handler.loopClosing() }
        registrations.removeAll()
        lock.lock()
        stopped = true
        let leftover = queue
        queue.removeAll()
        let waiters = exitWaiters
        exitWaiters.removeAll()
        lock.unlock()
        for work in leftover {
            if case .job(let job) = work { job.runSynchronously(on: asUnownedTaskExecutor()) }
        }
        close(wakeRead)
        close(wakeWrite)
        for waiter in waiters { waiter.resume() }
    }

    private func runQueuedWork() {
        lock.lock()
        let work = queue
        queue.removeAll(keepingCapacity: true)
        wakePending = false
        lock.unlock()
        for item in work {
            switch item {
            case .closure(let body): body()
            case .job(let job): job.runSynchronously(on: asUnownedTaskExecutor())
            }
        }
    }

    private func drainWakePipe() {
        var bytes = [UInt8](repeating: 0, count: 256)
        while read(wakeRead, &bytes, bytes.count) > 0 {}
    }

    private func rebuildPollSet() {
        pollSet.removeAll(keepingCapacity: true)
        pollSet.append(pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0))
        for (fd, registration) in registrations {
            pollSet.append(pollfd(fd: fd, events: registration.events, revents: 0))
        }
        pollSetDirty = false
    }
}
