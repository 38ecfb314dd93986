import Foundation
import HTTP

/// The Restcomm SMS API as the provider documents it, under
/// `/restcomm/2012-04-24/Accounts/{sid}/SMS/Messages…`. Each answer has exactly the fields (and
/// JSON types) of the documentation's example: a send answer the send example's, a single SMS
/// the get example's (adding `date_sent`, `num_segments`), list items the list example's, the
/// list envelope the "Limit" example's; `error_code`/`error_message` (documented attributes) only
/// when a message failed or was undelivered.
extension SandboxAPI {
    func restcommSend(_ request: HTTPRequest) async -> HTTPResponse {
        guard restcommAuthorized(request) else { return await restcommUnauthorized() }
        guard let form = request.formFields() else { return Self.restcommError(400, code: 21600, "Body must be a form") }
        let to = form["To"] ?? "", from = form["From"] ?? "", body = form["Body"] ?? ""
        let recipient: String
        if to.hasPrefix("client:") && to.count > 7 {
            recipient = to
        } else if Self.isE164(to) {
            recipient = to
        } else if to.count >= 8 && to.count <= 15 && to.allSatisfy({ $0.isASCII && $0.isNumber }) {
            recipient = "+" + to  // the documentation's own examples omit the plus
        } else {
            await store.noteRequest()
            return Self.restcommError(400, code: 21211)
        }
        guard !from.isEmpty else {
            await store.noteRequest()
            return Self.restcommError(400, code: 21603, "A 'From' phone number is required")
        }
        guard !body.isEmpty else {
            await store.noteRequest()
            return Self.restcommError(400, code: 21602, "Message body is required")
        }
        guard body.count <= 1600 else {
            await store.noteRequest()
            return Self.restcommError(400, code: 21617)
        }
        let account = configuration.restcommAccountSID
        let method = (form["StatusCallbackMethod"] ?? "POST").uppercased() == "GET" ? "GET" : "POST"
        switch await store.submit(api: .restcomm, from: from, to: to, recipient: recipient, body: body,
                                  callbackURL: form["StatusCallback"], callbackMethod: method, accountSID: account) {
        case .rateLimited:
            return Self.restcommError(429, code: 30001)
        case .serverError:
            return Self.restcommError(500, code: 0, "Internal server error")
        case .refused(let fate):
            guard case .refused(_, let code?) = fate else { return Self.restcommError(400, code: 21211) }
            return Self.restcommError(400, code: code)
        case .accepted(let message, let slow, let status, let events, let callbacksAfter):
            schedule(events, after: callbacksAfter)
            await slowAnswer(slow)
            if let status { return Self.gatewayError(status) }
            var item = restcommItem(message, now: message.acceptedAt, detail: false)
            item["status"] = "queued"  // the answer to a send is always the accepted state
            item.removeValue(forKey: "error_code")
            item.removeValue(forKey: "error_message")
            return .jsonObject(item, status: 201)
        }
    }

    func restcommGet(_ request: HTTPRequest) async -> HTTPResponse {
        guard restcommAuthorized(request) else { return await restcommUnauthorized() }
        await store.noteRequest()
        var sid = request.pathParameters["sid"] ?? ""
        if sid.hasSuffix(".json") { sid.removeLast(5) }
        guard let message = await store.message(id: sid), message.api == .restcomm else {
            return Self.restcommError(404, code: 20404, "The requested resource was not found")
        }
        return .jsonObject(restcommItem(message, now: Date(), detail: true))
    }

    /// List with To/From/StartTime/EndTime filters, Page/PageSize paging and the documented page URIs.
    func restcommList(_ request: HTTPRequest) async -> HTTPResponse {
        guard restcommAuthorized(request) else { return await restcommUnauthorized() }
        await store.noteRequest()
        let q = request.query
        let pageSize = min(1000, max(1, Int(q["PageSize"] ?? "") ?? 50))
        let page = max(0, Int(q["Page"] ?? "") ?? 0)
        let start = q["StartTime"].flatMap(Self.parseISODate)
        let end = q["EndTime"].flatMap { Self.parseISODate($0, endOfDay: true) }
        var selected = await store.messages(api: .restcomm).filter { m in
            if let to = q["To"], m.to != to, m.recipient != to { return false }
            if let from = q["From"], m.from != from { return false }
            if let start, m.acceptedAt < start { return false }
            if let end, m.acceptedAt > end { return false }
            return true
        }
        if let sort = q["SortBy"], sort.hasSuffix(":desc") { selected.reverse() }
        // `Limit` caps the records of the whole list; without it the answer says 10000, as the
        // documentation's first example does (and nothing is cut).
        let limit = Int(q["Limit"] ?? "").map { max(1, $0) }
        if let limit { selected = Array(selected.prefix(limit)) }
        let total = selected.count
        let numPages = max(1, (total + pageSize - 1) / pageSize)
        let now = Date()
        let items = selected.dropFirst(page * pageSize).prefix(pageSize).map { restcommItem($0, now: now, detail: false) }
        // Page URIs as in the documentation: rooted at /api, without .json, filters kept; the
        // first page's previous and the last page's next are the string "null".
        let base = "/api/2012-04-24/Accounts/\(configuration.restcommAccountSID)/SMS/Messages"
        var filters: [(String, String)] = []
        for key in ["To", "From", "StartTime", "EndTime", "SortBy"] { if let v = q[key] { filters.append((key, v)) } }
        let limitParameter = limit.map { [("Limit", String($0))] } ?? []
        func uri(_ p: Int) -> String {
            base + "?" + FormEncoding.encode(filters + [("Page", String(p)), ("PageSize", String(pageSize))] + limitParameter)
        }
        let first = page * pageSize
        return .jsonObject([
            "page": page, "num_pages": numPages, "page_size": pageSize, "total": total, "limit": limit ?? 10_000,
            "start": String(first), "end": String(max(first, first + items.count - 1)),
            "uri": base, "first_page_uri": uri(0),
            "previous_page_uri": page > 0 ? uri(page - 1) : "null",
            "next_page_uri": page + 1 < numPages ? uri(page + 1) : "null",
            "last_page_uri": uri(numPages - 1),
            "messages": Array(items),
        ])
    }

    // MARK: Restcomm wire format

    /// A message as a send answer or list item shows it, or with `detail` as the single-SMS
    /// answer does (adding `num_segments`, and `date_sent` once sent).
    func restcommItem(_ m: SandboxMessage, now: Date, detail: Bool) -> [String: Any] {
        let status = m.status(at: now)
        let account = configuration.restcommAccountSID
        var item: [String: Any] = [
            "sid": m.id, "date_created": Self.rfc2822(m.acceptedAt), "date_updated": Self.rfc2822(now),
            "account_sid": account, "from": m.from, "to": m.to, "body": m.body, "status": status.restcomm,
            "direction": "outbound-api", "api_version": "2012-04-24",
            "uri": "/2012-04-24/Accounts/\(account)/SMS/Messages/\(m.id).json",
        ]
        if detail {
            item["num_segments"] = m.segments
            if status.restcomm != "queued" { item["date_sent"] = Self.iso8601(m.acceptedAt.addingTimeInterval(m.sentAfter)) }
        }
        if let code = status.errorCode, ["failed", "undelivered"].contains(status.restcomm) {
            item["error_code"] = code
            item["error_message"] = SandboxTestNumbers.restcommMessage(code)
        }
        return item
    }

    static func restcommError(_ status: Int, code: Int, _ message: String? = nil) -> HTTPResponse {
        var body: [String: Any] = ["status": status, "message": message ?? SandboxTestNumbers.restcommMessage(code)]
        if code != 0 { body["code"] = code }
        return .jsonObject(body, status: status)
    }

    /// `2018-05-30` or a full ISO-8601 date-time.
    static func parseISODate(_ text: String) -> Date? {
        parseISODate(text, endOfDay: false)
    }

    static func parseISODate(_ text: String, endOfDay: Bool) -> Date? {
        if let date = ISO8601DateFormatter().date(from: text) { return date }
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        guard let date = day.date(from: text) else { return nil }
        return endOfDay ? date.addingTimeInterval(86_399.999) : date
    }

    private func restcommAuthorized(_ request: HTTPRequest) -> Bool {
        guard let credentials = request.basicCredentials, request.pathParameters["account"] == configuration.restcommAccountSID else {
            return false
        }
        return credentials.user == configuration.restcommAccountSID && credentials.password == configuration.restcommAuthToken
    }

    private func restcommUnauthorized() async -> HTTPResponse {
        await store.noteAuthFailure()
        var response = Self.restcommError(401, code: 20003)
        response.headers.set("WWW-Authenticate", "Basic realm=\"restcomm\"")
        return response
    }
}
