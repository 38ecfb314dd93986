import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
import Support
#endif

/// HTTP through URLSession: used for `https://` (certificate and host name verification by the
/// platform's TLS stack) and, when configured, for `http://` too.
///
/// A delegate holds the client's limits: an answer with more header fields than
/// `maxResponseHeaderCount`, or a body (announced or received) larger than
/// `maxResponseBodyBytes`, is cancelled as it arrives, never buffered whole. Redirects are not
/// followed (a 3xx is the answer), as with the socket transport: credentials go only where
/// they were meant to.
///
/// A request that is not idempotent (a POST: a send) never goes on a reused connection. On
/// Linux URLSession is libcurl, which sends a request again on a fresh connection when a
/// reused one dies before any answer, POST included: a provider that took the message just
/// before its connection dropped would get it twice. So each such request gets a session of
/// its own, whose only connection is new: the price is a connection (and TLS handshake) per
/// send. Idempotent requests (lookups, polls) share one session and its connections.
final class URLSessionHTTPTransport: Sendable {
    private let session: URLSession
    private let delegate: Delegate
    private let configuration: HTTPClient.Configuration

    init(configuration: HTTPClient.Configuration) {
        self.configuration = configuration
        delegate = Self.delegate(configuration)
        session = URLSession(configuration: Self.sessionConfiguration(configuration), delegate: delegate, delegateQueue: nil)
    }

    private static func sessionConfiguration(_ configuration: HTTPClient.Configuration) -> URLSessionConfiguration {
        let config = URLSessionConfiguration.ephemeral
        config.urlCache = nil
        config.httpCookieStorage = nil
        config.httpShouldSetCookies = false
        config.requestCachePolicy = .reloadIgnoringLocalCacheData
        config.httpMaximumConnectionsPerHost = configuration.maxIdleConnectionsPerHost
        return config
    }

    private static func delegate(_ configuration: HTTPClient.Configuration) -> Delegate {
        Delegate(maxBodyBytes: configuration.maxResponseBodyBytes, maxHeaderCount: configuration.maxResponseHeaderCount)
    }

    func execute(_ request: HTTPClientRequest) async throws(HTTPClientError) -> HTTPClientResponse {
        if SocketHTTPTransport.idempotentMethods.contains(request.method) {
            return try await execute(request, session: session, delegate: delegate)
        }
        // a session of its own: its one connection is new, so libcurl never sends it again
        let delegate = Self.delegate(configuration)
        let session = URLSession(configuration: Self.sessionConfiguration(configuration), delegate: delegate, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        return try await execute(request, session: session, delegate: delegate)
    }

    private func execute(_ request: HTTPClientRequest, session: URLSession, delegate: Delegate) async throws(HTTPClientError)
        -> HTTPClientResponse {
        var urlRequest = URLRequest(url: request.url)
        urlRequest.httpMethod = request.method
        urlRequest.timeoutInterval = max(0.001, Double(request.timeout.nanoseconds) / 1e9)
        for (name, value) in request.headers { urlRequest.addValue(value, forHTTPHeaderField: name) }
        if !request.body.isEmpty { urlRequest.httpBody = Data(request.body) }
        let task = session.dataTask(with: urlRequest)
        // URLSession's timeout is between bytes; bound the whole exchange as well.
        let timer = Task {
            try await Task.sleep(for: request.timeout)
            delegate.fail(task, .timeoutAfterSend)
        }
        let result: Result<HTTPClientResponse, HTTPClientError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                delegate.begin(task, continuation: continuation)
                task.resume()
            }
        } onCancel: {
            delegate.fail(task, .connectionLostAfterSend("cancelled"))
        }
        timer.cancel()
        return try result.get()
    }

    /// The state of each task in flight, by task identifier; callbacks come on URLSession's queue.
    final class Delegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
        typealias Continuation = CheckedContinuation<Result<HTTPClientResponse, HTTPClientError>, Never>

        private struct Exchange {
            var continuation: Continuation
            var response: HTTPURLResponse?
            var data = Data()
            /// Set when we end the task ourselves: the error to report instead of URLSession's.
            var failure: HTTPClientError?
        }

        private let maxBodyBytes: Int
        private let maxHeaderCount: Int
        private let exchanges = LockedValue([Int: Exchange]())

        init(maxBodyBytes: Int, maxHeaderCount: Int) {
            self.maxBodyBytes = maxBodyBytes
            self.maxHeaderCount = maxHeaderCount
        }

        func begin(_ task: URLSessionTask, continuation: Continuation) {
            exchanges.withLock { $0[task.taskIdentifier] = Exchange(continuation: continuation) }
        }

        /// Ends the task with `error` (unless it has finished already).
        func fail(_ task: URLSessionTask, _ error: HTTPClientError) {
            let known = exchanges.withLock { all -> Bool in
                guard all[task.taskIdentifier] != nil else { return false }
                if all[task.taskIdentifier]!.failure == nil { all[task.taskIdentifier]!.failure = error }
                return true
            }
            if known { task.cancel() }
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                        completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void) {
            let http = response as? HTTPURLResponse
            var problem: String?
            if let http, http.allHeaderFields.count > maxHeaderCount {
                problem = "more than \(maxHeaderCount) header fields"
            } else if response.expectedContentLength > Int64(maxBodyBytes) {
                problem = "response body too large"
            }
            exchanges.withLock { all in
                all[dataTask.taskIdentifier]?.response = http
                if let problem, all[dataTask.taskIdentifier]?.failure == nil {
                    all[dataTask.taskIdentifier]?.failure = .invalidResponse(problem)
                }
            }
            completionHandler(problem == nil ? .allow : .cancel)
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
            let tooLarge = exchanges.withLock { all -> Bool in
                guard var exchange = all[dataTask.taskIdentifier], exchange.failure == nil else { return false }
                if exchange.data.count + data.count > maxBodyBytes {
                    exchange.failure = .invalidResponse("response body too large")
                    exchange.data = Data()
                    all[dataTask.taskIdentifier] = exchange
                    return true
                }
                all[dataTask.taskIdentifier] = nil  // not held twice while appending
                exchange.data.append(data)
                all[dataTask.taskIdentifier] = exchange
                return false
            }
            if tooLarge { dataTask.cancel() }
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                        newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
            completionHandler(nil)  // the 3xx is the answer
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
            guard let exchange = exchanges.withLock({ $0.removeValue(forKey: task.taskIdentifier) }) else { return }
            let result: Result<HTTPClientResponse, HTTPClientError>
            if let failure = exchange.failure {
                result = .failure(failure)
            } else if let error {
                result = .failure((error as? URLError).map(URLSessionHTTPTransport.classify)
                                  ?? .connectionLostAfterSend(String(describing: error)))
            } else if let http = exchange.response {
                var headers = HTTPHeaders()
                for (name, value) in http.allHeaderFields {
                    headers.add(String(describing: name), String(describing: value))
                }
                result = .success(HTTPClientResponse(status: http.statusCode, headers: headers, body: Array(exchange.data)))
            } else {
                result = .failure(.invalidResponse("not an HTTP response"))
            }
            exchange.continuation.resume(returning: result)
        }
    }

    /// URLSession cannot say whether bytes went out; only errors raised before any connection
    /// exists count as "nothing sent".
    static func classify(_ error: URLError) -> HTTPClientError {
        switch error.code {
        case .cannotConnectToHost, .cannotFindHost, .dnsLookupFailed, .notConnectedToInternet,
             .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
             .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot, .clientCertificateRejected,
             .cannotLoadFromNetwork, .internationalRoamingOff, .dataNotAllowed:
            return .noConnection(error.localizedDescription)
        case .unsupportedURL, .badURL:
            return .invalidRequest(error.localizedDescription)
        case .timedOut:
            return .timeoutAfterSend
        case .badServerResponse, .cannotParseResponse, .cannotDecodeRawData, .cannotDecodeContentData:
            return .invalidResponse(error.localizedDescription)
        default:
            return .connectionLostAfterSend(error.localizedDescription)
        }
    }

    func shutdown() {
        session.finishTasksAndInvalidate()
    }
}
