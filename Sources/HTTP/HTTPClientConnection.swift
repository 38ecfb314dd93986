internal import Glibc

/// One client socket on the client's event loop: connects, writes one request at a time, parses
/// the answer, and goes back to the pool when the answer allows keep-alive. Loop thread only.
final class HTTPClientConnection: EventLoopHandler {
    typealias Completion = (Result<HTTPClientResponse, HTTPClientError>, _ reusable: Bool) -> Void

    private enum State {
        case connecting
        case idle
        case exchanging
        case closed
    }

    let endpoint: String
    private let fd: Int32
    private let loop: EventLoop
    private let limits: HTTPClient.Configuration
    private var state: State
    private var interest: Int16 = 0
    private(set) var idleSince: UInt64 = 0
    /// Exchanges completed on this connection (0: fresh).
    private(set) var completedExchanges = 0

    private var output: [UInt8] = []
    private var outputOffset = 0
    private var parser = HTTPResponseParser(maxBodyBytes: 0, noBody: false)
    private var deadline: UInt64 = 0
    /// No first byte after this (monotonic ns; 0: no limit).
    private var writeBy: UInt64 = 0
    private var completion: Completion?

    init(endpoint: String, fd: Int32, connecting: Bool, loop: EventLoop, limits: HTTPClient.Configuration) {
        self.endpoint = endpoint
        self.fd = fd
        self.loop = loop
        self.limits = limits
        self.state = connecting ? .connecting : .idle
        loop.register(fd, events: 0, handler: self)
    }

    var isUsable: Bool { state == .idle }

    /// True once any byte of an answer to the current request came in.
    var receivedAnyAnswer: Bool { parser.receivedAnything }

    /// True when the server has closed (or reset) this idle connection, or sent something
    /// unasked: looked at without blocking just before the connection is reused, since the
    /// loop may not have seen the close yet.
    var peerHasClosed: Bool {
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        if n >= 0 { return true }  // 0: orderly close; > 0: bytes nobody asked for
        return errno != EAGAIN && errno != EWOULDBLOCK
    }

    /// Sends `request` and calls `completion` once, on the loop.
    func start(_ request: [UInt8], noBody: Bool, deadline: UInt64, writeBy: UInt64 = 0, completion: @escaping Completion) {
        output = request
        outputOffset = 0
        parser = HTTPResponseParser(maxBodyBytes: limits.maxResponseBodyBytes, noBody: noBody,
                                    maxHeaderCount: limits.maxResponseHeaderCount, maxInformational: limits.maxInformationalResponses)
        self.deadline = deadline
        self.writeBy = writeBy
        self.completion = completion
        if state == .connecting {
            setInterest(Int16(POLLOUT))
        } else {
            state = .exchanging
            write()
        }
    }

    func handleEvents(_ revents: Int16) {
        switch state {
        case .connecting:
            let error = Socket.pendingError(fd)
            if error != 0 {
                fail(.noConnection(SystemError(call: "connect", errno: error).description))
            } else {
                state = .exchanging
                write()
            }
        case .idle:
            // An idle keep-alive connection became readable: the server closed it (or sent junk).
            close()
        case .exchanging:
            if revents & Int16(POLLOUT) != 0 && outputOffset < output.count { write() }
            if state == .exchanging && revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 { read() }
        case .closed:
            break
        }
    }

    func tick(now: UInt64) {
        guard completion != nil, now >= deadline else { return }
        if state == .connecting {
            fail(.noConnection("connect timed out"))
        } else if outputOffset < output.count && !parser.receivedAnything {
            // Not fully written: the server never saw a whole request.
            fail(.noConnection("timed out before the request was fully written"))
        } else {
            fail(.timeoutAfterSend)
        }
    }

    /// The caller gave up (its task was cancelled): the exchange fails and the connection is
    /// closed, never reused — part of the request may be on the wire.
    func cancelExchange() {
        guard completion != nil else { return }
        if state == .connecting || (outputOffset == 0 && !parser.receivedAnything) {
            fail(.noConnection("cancelled before sending"))
        } else {
            fail(.connectionLostAfterSend("cancelled"))
        }
    }

    func loopClosing() {
        fail(.noConnection("client shut down"))
        close()
    }

    private func write() {
        // the last moment to refuse: not one byte has gone out yet
        if outputOffset == 0 && writeBy != 0 && monotonicNanos() >= writeBy {
            fail(.noConnection("the send-by time passed before the request was written"))
            return
        }
        while outputOffset < output.count {
            let result: IOResult<Int>
            do throws(SystemError) {
                result = try nonBlockingCall("send") {
                    output.withUnsafeBytes { send(fd, $0.baseAddress! + outputOffset, $0.count - outputOffset, Int32(MSG_NOSIGNAL)) }
                }
            } catch {
                // a request never fully written is one no server can have acted on
                fail(.noConnection(error.description))
                return
            }
            switch result {
            case .done(let n): outputOffset += n
            case .wouldBlock:
                setInterest(Int16(POLLOUT | POLLIN))
                return
            }
        }
        setInterest(Int16(POLLIN))
    }

    private func read() {
        let buffer = loop.readBuffer
        let result: IOResult<Int>
        do throws(SystemError) {
            result = try nonBlockingCall("recv") { recv(fd, buffer.baseAddress, buffer.count, 0) }
        } catch {
            // reset while the request was still going out: no server acted on a partial request
            let partial = outputOffset < output.count && !parser.receivedAnything
            fail(partial ? .noConnection(error.description) : .connectionLostAfterSend(error.description))
            return
        }
        guard case .done(let count) = result else { return }
        let event: HTTPResponseParser.Event
        if count == 0 {
            if !parser.receivedAnything {
                fail(.connectionLostAfterSend("connection closed before any answer"))
                return
            }
            event = parser.finishAtEOF()
        } else {
            parser.append(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            event = parser.next()
        }
        switch event {
        case .needMore:
            return
        case .failure(let why):
            fail(count == 0 ? .connectionLostAfterSend(why) : .invalidResponse(why))
        case .response(let response, let keepAlive):
            let completion = self.completion
            self.completion = nil
            completedExchanges += 1
            // Reused only when the whole request went out: an answer that came before the end
            // of the request (an early error) leaves the server expecting the rest of it, and
            // the next request on this connection would be read as that rest.
            let reusable = keepAlive && count > 0 && outputOffset == output.count
            if reusable {
                state = .idle
                idleSince = monotonicNanos()
                setInterest(Int16(POLLIN))
            } else {
                close()
            }
            completion?(.success(response), reusable)
        }
    }

    private func fail(_ error: HTTPClientError) {
        let completion = self.completion
        self.completion = nil
        close()
        completion?(.failure(error), false)
    }

    private func setInterest(_ events: Int16) {
        guard events != interest, state != .closed else { return }
        interest = events
        loop.setInterest(fd, events: events)
    }

    func close() {
        guard state != .closed else { return }
        state = .closed
        loop.unregister(fd)
        Glibc.close(fd)
    }
}
