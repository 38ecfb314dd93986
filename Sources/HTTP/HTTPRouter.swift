/// Routes by method and path. Patterns are literal segments and `{name}` parameters that match
/// one whole segment: `/callbacks/plum/{token}`. No match: 404; a path that matches with another
/// method: 405 with `Allow`. `HEAD` is served by the `GET` route without the body.
public struct HTTPRouter: Sendable {
    public typealias Handler = @Sendable (HTTPRequest) async -> HTTPResponse

    private enum Segment: Sendable {
        case literal(String)
        case parameter(String)
    }

    private struct Route: Sendable {
        var method: String
        var segments: [Segment]
        var handler: Handler
    }

    /// Routes without parameters, by exact path.
    private var literal: [String: [Route]] = [:]
    private var parametric: [Route] = []

    public init() {}

    public mutating func add(_ method: String, _ pattern: String, _ handler: @escaping Handler) {
        let segments: [Segment] = pattern.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map { part in
            if part.hasPrefix("{") && part.hasSuffix("}") { return .parameter(String(part.dropFirst().dropLast())) }
            return .literal(String(part))
        }
        let route = Route(method: method, segments: segments, handler: handler)
        if segments.contains(where: { if case .parameter = $0 { true } else { false } }) {
            parametric.append(route)
        } else {
            literal[pattern, default: []].append(route)
        }
    }

    public mutating func get(_ pattern: String, _ handler: @escaping Handler) { add("GET", pattern, handler) }
    public mutating func post(_ pattern: String, _ handler: @escaping Handler) { add("POST", pattern, handler) }

    /// Finds the handler and answers.
    public func handle(_ request: HTTPRequest) async -> HTTPResponse {
        let path = request.path
        let method = request.method == "HEAD" ? "GET" : request.method
        var allowed: [String] = []
        if let routes = literal[String(path)] {
            for route in routes {
                if route.method == method { return await run(route.handler, request, [:]) }
                allowed.append(route.method)
            }
        }
        if !parametric.isEmpty {
            let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
            for route in parametric {
                guard let parameters = Self.match(route.segments, parts) else { continue }
                if route.method == method { return await run(route.handler, request, parameters) }
                allowed.append(route.method)
            }
        }
        guard !allowed.isEmpty else { return .status(404) }
        var response = HTTPResponse.status(405)
        var methods = Set(allowed)
        if methods.contains("GET") { methods.insert("HEAD") }
        response.headers.set("Allow", methods.sorted().joined(separator: ", "))
        return response
    }

    private func run(_ handler: Handler, _ request: HTTPRequest, _ parameters: [String: String]) async -> HTTPResponse {
        var request = request
        request.pathParameters = parameters
        var response = await handler(request)
        if request.method == "HEAD" {
            response.headers.set("Content-Length", String(response.body.count))
            response.body = []
        }
        return response
    }

    private static func match(_ segments: [Segment], _ parts: ArraySlice<Substring>) -> [String: String]? {
        guard segments.count == parts.count else { return nil }
        var parameters: [String: String] = [:]
        for (segment, part) in zip(segments, parts) {
            switch segment {
            case .literal(let text):
                if text != part { return nil }
            case .parameter(let name):
                if part.isEmpty { return nil }
                parameters[name] = FormEncoding.unescape(part, plusIsSpace: false)
            }
        }
        return parameters
    }
}
