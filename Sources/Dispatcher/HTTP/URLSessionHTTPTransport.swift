import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// HTTP through URLSession: used for `https://` (certificate and host name verification by the
/// platform's TLS stack) and, when configured, for `http://` too.
final class URLSessionHTTPTransport: Sendable {
    private let session: URLSession

    init(configuration: HTTPClient.Configuration) {
        let config = URLSessionConfiguration.ephemeral
        config.urlCache = nil
        config.httpCookieStorage = nil
        config.httpShouldSetCookies = false
        config.requestCachePolicy = .reloadIgnoringLocalCacheData
        config.httpMaximumConnectionsPerHost = configuration.maxIdleConnectionsPerHost
        session = URLSession(configuration: config)
    }

    func execute(_ request: HTTPClientRequest) async throws(HTTPClientError) -> HTTPClientResponse {
        var urlRequest = URLRequest(url: request.url)
        urlRequest.httpMethod = request.method
        urlRequest.timeoutInterval = max(0.001, Double(request.timeout.nanoseconds) / 1e9)
        for (name, value) in request.headers { urlRequest.addValue(value, forHTTPHeaderField: name) }
        if !request.body.isEmpty { urlRequest.httpBody = Data(request.body) }
        let prepared = urlRequest
        let session = session
        let data: Data, response: URLResponse
        do {
            // URLSession's timeout is between bytes; bound the whole exchange as well.
            (data, response) = try await withThrowingTaskGroup(of: (Data, URLResponse).self) { group in
                group.addTask { try await session.data(for: prepared) }
                group.addTask {
                    try await Task.sleep(for: request.timeout)
                    throw URLError(.timedOut)
                }
                let first = try await group.next()!
                group.cancelAll()
                return first
            }
        } catch let error as URLError {
            throw Self.classify(error)
        } catch {
            throw .connectionLostAfterSend(String(describing: error))
        }
        guard let http = response as? HTTPURLResponse else { throw .invalidResponse("not an HTTP response") }
        var headers = HTTPHeaders()
        for (name, value) in http.allHeaderFields {
            headers.add(String(describing: name), String(describing: value))
        }
        return HTTPClientResponse(status: http.statusCode, headers: headers, body: Array(data))
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
