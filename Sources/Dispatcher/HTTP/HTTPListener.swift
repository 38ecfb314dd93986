internal import Glibc

/// The listening socket: accepts on its loop and hands connections round-robin to the loops.
final class HTTPListener: EventLoopHandler {
    private var fd: Int32
    private let home: HTTPServerLoop
    private let context: HTTPServerContext
    private var nextLoop = 0

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
                // ECONNABORTED: try the next one; EMFILE/ENFILE and others: wait for the next event.
                if error.errno == ECONNABORTED { continue }
                return
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

    func tick(now: UInt64) {}

    func stop() {
        guard fd >= 0 else { return }
        home.loop.unregister(fd)
        Glibc.close(fd)
        fd = -1
    }

    func loopClosing() { stop() }
}
