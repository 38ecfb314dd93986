import Foundation
import HTTP

/// The Plum SMS REST API as the provider documents it: envelope `{"status","error","result"}`,
/// Basic auth. Each answer has exactly the fields (and JSON types) of the documentation's example
/// for that service — `request_timestamp` a number in `queue.json`, strings elsewhere; `total` a
/// string; `delivery_status` only in `status.json` and only once known — and failures are written
/// the way the documentation writes them (`SeedContractTests` holds the sandbox to this).
extension SandboxAPI {
    func plumQueue(_ request: HTTPRequest) async -> HTTPResponse {
        guard plumAuthorized(request) else { return await plumUnauthorized() }
        guard let form = request.formFields() else { return Self.plumFailure("Request body must be application/x-www-form-urlencoded", status: 400) }
        guard let to = form["to"], let recipient = Self.plumRecipient(to) else {
            await store.noteRequest()
            return Self.plumFailure("Invalid 'to' phone number")
        }
        guard let from = form["from"], !from.isEmpty else {
            await store.noteRequest()
            return Self.plumFailure("Invalid 'from' phone number")
        }
        let body = form["body"] ?? ""
        guard !body.isEmpty, body.count <= 1600 else {
            await store.noteRequest()
            return Self.plumFailure(body.isEmpty ? "Missing message body" : "Message body too long")
        }
        let resultURL = form["result_url"]
        switch await store.submit(api: .plum, from: from, to: to, recipient: recipient, body: body,
                                  callbackURL: resultURL, callbackMethod: "POST", accountSID: "") {
        case .rateLimited:
            return Self.plumFailure("Rate limit exceeded", status: 429)
        case .serverError:
            return Self.plumFailure("Internal server error", status: 500)
        case .refused(let fate):
            guard case .refused(let text, _) = fate else { return Self.plumFailure("Refused") }
            return Self.plumFailure(text ?? "Refused")
        case .accepted(let message, let slow, let status, let events, let callbacksAfter):
            schedule(events, after: callbacksAfter)
            await slowAnswer(slow)
            if let status { return Self.gatewayError(status) }
            let sms: [String: Any] = [
                "sms_message_id": message.id, "to": message.to, "from": message.from, "body": message.body,
                "request_timestamp": Int(message.acceptedAt.timeIntervalSince1970),
                "result_url": resultURL ?? "", "status": "queued",
            ]
            return Self.plumSuccess(["sms_messages": [sms]])
        }
    }

    func plumStatus(_ request: HTTPRequest) async -> HTTPResponse {
        guard plumAuthorized(request) else { return await plumUnauthorized() }
        await store.noteRequest()
        guard let id = request.pathParameters["id"], let message = await store.message(id: id), message.api == .plum else {
            return Self.plumFailure("SMS message not found", status: 404)
        }
        return Self.plumSuccess(Self.plumItem(message, now: Date(), resultURL: false, deliveryStatus: true))
    }

    /// `messages.json`: offset/limit (50…1000) paging, order, timestamps, msg_type, phone_number, number_type.
    func plumMessages(_ request: HTTPRequest) async -> HTTPResponse {
        guard plumAuthorized(request) else { return await plumUnauthorized() }
        await store.noteRequest()
        let q = request.query
        let offset = max(0, Int(q["offset"] ?? "") ?? 0)
        let limit = min(1000, max(50, Int(q["limit"] ?? "") ?? 50))
        let start = Int(q["start_timestamp"] ?? "") ?? 0
        let end = Int(q["end_timestamp"] ?? "") ?? 0
        let msgType = q["msg_type"] ?? ""
        let phone = q["phone_number"].map(Self.plumNumber) ?? ""
        let numberType = q["number_type"] ?? ""
        if msgType == "inbound" {
            return Self.plumSuccess(["offset": offset, "limit": limit, "total": "0", "sms_messages": [[String: Any]]()])
        }
        var selected = await store.messages(api: .plum).filter { m in
            let t = Int(m.acceptedAt.timeIntervalSince1970)
            if start > 0 && t < start { return false }
            if end > 0 && t > end { return false }
            if !phone.isEmpty {
                let to = Self.plumNumber(m.to), from = Self.plumNumber(m.from)
                switch numberType {
                case "customer": if to != phone { return false }
                case "account": if from != phone { return false }
                default: if to != phone && from != phone { return false }
                }
            }
            return true
        }
        if q["order"] == "desc" { selected.reverse() }
        let now = Date()
        let delivery = await store.knobs.plumListDeliveryStatus
        let page = selected.dropFirst(offset).prefix(limit).map { Self.plumItem($0, now: now, resultURL: true, deliveryStatus: delivery) }
        return Self.plumSuccess(["offset": offset, "limit": limit, "total": String(selected.count), "sms_messages": Array(page)])
    }

    // MARK: Plum wire format

    /// A message as `status.json` (no `result_url`) or `messages.json` (with it) shows it.
    /// `delivery_status` (when `deliveryStatus`) only once the message is sent and its delivery
    /// outcome is known — delivered, undelivered, or unconfirmed.
    static func plumItem(_ m: SandboxMessage, now: Date, resultURL: Bool, deliveryStatus: Bool) -> [String: Any] {
        let status = m.status(at: now)
        var item: [String: Any] = [
            "sms_message_id": m.id, "to": m.to, "from": m.from, "body": m.body,
            "request_timestamp": String(Int(m.acceptedAt.timeIntervalSince1970)),
            "response_timestamp": String(Int(m.acceptedAt.timeIntervalSince1970 + m.sentAfter)),
            "status": status.plum,
        ]
        if resultURL { item["result_url"] = m.callbackURL ?? "" }
        if deliveryStatus, status.plum == "sent", let delivery = status.plumDelivery { item["delivery_status"] = delivery }
        return item
    }

    /// `to` as Plum takes it (10 digits, or 11 with the leading 1) → E.164; nil when invalid.
    static func plumRecipient(_ to: String) -> String? {
        guard to.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        if to.count == 10 { return "+1" + to }
        if to.count == 11 && to.hasPrefix("1") { return "+" + to }
        return nil
    }

    static func plumSuccess(_ result: [String: Any]) -> HTTPResponse {
        .jsonObject(["status": "success", "error": "", "result": result])
    }

    /// A failure as the documentation writes it: the envelope's sample with its trailing comma
    /// (`{"status":"failure","error":"…",}`), and the unsubscribed and landline notifications
    /// on one line with the error doubled-quoted (`{"status":"failure","error":""Attempt…""}`).
    /// Neither is strict JSON; the client reads both.
    static func plumFailure(_ error: String, status: Int = 200) -> HTTPResponse {
        let text = error.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        let body: String
        if plumNotification(error) {
            body = "{\"status\":\"failure\",\"error\":\"\"\(text)\"\"}\n"
        } else {
            body = "{\n  \"status\":\"failure\",\n  \"error\":\"\(text)\",\n}\n"
        }
        return HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: Array(body.utf8))
    }

    /// The "Special Notifications" of the documentation: unsubscribed recipient, landline.
    static func plumNotification(_ error: String) -> Bool {
        error.hasPrefix("Attempt to send to unsubscribed recipient") || error.hasSuffix("is not a mobile number")
    }

    private func plumAuthorized(_ request: HTTPRequest) -> Bool {
        guard let credentials = request.basicCredentials else { return false }
        return credentials.user == configuration.plumUsername && credentials.password == configuration.plumPassword
    }

    private func plumUnauthorized() async -> HTTPResponse {
        await store.noteAuthFailure()
        var response = Self.plumFailure("Unauthorized access to sms service", status: 401)
        response.headers.set("WWW-Authenticate", "Basic realm=\"plum\"")
        return response
    }

    /// Plum's number form, as its documents give it: 10-digit NANP numbers (`+12025550143` →
    /// `2025550143`); others lose the `+`.
    static func plumNumber(_ number: String) -> String {
        let digits = number.hasPrefix("+") ? String(number.dropFirst()) : number
        if digits.count == 11 && digits.hasPrefix("1") && digits.allSatisfy(\.isNumber) { return String(digits.dropFirst()) }
        return digits
    }
}
