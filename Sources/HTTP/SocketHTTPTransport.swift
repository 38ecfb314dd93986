import Foundation
internal import Glibc

/// HTTP/1.1 over plain sockets for `http://` URLs, with a keep-alive pool per host and port, on
/// one event-loop thread. No TLS: `https://` goes through URLSession (see `HTTPClient`).
final class SocketHTTPTransport: Sendable {
    private let loop: EventLoop
    private let pool: Pool
    private let configuration: HTTPClient.Configuration

    init(configuration: HTTPClient.Configuration) throws(SystemError) {
        self.configuration = configuration
        loop = try EventLoop(name: "http-client", tick: .milliseconds(10))
        pool = Pool()
    }

    func execute(_ request: HTTPClientRequest) async throws(HTTPClientError) -> HTTPClientResponse {
        guard let host = request.url.host, !host.isEmpty else { throw .invalidRequest("URL without host") }
        let port = request.url.port ?? 80
        let bytes = Self.serialize(request, host: host, port: port)
        let now = monotonicNanos()
        let deadline = now &+ request.timeout.nanoseconds
        // the send-by instant on the loop's clock (0: none)
        let writeBy: UInt64 = request.sendBy.map { by in
            let left = ContinuousClock.now.duration(to: by)
            return left <= .zero ? 1 : now &+ left.nanoseconds
        } ?? 0
        let noBody = request.method == "HEAD"
        let idempotent = Self.idempotentMethods.contains(request.method)
        let (loop, pool, configuration) = (self.loop, self.pool, self.configuration)
        let exchange = Exchange()
        let result: Result<HTTPClientResponse, HTTPClientError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                loop.execute {
                    pool.exchange(host: host, port: port, request: bytes, noBody: noBody, idempotent: idempotent, deadline: deadline, writeBy: writeBy,
                                  loop: loop, configuration: configuration, exchange: exchange) { continuation.resume(returning: $0) }
                }
            }
        } onCancel: {
            loop.execute { exchange.cancel() }
        }
        return try result.get()
    }

    func shutdown() async {
        await loop.shutdown()
    }

    deinit {
        // Dropped without shutdown(): still end the thread.
        loop.requestStop()
    }

    /// RFC 9110 §9.2.2: these may be sent again when a connection fails before any answer.
    static let idempotentMethods: Set<String> = ["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]

    static func serialize(_ request: HTTPClientRequest, host: String, port: Int) -> [UInt8] {
        var target = request.url.path(percentEncoded: true)
        if target.isEmpty { target = "/" }
        if let query = request.url.query(percentEncoded: true) { target += "?" + query }
        var head = "\(request.method) \(target) HTTP/1.1\r\n"
        if !request.headers.contains("Host") { head += port == 80 ? "Host: \(host)\r\n" : "Host: \(host):\(port)\r\n" }
        for (name, value) in request.headers where !HTTPHeaders.equalsIgnoringCase(name, "Content-Length") {
            head += "\(name): \(value)\r\n"
        }
        if !request.body.isEmpty || request.method == "POST" || request.method == "PUT" {
            head += "Content-Length: \(request.body.count)\r\n"
        }
        head += "\r\n"
        var bytes = Array(head.utf8)
        bytes.append(contentsOf: request.body)
        return bytes
    }

    /// One call's exchange: which connection carries it, and whether its task was cancelled.
    /// Loop thread only.
    final class Exchange: @unchecked Sendable {
        var connection: HTTPClientConnection?
        private(set) var cancelled = false

        func cancel() {
            cancelled = true
            connection?.cancelExchange()
        }
    }

    /// Idle connections by endpoint and resolved addresses. Loop thread only.
    private final class Pool: @unchecked Sendable {
        private var idle: [String: [HTTPClientConnection]] = [:]
        private var addresses: [String: sockaddr_in] = [:]

        func exchange(host: String, port: Int, request: [UInt8], noBody: Bool, idempotent: Bool, deadline: UInt64, writeBy: UInt64,
                      loop: EventLoop,
                      configuration: HTTPClient.Configuration, exchange: Exchange,
                      completion: @escaping (Result<HTTPClientResponse, HTTPClientError>) -> Void) {
            let endpoint = "\(host):\(port)"
            if exchange.cancelled {
                completion(.failure(.noConnection("cancelled before sending")))
                return
            }
            if let connection = checkout(endpoint, configuration: configuration) {
                exchange.connection = connection
                connection.start(request, noBody: noBody, deadline: deadline, writeBy: writeBy) { result, reusable in
                    exchange.connection = nil
                    // A reused connection that failed before a byte went out — or, for an idempotent
                    // request, before any answer came back (the server closed it as idle just as
                    // the request went out: the keep-alive race) — is retried once on a fresh one.
                    // A POST that may have reached the server is never sent twice here.
                    if case .failure(let error) = result, monotonicNanos() < deadline, !exchange.cancelled,
                       error.nothingWasSent || (idempotent && !connection.receivedAnyAnswer && error.isConnectionLost) {
                        self.exchangeFresh(endpoint: endpoint, host: host, port: port, request: request, noBody: noBody,
                                           deadline: deadline, writeBy: writeBy, loop: loop, configuration: configuration, exchange: exchange,
                                           completion: completion)
                        return
                    }
                    if reusable { self.checkin(connection, configuration: configuration) }
                    completion(result)
                }
                return
            }
            exchangeFresh(endpoint: endpoint, host: host, port: port, request: request, noBody: noBody,
                          deadline: deadline, writeBy: writeBy, loop: loop, configuration: configuration, exchange: exchange, completion: completion)
        }

        private func exchangeFresh(endpoint: String, host: String, port: Int, request: [UInt8], noBody: Bool,
                                   deadline: UInt64, writeBy: UInt64, loop: EventLoop, configuration: HTTPClient.Configuration, exchange: Exchange,
                                   completion: @escaping (Result<HTTPClientResponse, HTTPClientError>) -> Void) {
            guard let address = resolve(endpoint, host: host, port: port) else {
                completion(.failure(.noConnection("cannot resolve \(host)")))
                return
            }
            let connection: HTTPClientConnection
            do {
                let (fd, inProgress) = try Socket.connect(to: address)
                connection = HTTPClientConnection(endpoint: endpoint, fd: fd, connecting: inProgress, loop: loop,
                                                  limits: configuration)
            } catch {
                completion(.failure(.noConnection(error.description)))
                return
            }
            exchange.connection = connection
            connection.start(request, noBody: noBody, deadline: deadline, writeBy: writeBy) { result, reusable in
                exchange.connection = nil
                if reusable { self.checkin(connection, configuration: configuration) }
                completion(result)
            }
        }

        private func checkout(_ endpoint: String, configuration: HTTPClient.Configuration) -> HTTPClientConnection? {
            let now = monotonicNanos()
            let maxIdle = configuration.idleConnectionTimeout.nanoseconds
            while let connection = idle[endpoint]?.popLast() {
                if connection.isUsable && now - connection.idleSince < maxIdle && !connection.peerHasClosed { return connection }
                connection.close()
            }
            return nil
        }

        private func checkin(_ connection: HTTPClientConnection, configuration: HTTPClient.Configuration) {
            var list = idle[connection.endpoint, default: []]
            list.removeAll { !$0.isUsable }
            if list.count < configuration.maxIdleConnectionsPerHost {
                list.append(connection)
            } else {
                connection.close()
            }
            idle[connection.endpoint] = list
        }

        private func resolve(_ endpoint: String, host: String, port: Int) -> sockaddr_in? {
            if let address = addresses[endpoint] { return address }
            let address = Socket.resolve(host: host, port: port)
            if let address { addresses[endpoint] = address }
            return address
        }
    }
}
