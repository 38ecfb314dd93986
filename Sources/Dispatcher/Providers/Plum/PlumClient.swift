public import Foundation
import Support
public import HTTP

/// Plum SMS REST API (as Plum documents it): `ws/sms/queue.json`, `status.json/{id}`, `messages.json`, with
/// HTTP Basic auth and the `{"status","error","result"}` envelope.
public struct PlumClient: SMSProvider {
    public struct Configuration: Sendable {
        /// e.g. `https://hosting.plumvoice.com` (or the sandbox's `http://127.0.0.1:PORT`).
        public var baseURL: URL
        public var username: String
        public var password: String
        public var timeout: Duration

        public init(baseURL: URL, username: String, password: String, timeout: Duration = .seconds(10)) {
            self.baseURL = baseURL
            self.username = username
            self.password = password
            self.timeout = timeout
        }
    }

    public let name: String
    public let configuration: Configuration
    private let http: HTTPClient
    /// Built once: the send URL and the Authorization header.
    private let sendURL: URL
    private let authorization: String

    public init(name: String = "plum", configuration: Configuration, http: HTTPClient) {
        self.name = name
        self.configuration = configuration
        self.http = http
        sendURL = configuration.baseURL.appending(path: "ws/sms/queue.json")
        authorization = HTTPClientRequest.basicAuthorization(user: configuration.username, password: configuration.password)
    }

    // MARK: Send

    public func send(_ message: OutgoingSMS) async -> SendResult {
        var fields = [("to", Self.plumNumber(message.to)), ("from", Self.plumNumber(message.from)), ("body", message.body)]
        if let url = message.callbackURL { fields.append(("result_url", url.absoluteString)) }
        var request = HTTPClientRequest(method: "POST", url: sendURL, headers: ["Accept": "application/json", "Authorization": authorization],
                                        timeout: configuration.timeout)
        request.setForm(fields)
        request.sendBy = message.sendBy
        let started = ContinuousClock.now
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request)
        } catch {
            return SendResult(outcome: Self.outcome(of: error), httpStatus: nil, latency: ContinuousClock.now - started)
        }
        let latency = ContinuousClock.now - started
        return SendResult(outcome: Self.sendOutcome(response), httpStatus: response.status, latency: latency)
    }

    static func sendOutcome(_ response: HTTPClientResponse) -> SendResult.Outcome {
        let envelope = Self.envelope(response.body)
        if (200..<300).contains(response.status), let envelope, envelope.string("status") == "success" {
            guard let sms = envelope.fields("result")?.array("sms_messages").first,
                  let id = sms.string("sms_message_id"), !id.isEmpty else {
                return .unknown("success answer without sms_message_id")
            }
            return .accepted(providerID: id, status: sms.string("status") ?? "queued")
        }
        if let text = failureText(response.body, envelope: envelope) {
            // Plum's own failure answer: it refused the message, whatever the status.
            var code = normalise(failureText: text)
            if code == .providerError && !(200..<300).contains(response.status) {
                code = ErrorPolicy.normalise(envelopeWithStatus: response.status)
            }
            return .rejected(ProviderFailure(code: code, rawCode: text, message: text, httpStatus: response.status))
        }
        if (200..<300).contains(response.status) {
            // 2xx we cannot read: the message may have been queued.
            return .unknown("unreadable \(response.status) answer")
        }
        // No envelope: a 5xx other than 503 (a front end's page) leaves acceptance unknown (policy: look up).
        return .rejected(ProviderFailure(code: ErrorPolicy.normalise(httpStatus: response.status), httpStatus: response.status))
    }

    private static func httpCode(_ status: Int) -> ErrorCode? {
        (200..<300).contains(status) ? nil : ErrorPolicy.normalise(httpStatus: status)
    }

    // MARK: Status and list

    public func status(id: String) async throws(ProviderError) -> ProviderMessage {
        let escaped = id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? id
        let response = try await get(makeRequest("GET", path: "ws/sms/status.json/\(escaped)"))
        guard let result = try Self.successResult(response).fields("result") else {
            throw .invalidAnswer("status answer without result")
        }
        return Self.message(result)
    }

    public func list(_ filter: MessageFilter) async throws(ProviderError) -> [ProviderMessage] {
        let limit = min(1000, max(50, filter.pageSize))
        var messages: [ProviderMessage] = []
        var offset = 0
        while messages.count < filter.maxResults {
            var query: [(String, String)] = [("offset", String(offset)), ("limit", String(limit)), ("order", "asc")]
            if let start = filter.start { query.append(("start_timestamp", String(Int(start.timeIntervalSince1970)))) }
            if let end = filter.end { query.append(("end_timestamp", String(Int(end.timeIntervalSince1970.rounded(.up))))) }
            if let to = filter.to {
                query += [("msg_type", "outbound"), ("phone_number", Self.plumNumber(to)), ("number_type", "customer")]
            } else if let from = filter.from {
                query += [("msg_type", "outbound"), ("phone_number", Self.plumNumber(from)), ("number_type", "account")]
            } else {
                query.append(("msg_type", "outbound"))
            }
            let response = try await get(makeRequest("GET", path: "ws/sms/messages.json", query: query))
            guard let result = try Self.successResult(response).fields("result") else {
                throw .invalidAnswer("messages answer without result")
            }
            let page = result.array("sms_messages")
            for item in page {
                // (a provider that ignores msg_type=outbound: its received messages are not ours)
                if item.string("type")?.lowercased() == "inbound" { continue }
                let message = Self.message(item)
                if message.id.isEmpty { continue }
                if let from = filter.from, filter.to != nil, Self.plumNumber(message.from) != Self.plumNumber(from) { continue }
                messages.append(message)
            }
            offset += page.count
            // The documentation's `total` is a string ("2"), `offset`/`limit` numbers (strings in
            // conversation answers): `int` reads both. A provider may serve fewer than asked.
            let total = result.int("total") ?? Int.max
            let served = min(limit, result.int("limit") ?? limit)
            if page.isEmpty || page.count < served || offset >= total { break }
        }
        return Array(messages.prefix(filter.maxResults))
    }

    // MARK: Callbacks

    /// Reads a `result_url` callback: form `sms_message_id` and `status`. Plum posts "the most
    /// recent SMS status" it has, so `status` may be a message status (queued, sent, failed,
    /// received) or a delivery status (delivered, undelivered, unconfirmed), and a delivery
    /// status may also come in `delivery_status`, beside `status` or instead of it. Nil when
    /// the id or both status fields are missing; a status word not known here still parses
    /// (its state is `.unknown`).
    public static func parseCallback(_ form: [String: String]) -> ProviderMessage? {
        guard let id = form["sms_message_id"], !id.isEmpty else { return nil }
        let status = form["status"] ?? ""
        let delivery = form["delivery_status"].flatMap { $0.isEmpty ? nil : $0 }
        guard !status.isEmpty || delivery != nil else { return nil }
        return ProviderMessage(id: id, to: form["to"] ?? "", from: form["from"] ?? "", body: "", status: status,
                               deliveryStatus: delivery, state: state(status: status, deliveryStatus: delivery))
    }

    // MARK: Wire format

    /// Plum takes 10-digit NANP numbers: `+12025550143` → `2025550143`. Others lose the `+`.
    public static func plumNumber(_ number: String) -> String {
        let digits = number.hasPrefix("+") ? String(number.dropFirst()) : number
        if digits.count == 11 && digits.hasPrefix("1") && digits.allSatisfy(\.isNumber) { return String(digits.dropFirst()) }
        return digits
    }

    /// Normalises the failure texts Plum documents.
    public static func normalise(failureText text: String) -> ErrorCode {
        let t = text.lowercased()
        if t.contains("unauthorized access") { return .authFailed }
        if t.contains("invalid 'to' phone number") || t.contains("invalid to phone number") { return .invalidNumber }
        if t.contains("unsubscribed recipient") { return .unsubscribed }
        if t.contains("is not a mobile number") { return .landline }
        if t.contains("queue overflow") { return .queueOverflow }
        if t.contains("suspended") { return .accountSuspended }
        if t.contains("rate limit") || t.contains("too many") { return .rateLimited }
        if t.contains("too long") { return .messageTooLong }
        return .providerError
    }

    static func state(status: String, deliveryStatus: String?) -> ProviderMessage.State {
        switch (status.lowercased(), deliveryStatus?.lowercased()) {
        case (_, "delivered"): .delivered
        case (_, "undelivered"): .undelivered
        case (_, "unconfirmed"): .unconfirmed
        // a delivery status in `status` itself
        case ("delivered", _): .delivered
        case ("undelivered", _): .undelivered
        case ("unconfirmed", _): .unconfirmed
        case ("queued", _): .accepted
        case ("sent", _): .sent
        case ("failed", _), ("failure", _): .failed
        case ("received", _): .received
        default: .unknown
        }
    }

    static func message(_ item: JSONFields) -> ProviderMessage {
        let status = item.string("status") ?? ""
        let delivery = item.string("delivery_status").flatMap { $0.isEmpty ? nil : $0 }
        return ProviderMessage(
            id: item.string("sms_message_id") ?? "", to: item.string("to") ?? "", from: item.string("from") ?? "",
            body: item.string("body") ?? "", status: status, deliveryStatus: delivery,
            state: state(status: status, deliveryStatus: delivery),
            createdAt: item.int("request_timestamp").map { Date(timeIntervalSince1970: TimeInterval($0)) })
    }

    /// The `error` of a failure envelope. Plum's own documented examples are not always valid JSON
    /// (`"error":""Attempt to send…""`), so fall back to reading the text.
    static func failureText(_ body: [UInt8], envelope: JSONFields?) -> String? {
        if let envelope {
            guard envelope.string("status") == "failure" else { return nil }
            return envelope.string("error") ?? ""
        }
        let text = String(decoding: body, as: UTF8.self)
        guard text.contains("\"failure\""), let key = text.range(of: "\"error\"") else { return nil }
        let rest = text[key.upperBound...].drop { $0 == ":" || $0 == " " || $0 == "\"" }
        return String(rest.prefix { $0 != "\"" && $0 != "}" && $0 != "\n" })
    }

    /// The `{"status","error","result"}` envelope: JSON as asked for (tolerating the
    /// documentation's trailing commas and comments), or the same envelope in XML (`PlumXML`).
    static func envelope(_ body: [UInt8]) -> JSONFields? {
        JSONFields(data: body) ?? PlumXML.envelope(body)
    }

    private static func successResult(_ response: HTTPClientResponse) throws(ProviderError) -> JSONFields {
        let envelope = Self.envelope(response.body)
        if response.status == 404 { throw .notFound }
        if let envelope, envelope.string("status") == "success", (200..<300).contains(response.status) { return envelope }
        if let text = failureText(response.body, envelope: envelope) {
            var code = normalise(failureText: text)
            if code == .providerError { code = httpCode(response.status) ?? .providerError }
            if text.lowercased().contains("not found") { throw .notFound }
            throw .rejected(ProviderFailure(code: code, rawCode: text, message: text, httpStatus: response.status))
        }
        if !(200..<300).contains(response.status) {
            throw .rejected(ProviderFailure(code: ErrorPolicy.normalise(httpStatus: response.status), httpStatus: response.status))
        }
        throw .invalidAnswer("unreadable answer")
    }

    private func makeRequest(_ method: String, path: String, query: [(String, String)] = []) -> HTTPClientRequest {
        var url = configuration.baseURL.appending(path: path, directoryHint: .notDirectory)
        if !query.isEmpty, var components = URLComponents(url: url, resolvingAgainstBaseURL: false) {
            components.percentEncodedQuery = FormEncoding.encode(query)
            url = components.url ?? url
        }
        var request = HTTPClientRequest(method: method, url: url, timeout: configuration.timeout)
        request.headers.set("Accept", "application/json")
        request.headers.set("Authorization", authorization)
        return request
    }

    private func get(_ request: HTTPClientRequest) async throws(ProviderError) -> HTTPClientResponse {
        do {
            return try await http.execute(request)
        } catch {
            throw .transport(error)
        }
    }

    static func outcome(of error: HTTPClientError) -> SendResult.Outcome {
        error.nothingWasSent ? .noConnection(error.description) : .unknown(error.description)
    }
}
