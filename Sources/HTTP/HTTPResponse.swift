public import Foundation
import Support

/// A response a handler returns. The server adds `Content-Length` and `Connection`.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// No answer at all: the server resets the connection (TCP RST) instead (fault injection).
    public var resetsConnection = false

    public init(status: Int = 200, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// Resets the connection without answering.
    public static var resetConnection: HTTPResponse {
        var response = HTTPResponse(status: 500)
        response.resetsConnection = true
        return response
    }

    public static func text(_ text: String, status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "text/plain; charset=utf-8"], body: Array(text.utf8))
    }

    public static func json(_ data: Data, status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: Array(data))
    }

    /// A JSON answer built from Foundation objects (dictionaries, arrays, strings, numbers, NSNull),
    /// keys sorted.
    public static func jsonObject(_ object: Any, status: Int = 200) -> HTTPResponse {
        if let body = JSONText.write(object) {
            return HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: body)
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return json(data, status: status)
    }

    public static func encodeJSON<T: Encodable>(_ value: T, status: Int = 200) -> HTTPResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(value) else { return .status(500) }
        return json(data, status: status)
    }

    /// A plain-text answer with the status's reason phrase as body.
    public static func status(_ status: Int) -> HTTPResponse {
        text(HTTPStatus.reason(status) + "\n", status: status)
    }
}

/// Reason phrases and serialization of status lines.
public enum HTTPStatus {
    public static func reason(_ code: Int) -> String {
        switch code {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 304: "Not Modified"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 415: "Unsupported Media Type"
        case 422: "Unprocessable Content"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        default: "Status \(code)"
        }
    }

    /// `HTTP/1.1 200 OK\r\n`, cached for common codes.
    static func statusLine(_ code: Int) -> [UInt8] {
        if code == 200 { return ok }
        return Array("HTTP/1.1 \(code) \(reason(code))\r\n".utf8)
    }

    private static let ok = Array("HTTP/1.1 200 OK\r\n".utf8)
}
