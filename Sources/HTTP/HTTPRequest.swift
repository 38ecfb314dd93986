import Foundation

/// A request the server received: head, complete body, and the router's path parameters.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The request target as sent (`/ws/sms/messages.json?offset=0`).
    public var target: String
    public var versionMinor: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// Values of `{name}` segments of the matched route, percent-decoded.
    public var pathParameters: [String: String] = [:]
    /// Whether the connection stays open after this request.
    public var keepAlive: Bool

    public init(method: String, target: String, versionMinor: Int = 1, headers: HTTPHeaders = [:],
                body: [UInt8] = [], keepAlive: Bool = true) {
        self.method = method
        self.target = target
        self.versionMinor = versionMinor
        self.headers = headers
        self.body = body
        self.keepAlive = keepAlive
    }

    /// The path without the query, still percent-encoded.
    public var path: Substring {
        if let q = target.firstIndex(of: "?") { return target[..<q] }
        return target[...]
    }

    /// The raw query string after `?`, if any.
    public var queryString: Substring? {
        guard let q = target.firstIndex(of: "?") else { return nil }
        return target[target.index(after: q)...]
    }

    /// Decoded query parameters (last value wins).
    public var query: [String: String] {
        guard let q = queryString else { return [:] }
        return FormEncoding.decode(q)
    }

    public var contentType: String? { headers["Content-Type"] }

    /// True when the body is declared `application/x-www-form-urlencoded`.
    public var isForm: Bool {
        guard let type = contentType?.split(separator: ";").first else { return false }
        return HTTPHeaders.equalsIgnoringCase(type.trimmingSpaces, "application/x-www-form-urlencoded")
    }

    /// The form body decoded (last value wins), or nil when the body is not a form.
    public func formFields() -> [String: String]? {
        guard isForm else { return nil }
        return FormEncoding.decode(String(decoding: body, as: UTF8.self))
    }

    /// What a body that should be a form of text fields is instead.
    public enum FormProblem: Error, Sendable, Equatable {
        /// Not `application/x-www-form-urlencoded`.
        case notAForm
        /// A form, but a field is not text (`FormEncoding.TextError`).
        case notText(FormEncoding.TextError)
    }

    /// The form body decoded (last value wins), refusing NUL and bytes that are not UTF-8
    /// anywhere in it: what may reach the database.
    public func formText() -> Result<[String: String], FormProblem> {
        guard isForm else { return .failure(.notAForm) }
        do throws(FormEncoding.TextError) {
            return .success(try FormEncoding.decodeText(body))
        } catch {
            return .failure(.notText(error))
        }
    }

    /// The body decoded as JSON.
    public func decodeJSON<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(body))
    }

    /// The user and password of `Authorization: Basic …`.
    public var basicCredentials: (user: String, password: String)? {
        guard let value = headers["Authorization"], value.count > 6,
              HTTPHeaders.equalsIgnoringCase(value.prefix(6), "Basic "),
              let data = Data(base64Encoded: String(value.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
              let text = String(data: data, encoding: .utf8),
              let colon = text.firstIndex(of: ":") else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }
}
