import Foundation
internal import Glibc
internal import CEpoll

/// Something an event loop watches: a non-blocking descriptor's owner. Called on the loop thread only.
protocol EventLoopHandler: AnyObject {
    /// The descriptor is ready (`revents` from poll).
    func handleEvents(_ revents: Int16)
    /// Called about every `tick` with the monotonic time, to enforce deadlines.
    func tick(now: UInt64)
    /// The loop is shutting down: release the descriptor.
    func loopClosing()
}

/// One thread running an epoll loop (level-triggered, so handlers see poll()'s semantics)
/// over non-blocking descriptors, a queue of work from other
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
    /// The epoll instance: each wait costs what is ready, not what is registered (poll()
    /// looked at all 64+ sockets of a busy client or server on every wake-up).
    private let epollFD: Int32
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
        epollFD = try systemCall("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) }
        var wakeEvent = epoll_event()
        wakeEvent.events = EPOLLIN.rawValue
        wakeEvent.data.fd = wakeRead
        _ = try systemCall("epoll_ctl") { epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeRead, &wakeEvent) }
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
        let known = registrations[fd] != nil
        registrations[fd] = Registration(handler: handler, events: events)
        control(known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, events)
    }

    func setInterest(_ fd: Int32, events: Int16) {
        guard registrations[fd] != nil, registrations[fd]!.events != events else { return }
        registrations[fd]!.events = events
        control(EPOLL_CTL_MOD, fd, events)
    }

    func unregister(_ fd: Int32) {
        if registrations.removeValue(forKey: fd) != nil { control(EPOLL_CTL_DEL, fd, 0) }
    }

    /// poll() event bits are epoll's (POLLIN = EPOLLIN, …); errors and hang-ups are always reported.
    private func control(_ operation: Int32, _ fd: Int32, _ events: Int16) {
        var event = epoll_event()
        event.events = UInt32(UInt16(bitPattern: events))
        event.data.fd = fd
        if epoll_ctl(epollFD, operation, fd, &event) != 0 && operation == EPOLL_CTL_ADD && errno == EEXIST {
            _ = epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, &event)
        }
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
        let capacity = 256
        let ready = UnsafeMutablePointer<epoll_event>.allocate(capacity: capacity)
        defer { ready.deallocate() }
        while true {
            lock.lock()
            let hasWork = !queue.isEmpty
            let stopping = stopRequested
            lock.unlock()
            if stopping && !hasWork { break }
            let timeout = hasWork ? 0 : Int32(max(1, tickNanos / 1_000_000))
            let count = epoll_wait(epollFD, ready, Int32(capacity), timeout)
            if count > 0 {
                for i in 0..<Int(count) {
                    let fd = ready[i].data.fd
                    if fd == wakeRead {
                        drainWakePipe()
                    } else if let registration = registrations[fd] {
                        // looked up per event: an earlier handler may have closed this one
                        registration.handler.handleEvents(Int16(truncatingIfNeeded: ready[i].events))
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
        close(epollFD)
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
        while read(wakeRead, readBuffer.baseAddress, 256) > 0 {}
    }
}
