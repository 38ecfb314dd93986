public import Foundation

/// A request for `HTTPClient`: method, absolute URL, headers, body and a per-request timeout.
public struct HTTPClientRequest: Sendable {
    public var method: String
    public var url: URL
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// The whole exchange (connect, send, answer) must finish within this.
    public var timeout: Duration
    /// No byte of the request may be written after this instant: past it the exchange fails
    /// as `.noConnection` (nothing sent). A worker sets it to the end of its lease, so a send
    /// held up — a frozen process, a slow connect — never goes out after another worker may
    /// have taken the message over.
    public var sendBy: ContinuousClock.Instant?

    public init(method: String = "GET", url: URL, headers: HTTPHeaders = [:], body: [UInt8] = [],
                timeout: Duration = .seconds(10)) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }

    /// Sets `Authorization: Basic …`.
    public mutating func setBasicAuth(user: String, password: String) {
        headers.set("Authorization", Self.basicAuthorization(user: user, password: password))
    }

    /// The `Authorization` value for HTTP Basic auth (RFC 7617), for clients that build it once.
    public static func basicAuthorization(user: String, password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    /// Sets the body to the form encoding of `fields` (in order) and its Content-Type.
    public mutating func setForm(_ fields: [(String, String)]) {
        body = Array(FormEncoding.encode(fields).utf8)
        headers.set("Content-Type", "application/x-www-form-urlencoded")
    }
}
