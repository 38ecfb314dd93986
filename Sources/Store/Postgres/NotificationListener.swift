import CLibPQ
import Foundation
import Glibc
import Support

/// One `NOTIFY` received.
public struct PostgresNotification: Sendable, Equatable {
    public var channel: String
    public var payload: String
    /// The server process that sent it.
    public var senderPID: Int32
}

/// A dedicated connection that `LISTEN`s on channels and delivers notifications as an
/// async sequence. It waits on the socket with `poll(2)` on its own thread, and when the
/// connection drops it reconnects and listens again (notifications sent while it was
/// away are lost, as with any LISTEN: consumers keep a polling fallback).
public final class NotificationListener: @unchecked Sendable {
    /// Notifications in arrival order; finishes after `stop()`.
    public let notifications: AsyncStream<PostgresNotification>
    private let continuation: AsyncStream<PostgresNotification>.Continuation
    private let conninfo: String
    private let channels: [String]
    private let state = LockedValue((stopping: false, reconnects: 0))

    private init(conninfo: String, channels: [String]) {
        self.conninfo = conninfo
        self.channels = channels
        (notifications, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(10_000))
    }

    /// Connects, listens on `channels` (identifiers: letters, digits, `_`), and starts
    /// delivering. Throws when the first connection or LISTEN fails.
    public static func start(conninfo: String, channels: [String]) async throws -> NotificationListener {
        for channel in channels where channel.isEmpty || !channel.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) {
            throw PostgresError(.usage, "invalid channel name '\(channel)'")
        }
        let listener = NotificationListener(conninfo: conninfo, channels: channels)
        let first = try await listener.connectAndListen()
        let handle = UnsafeSendablePointer(first)
        let thread = Thread { listener.loop(handle.pointer) }
        thread.name = "pg-listen"
        thread.start()
        return listener
    }

    /// How many times the connection was re-established.
    public var reconnectCount: Int { state.current.reconnects }

    /// Stops listening; the thread closes its connection within a fraction of a second.
    public func stop() {
        state.withLock { $0.stopping = true }
    }

    private var isStopping: Bool { state.current.stopping }

    private func connectAndListen() async throws -> OpaquePointer {
        let connection = try await Connection.connect(conninfo, applicationName: "dispatcher-listen")
        for channel in channels {
            try await connection.execute(SQL(unsafeRaw: "LISTEN \(quoteIdentifier(channel))"))
        }
        return try await connection.detachHandle()
    }

    private func loop(_ initial: OpaquePointer) {
        var pg: OpaquePointer? = initial
        var backoff = 0.2
        while !isStopping {
            guard let conn = pg else {
                Thread.sleep(forTimeInterval: backoff)
                backoff = min(backoff * 2, 5)
                pg = reconnectBlocking()
                if pg != nil {
                    backoff = 0.2
                    state.withLock { $0.reconnects += 1 }
                }
                continue
            }
            var fds = pollfd(fd: PQsocket(conn), events: Int16(POLLIN), revents: 0)
            let ready = poll(&fds, 1, 200)
            if ready < 0 && errno == EINTR { continue }
            if ready > 0 {
                if PQconsumeInput(conn) == 0 || PQstatus(conn) == CONNECTION_BAD {
                    PQfinish(conn)
                    pg = nil
                    continue
                }
                while let n = PQnotifies(conn) {
                    continuation.yield(PostgresNotification(
                        channel: String(cString: n.pointee.relname),
                        payload: String(cString: n.pointee.extra),
                        senderPID: n.pointee.be_pid))
                    PQfreemem(n)
                }
            }
        }
        if let pg { PQfinish(pg) }
        continuation.finish()
    }

    /// Reconnects from the listener thread itself (blocking is fine here: it is our thread).
    private func reconnectBlocking() -> OpaquePointer? {
        guard let pg = PQconnectdb(conninfo) else { return nil }
        guard PQstatus(pg) == CONNECTION_OK else {
            PQfinish(pg)
            return nil
        }
        for channel in channels {
            guard let r = PQexec(pg, "LISTEN \(quoteIdentifier(channel))") else { PQfinish(pg); return nil }
            let ok = PQresultStatus(r) == PGRES_COMMAND_OK
            PQclear(r)
            if !ok { PQfinish(pg); return nil }
        }
        return pg
    }
}

extension Connection {
    /// Hands the libpq handle to the caller, who then owns it; the connection is closed.
    func detachHandle() async throws -> OpaquePointer {
        try await worker.run { () -> UnsafeSendablePointer in
            let handle = try self.withPG { UnsafeSendablePointer($0) }
            self.forgetHandle()
            return handle
        }.pointer
    }
}
