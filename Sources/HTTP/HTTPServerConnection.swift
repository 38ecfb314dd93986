internal import Glibc

/// One accepted connection, owned by its loop thread: reads and parses requests, runs handlers as
/// tasks preferring the loop's executor, writes responses in request order, enforces timeouts.
final class HTTPServerConnection: EventLoopHandler, @unchecked Sendable {
    private let fd: Int32
    private let home: HTTPServerLoop
    private let context: HTTPServerContext
    private var loop: EventLoop { home.loop }
    private var parser: HTTPRequestParser

    private var output: [UInt8] = []
    private var outputOffset = 0
    /// Responses finished out of order, waiting for earlier ones.
    private var ready: [Int: (HTTPResponse, versionMinor: Int)] = [:]
    private var nextSequence = 0
    private var nextToSend = 0
    private var inFlight: Int { nextSequence - nextToSend }
    /// Whether to take more requests: not closing, few enough in flight, answers not piling up
    /// unread (a client that pipelines but never reads must not grow our buffers).
    private var acceptsRequests: Bool {
        !readingStopped && inFlight < context.configuration.maxPipelinedRequests && output.count - outputOffset < 256 * 1024
    }
    /// The last response to write before closing.
    private var closeAfterSequence: Int?
    private var closeWhenFlushed = false
    private var lingerWhenClosing = false
    private var readingStopped = false
    private var shuttingDown = false
    private var rejecting = false
    private(set) var isClosed = false
    private var interest = Int16(POLLIN)

    private var lastActivity: UInt64
    private var requestStart: UInt64?
    private var bodyStart: UInt64?
    private var writeStalledSince: UInt64?
    private var lingerUntil: UInt64?
    private var lingerBudget = 1 << 20

    private init(fd: Int32, home: HTTPServerLoop, context: HTTPServerContext) {
        self.fd = fd
        self.home = home
        self.context = context
        self.parser = HTTPRequestParser(limits: context.limits)
        self.lastActivity = monotonicNanos()
    }

    /// Creates and registers a connection on `home`'s loop (call on that loop).
    static func open(fd: Int32, home: HTTPServerLoop, context: HTTPServerContext, rejecting: Bool = false) {
        let connection = HTTPServerConnection(fd: fd, home: home, context: context)
        home.connections[ObjectIdentifier(connection)] = connection
        home.loop.register(fd, events: Int16(POLLIN), handler: connection)
        if rejecting {
            connection.reject()
        } else if context.stopping.current {
            connection.beginShutdown()
        }
    }

    // MARK: Events

    func handleEvents(_ revents: Int16) {
        if revents & Int16(POLLNVAL) != 0 { close(); return }
        if revents & Int16(POLLOUT) != 0 { flush() }
        if !isClosed && revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 { readInput() }
    }

    func tick(now: UInt64) {
        guard !isClosed else { return }
        if let until = lingerUntil {
            if now >= until { close() }
            return
        }
        if let since = writeStalledSince, now - since > context.timeouts.write { close(); return }
        guard inFlight == 0 && output.isEmpty && !readingStopped else { return }
        if parser.isReadingBody, let start = bodyStart {
            if now - start > context.timeouts.body { fail(408) }
        } else if let start = requestStart {
            // Bytes came in (if only empty lines): the head has until the header timeout.
            if now - start > context.timeouts.header { fail(408) }
        } else if now - lastActivity > context.timeouts.idle {
            close()
        }
    }

    func loopClosing() { close() }

    // MARK: Reading

    private func readInput() {
        let buffer = loop.readBuffer
        let result: IOResult<Int>
        do throws(SystemError) {
            result = try nonBlockingCall("recv") { recv(fd, buffer.baseAddress, buffer.count, 0) }
        } catch {
            close()
            return
        }
        guard case .done(let count) = result else { return }
        if lingerUntil != nil {
            lingerBudget -= count
            if count == 0 || lingerBudget <= 0 { close() }
            return
        }
        if count == 0 {
            peerClosed()
            return
        }
        if readingStopped { return }  // a final answer is queued; what follows is ignored
        // The header timeout runs from the first byte until a head is complete; later bytes
        // (empty lines, a head dribbled out) never restart it, nor the idle timeout.
        if requestStart == nil && !parser.isReadingBody { requestStart = monotonicNanos() }
        parser.append(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        processInput()
    }

    /// The client finished sending: answer what is in flight, then close.
    private func peerClosed() {
        readingStopped = true
        if inFlight == 0 && output.isEmpty {
            close()
        } else {
            closeAfterSequence = nextSequence - 1
            setInterest(reading: false)
        }
    }

    private func processInput() {
        while acceptsRequests {
            switch parser.next() {
            case .needMore:
                if parser.isReadingBody && bodyStart == nil { bodyStart = monotonicNanos() }
                setInterest(reading: true)
                return
            case .expectContinue:
                bodyStart = monotonicNanos()
                if inFlight == 0 && output.isEmpty {
                    output.append(contentsOf: Self.continueLine)
                    flush()
                }
            case .request(let request):
                requestStart = parser.hasPartialRequest ? monotonicNanos() : nil
                bodyStart = nil
                dispatch(request)
            case .failure(let status):
                fail(status)
                return
            }
        }
        // Too many pipelined requests in flight or unread answers: stop reading until answers go out.
        setInterest(reading: false)
    }

    private func dispatch(_ request: HTTPRequest) {
        let sequence = nextSequence
        nextSequence += 1
        if !request.keepAlive || shuttingDown || context.stopping.current {
            closeAfterSequence = sequence
            readingStopped = true
        }
        context.counters.withLock { $0.handlers += 1 }
        let router = context.router
        let minor = request.versionMinor
        Task(executorPreference: loop) {
            let response = await router.handle(request)
            self.finished(sequence, response, versionMinor: minor)
        }
    }

    private func finished(_ sequence: Int, _ response: HTTPResponse, versionMinor: Int) {
        guard loop.inEventLoop else {
            loop.execute { self.finished(sequence, response, versionMinor: versionMinor) }
            return
        }
        context.release { $0.handlers -= 1 }
        guard !isClosed else { return }
        if response.resetsConnection {
            // SO_LINGER with a zero timeout: close sends RST, discarding what is unsent.
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
            close()
            return
        }
        ready[sequence] = (response, versionMinor)
        writeReady()
    }

    /// Queues a final error answer after the ones in flight and stops reading.
    private func fail(_ status: Int) {
        let sequence = nextSequence
        nextSequence += 1
        closeAfterSequence = sequence
        readingStopped = true
        // For a refused body the client may still be sending: close gently so it sees the answer.
        lingerWhenClosing = status == 413 || status == 408
        ready[sequence] = (HTTPResponse.status(status), 1)
        writeReady()
    }

    /// Answers 503 to a connection over the limit, then closes it.
    private func reject() {
        rejecting = true
        readingStopped = true
        closeWhenFlushed = true
        lingerWhenClosing = true
        var response = HTTPResponse.status(503)
        response.headers.set("Retry-After", "1")
        serialize(response, versionMinor: 1, close: true)
        flush()
    }

    /// On server stop: close now if idle, else after the answers in flight.
    func beginShutdown() {
        shuttingDown = true
        guard !isClosed, lingerUntil == nil else { return }
        if inFlight == 0 && output.isEmpty && !parser.hasPartialRequest {
            close()
        } else if inFlight > 0 {
            closeAfterSequence = nextSequence - 1
            readingStopped = true
        }
    }

    // MARK: Writing

    private func writeReady() {
        while let (response, minor) = ready.removeValue(forKey: nextToSend) {
            let closing = closeAfterSequence == nextToSend
            serialize(response, versionMinor: minor, close: closing)
            if closing { closeWhenFlushed = true }
            nextToSend += 1
        }
        lastActivity = monotonicNanos()
        // A pipelined head that started while earlier requests were handled starts its clock now.
        if requestStart != nil { requestStart = lastActivity }
        flush()
    }

    private func serialize(_ response: HTTPResponse, versionMinor: Int, close: Bool) {
        output.append(contentsOf: HTTPStatus.statusLine(response.status))
        var hasLength = false
        for (name, value) in response.headers {
            if HTTPHeaders.equalsIgnoringCase(name, "Connection") { continue }
            if HTTPHeaders.equalsIgnoringCase(name, "Content-Length") {
                // Only a HEAD answer (empty body) may declare a length of its own.
                guard response.body.isEmpty else { continue }
                hasLength = true
            }
            output.append(contentsOf: name.utf8)
            output.append(contentsOf: Self.colon)
            output.append(contentsOf: value.utf8)
            output.append(contentsOf: Self.crlf)
        }
        if !hasLength {
            output.append(contentsOf: Self.contentLength)
            output.append(contentsOf: String(response.body.count).utf8)
            output.append(contentsOf: Self.crlf)
        }
        if close {
            output.append(contentsOf: Self.connectionClose)
        } else if versionMinor == 0 {
            output.append(contentsOf: Self.connectionKeepAlive)
        }
        output.append(contentsOf: Self.crlf)
        output.append(contentsOf: response.body)
    }

    private func flush() {
        while outputOffset < output.count {
            let result: IOResult<Int>
            do throws(SystemError) {
                result = try nonBlockingCall("send") {
                    output.withUnsafeBytes { send(fd, $0.baseAddress! + outputOffset, $0.count - outputOffset, Int32(MSG_NOSIGNAL)) }
                }
            } catch {
                close()
                return
            }
            switch result {
            case .done(let n):
                outputOffset += n
            case .wouldBlock:
                if writeStalledSince == nil { writeStalledSince = monotonicNanos() }
                setInterest(reading: acceptsRequests)
                return
            }
        }
        output.removeAll(keepingCapacity: output.capacity <= 64 * 1024)
        outputOffset = 0
        writeStalledSince = nil
        if closeWhenFlushed || (readingStopped && inFlight == 0) {
            if lingerWhenClosing { startLinger() } else { close() }
            return
        }
        if shuttingDown && inFlight == 0 && !parser.hasPartialRequest {
            close()
            return
        }
        if acceptsRequests && parser.hasPartialRequest {
            processInput()  // pipelined requests already buffered
        } else {
            setInterest(reading: !readingStopped)
        }
    }

    /// Half-closes and discards input for a while, so the peer reads our answer before any reset.
    private func startLinger() {
        shutdown(fd, Int32(SHUT_WR))
        lingerUntil = monotonicNanos() + (rejecting ? 500_000_000 : 1_000_000_000)
        setInterest(reading: true)
    }

    /// Poll for input when `reading` (or lingering), and for output whenever answers wait to be written.
    private func setInterest(reading: Bool) {
        var events: Int16 = 0
        if reading || lingerUntil != nil { events |= Int16(POLLIN) }
        if outputOffset < output.count { events |= Int16(POLLOUT) }
        guard events != interest, !isClosed else { return }
        interest = events
        loop.setInterest(fd, events: events)
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        loop.unregister(fd)
        Glibc.close(fd)
        home.connections.removeValue(forKey: ObjectIdentifier(self))
        let rejecting = rejecting
        context.release { c in
            if rejecting { c.rejecting -= 1 } else { c.open -= 1 }
        }
    }

    private static let continueLine = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
    private static let colon = Array(": ".utf8)
    private static let crlf = Array("\r\n".utf8)
    private static let contentLength = Array("Content-Length: ".utf8)
    private static let connectionClose = Array("Connection: close\r\n".utf8)
    private static let connectionKeepAlive = Array("Connection: keep-alive\r\n".utf8)
}
