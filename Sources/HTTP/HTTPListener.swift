internal import Glibc

/// The listening socket: accepts on its loop and hands connections round-robin to the loops.
final class HTTPListener: EventLoopHandler {
    private var fd: Int32
    private let home: HTTPServerLoop
    private let context: HTTPServerContext
    private var nextLoop = 0
    /// Out of file descriptors: accepting is paused until this (monotonic ns), 0 when not.
    private var pausedUntil: UInt64 = 0
    /// The current pause; doubles while descriptors stay exhausted, reset by a good accept.
    private var pause: UInt64 = 0
    private static let firstPause: UInt64 = 10_000_000        // 10 ms
    private static let longestPause: UInt64 = 1_000_000_000   // 1 s

    init(fd: Int32, home: HTTPServerLoop, context: HTTPServerContext) {
        self.fd = fd
        self.home = home
        self.context = context
    }

    func handleEvents(_ revents: Int16) {
        for _ in 0..<64 {
            let accepted: Int32
            do {
                guard case .done(let client) = try nonBlockingCall("accept", { accept(fd, nil, nil) }) else { return }
                accepted = client
            } catch {
                // ECONNABORTED: try the next one. Out of descriptors (or memory): the pending
                // connection stays in the backlog and the socket stays readable, so waiting
                // for the next event would spin. Stop polling it for a while instead.
                if error.errno == ECONNABORTED || error.errno == EINTR { continue }
                if [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(error.errno) { pauseAccepting(error) }
                return
            }
            if pause != 0 {
                pause = 0
                context.configuration.logger.notice("http: accepting connections again")
            }
            do { try Socket.setNonBlocking(accepted) } catch { Glibc.close(accepted); continue }
            Socket.setNoDelay(accepted)
            if context.reserveConnection() {
                let target = context.loops[nextLoop % context.loops.count]
                nextLoop &+= 1
                if target === home {
                    HTTPServerConnection.open(fd: accepted, home: target, context: context)
                } else {
                    let context = context
                    target.loop.execute { HTTPServerConnection.open(fd: accepted, home: target, context: context) }
                }
            } else if context.reserveRejection() {
                HTTPServerConnection.open(fd: accepted, home: home, context: context, rejecting: true)
            } else {
                Glibc.close(accepted)
            }
        }
    }

    private func pauseAccepting(_ error: SystemError) {
        if pause == 0 {
            context.configuration.logger.warning("http: cannot accept connections (\(error)); pausing accept and retrying, up to every 1 s")
        }
        pause = pause == 0 ? Self.firstPause : min(pause * 2, Self.longestPause)
        pausedUntil = monotonicNanos() + pause
        home.loop.setInterest(fd, events: 0)
    }

    func tick(now: UInt64) {
        guard pausedUntil != 0, fd >= 0, now >= pausedUntil else { return }
        pausedUntil = 0
        home.loop.setInterest(fd, events: Int16(POLLIN))
    }

    func stop() {
        guard fd >= 0 else { return }
        home.loop.unregister(fd)
        Glibc.close(fd)
        fd = -1
    }

    func loopClosing() { stop() }
}
