public import Foundation
import Support
public import HTTP

/// Restcomm (Twilio-compatible) SMS API under `{base}/2012-04-24/Accounts/{sid}/SMS/…`,
/// Basic auth with account SID and auth token, `next_page_uri` paging.
public struct RestcommClient: SMSProvider {
    public struct Configuration: Sendable {
        /// e.g. `https://mycompany.restcomm.com/restcomm` (or the sandbox's `http://127.0.0.1:PORT/restcomm`).
        public var baseURL: URL
        public var accountSID: String
        public var authToken: String
        public var timeout: Duration

        public init(baseURL: URL, accountSID: String, authToken: String, timeout: Duration = .seconds(10)) {
            self.baseURL = baseURL
            self.accountSID = accountSID
            self.authToken = authToken
            self.timeout = timeout
        }
    }

    public let name: String
    public let configuration: Configuration
    private let http: HTTPClient
    /// Built once: the send URL and the Authorization header.
    private let sendURL: URL
    private let authorization: String

    public init(name: String = "restcomm", configuration: Configuration, http: HTTPClient) {
        self.name = name
        self.configuration = configuration
        self.http = http
        sendURL = configuration.baseURL.appending(path: "2012-04-24/Accounts/\(configuration.accountSID)/SMS/Messages.json")
        authorization = HTTPClientRequest.basicAuthorization(user: configuration.accountSID, password: configuration.authToken)
    }

    private var messagesPath: String { "2012-04-24/Accounts/\(configuration.accountSID)/SMS/Messages" }

    // MARK: Send

    public func send(_ message: OutgoingSMS) async -> SendResult {
        var fields = [("From", message.from), ("To", message.to), ("Body", message.body)]
        if let url = message.callbackURL {
            fields += [("StatusCallback", url.absoluteString), ("StatusCallbackMethod", "POST")]
        }
        var request = makeRequest("POST", url: sendURL)
        request.setForm(fields)
        request.sendBy = message.sendBy
        let started = ContinuousClock.now
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request)
        } catch {
            return SendResult(outcome: PlumClient.outcome(of: error), httpStatus: nil, latency: ContinuousClock.now - started)
        }
        return SendResult(outcome: Self.sendOutcome(response), httpStatus: response.status, latency: ContinuousClock.now - started)
    }

    static func sendOutcome(_ response: HTTPClientResponse) -> SendResult.Outcome {
        let json = JSONFields(data: response.body)
        if (200..<300).contains(response.status) {
            guard let json, let sid = json.string("sid"), !sid.isEmpty else {
                return .unknown("unreadable \(response.status) answer")
            }
            return .accepted(providerID: sid, status: json.string("status") ?? "queued")
        }
        return .rejected(failure(response, json: json))
    }

    /// An error answer: `{"code":30001,"message":"Queue overflow","status":429}` or just a status.
    static func failure(_ response: HTTPClientResponse, json: JSONFields?) -> ProviderFailure {
        if response.status == 401 {
            return ProviderFailure(code: .authFailed, rawCode: json?.string("code") ?? "401",
                                   message: json?.string("message"), httpStatus: 401)
        }
        if let code = json?.int("code") {
            return ProviderFailure(code: ErrorPolicy.normalise(restcommCode: code), rawCode: String(code),
                                   message: json?.string("message"), httpStatus: response.status)
        }
        if let json, json.string("message") != nil {
            // Restcomm's JSON error without a code: its refusal, whatever the status.
            return ProviderFailure(code: ErrorPolicy.normalise(envelopeWithStatus: response.status), message: json.string("message"),
                                   httpStatus: response.status)
        }
        // No error body: a 5xx other than 503 (a front end's page) leaves acceptance unknown (policy: look up).
        return ProviderFailure(code: ErrorPolicy.normalise(httpStatus: response.status), httpStatus: response.status)
    }

    // MARK: Status and list

    public func status(id: String) async throws(ProviderError) -> ProviderMessage {
        let escaped = id.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? id
        let url = configuration.baseURL.appending(path: messagesPath + "/\(escaped).json")
        let json = try await getJSON(url)
        return Self.message(json)
    }

    public func list(_ filter: MessageFilter) async throws(ProviderError) -> [ProviderMessage] {
        var query: [(String, String)] = []
        if let to = filter.to { query.append(("To", to)) }
        if let from = filter.from { query.append(("From", from)) }
        let iso = ISO8601DateFormatter()
        if let start = filter.start { query.append(("StartTime", iso.string(from: start))) }
        if let end = filter.end { query.append(("EndTime", iso.string(from: end))) }
        query += [("Page", "0"), ("PageSize", String(max(1, min(1000, filter.pageSize))))]
        var components = URLComponents(url: configuration.baseURL.appending(path: messagesPath + ".json"), resolvingAgainstBaseURL: false)!
        components.percentEncodedQuery = FormEncoding.encode(query)
        var next: URL? = components.url
        var messages: [ProviderMessage] = []
        var pages = 0
        while let url = next, messages.count < filter.maxResults, pages < 10_000 {
            let json = try await getJSON(url)
            // (the documentation's own list elides its message to `{…}`: an item without a sid is no message)
            messages += json.array("messages").map(Self.message).filter { !$0.id.isEmpty }
            pages += 1
            // No next page: `next_page_uri` absent, null, "" or the string "null" (as the
            // documentation writes `previous_page_uri`); `string` reads the last as nil.
            guard let uri = json.string("next_page_uri"), !uri.isEmpty else { break }
            // The account's credentials go with every page: never to another origin.
            guard let url = resolve(pageURI: uri), isSameOrigin(url) else {
                throw .invalidAnswer("next_page_uri leads to another host than base_url; paging stopped")
            }
            next = url
        }
        return Array(messages.prefix(filter.maxResults))
    }

    /// True when `url` has the scheme, host and port of `base_url`.
    func isSameOrigin(_ url: URL) -> Bool {
        func origin(_ u: URL) -> (String, String, Int)? {
            guard let scheme = u.scheme?.lowercased(), let host = u.host?.lowercased() else { return nil }
            return (scheme, host, u.port ?? (scheme == "https" ? 443 : scheme == "http" ? 80 : -1))
        }
        guard let a = origin(url), let b = origin(configuration.baseURL) else { return false }
        return a == b
    }

    /// Resolves a `next_page_uri` against the configured base. The documented URIs start with
    /// `/api/2012-04-24/…` (or `/restcomm/…`, or nothing) and may lack `.json`: keep what follows
    /// the API version, put it under our base, and ask for JSON.
    func resolve(pageURI: String) -> URL? {
        // An absolute URI (or a scheme-relative `//host/…`) is kept only on our own origin.
        if pageURI.hasPrefix("//") || URL(string: pageURI)?.scheme != nil {
            guard let absolute = URL(string: pageURI, relativeTo: configuration.baseURL)?.absoluteURL,
                  isSameOrigin(absolute) else { return nil }
        }
        guard let version = pageURI.range(of: "2012-04-24/") else {
            return URL(string: pageURI, relativeTo: configuration.baseURL)?.absoluteURL
        }
        var rest = String(pageURI[version.lowerBound...])
        var query = ""
        if let q = rest.firstIndex(of: "?") {
            query = String(rest[q...])
            rest = String(rest[..<q])
        }
        if !rest.hasSuffix(".json") { rest += ".json" }
        var base = configuration.baseURL.absoluteString
        if base.hasSuffix("/") { base.removeLast() }
        return URL(string: base + "/" + rest + query)
    }

    // MARK: Callbacks

    /// Reads a StatusCallback form (MessageSid, MessageStatus, ErrorCode, AccountSid, From, To, Body).
    public static func parseCallback(_ form: [String: String]) -> ProviderMessage? {
        guard let sid = form["MessageSid"], !sid.isEmpty, let status = form["MessageStatus"], !status.isEmpty else { return nil }
        let failure = form["ErrorCode"].flatMap(Int.init).map {
            ProviderFailure(code: ErrorPolicy.normalise(restcommCode: $0), rawCode: String($0))
        }
        return ProviderMessage(id: sid, to: form["To"] ?? "", from: form["From"] ?? "", body: form["Body"] ?? "",
                               status: status, state: state(status), failure: failure)
    }

    // MARK: Wire format

    static func state(_ status: String) -> ProviderMessage.State {
        switch status.lowercased() {
        case "queued", "sending", "accepted": .accepted
        case "sent": .sent
        case "delivered": .delivered
        case "undelivered": .undelivered
        case "failed": .failed
        case "received": .received
        default: .unknown
        }
    }

    static func message(_ json: JSONFields) -> ProviderMessage {
        let status = json.string("status") ?? ""
        let failure = json.int("error_code").map {
            ProviderFailure(code: ErrorPolicy.normalise(restcommCode: $0), rawCode: String($0), message: json.string("error_message"))
        }
        return ProviderMessage(
            id: json.string("sid") ?? "", to: json.string("to") ?? "", from: json.string("from") ?? "",
            body: json.string("body") ?? "", status: status, state: state(status), failure: failure,
            createdAt: json.string("date_created").flatMap(parseDate), segments: json.int("num_segments"))
    }

    /// RFC 2822 dates, as Restcomm documents them: `Thu, 19 Nov 2015 07:21:35 -0500`.
    static func parseDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "EEE, d MMM yyyy HH:mm:ss Z"
        return formatter.date(from: text)
    }

    private func makeRequest(_ method: String, url: URL) -> HTTPClientRequest {
        var request = HTTPClientRequest(method: method, url: url, timeout: configuration.timeout)
        request.headers.set("Accept", "application/json")
        request.headers.set("Authorization", authorization)
        return request
    }

    private func getJSON(_ url: URL) async throws(ProviderError) -> JSONFields {
        let response: HTTPClientResponse
        do {
            response = try await http.execute(makeRequest("GET", url: url))
        } catch {
            throw .transport(error)
        }
        let json = JSONFields(data: response.body)
        if response.status == 404 { throw .notFound }
        guard (200..<300).contains(response.status) else { throw .rejected(Self.failure(response, json: json)) }
        guard let json else { throw .invalidAnswer("unreadable answer") }
        return json
    }
}
