/// A complete answer, whatever its status.
public struct HTTPClientResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: Int, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// The response when 2xx, else `HTTPClientError.httpStatus`.
    public func successful() throws(HTTPClientError) -> HTTPClientResponse {
        guard (200..<300).contains(status) else { throw .httpStatus(status, body: body) }
        return self
    }
}
