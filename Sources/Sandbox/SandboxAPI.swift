import Foundation
internal import Glibc
import HTTP

/// The sandbox's routes: credentials, the store, the callback poster.
final class SandboxAPI: Sendable {
    let configuration: SandboxConfiguration
    let store: SandboxStore
    let callbacks: SandboxCallbacks

    init(configuration: SandboxConfiguration, store: SandboxStore, callbacks: SandboxCallbacks) {
        self.configuration = configuration
        self.store = store
        self.callbacks = callbacks
    }

    func router() -> HTTPRouter {
        var router = HTTPRouter()
        // The provider routes, each behind the outage switch (the /sandbox/ routes stay up).
        func provider(_ handler: @escaping @Sendable (HTTPRequest) async -> HTTPResponse) -> @Sendable (HTTPRequest) async -> HTTPResponse {
            { request in
                switch await self.store.outage(isSend: request.method == "POST") {
                case nil: return await handler(request)
                case .refuse?:
                    var response = HTTPResponse.status(503)
                    response.headers.set("Retry-After", "1")
                    return response
                case .reset?: return .resetConnection
                }
            }
        }
        router.post("/ws/sms/queue.json", provider { await self.plumQueue($0) })
        router.get("/ws/sms/status.json/{id}", provider { await self.plumStatus($0) })
        router.get("/ws/sms/messages.json", provider { await self.plumMessages($0) })
        router.get("/ws/sms/messages.json/", provider { await self.plumMessages($0) })
        for prefix in ["/restcomm", "/api"] {
            for list in ["Messages.json", "Messages"] {
                router.post("\(prefix)/2012-04-24/Accounts/{account}/SMS/\(list)", provider { await self.restcommSend($0) })
                router.get("\(prefix)/2012-04-24/Accounts/{account}/SMS/\(list)", provider { await self.restcommList($0) })
            }
            router.get("\(prefix)/2012-04-24/Accounts/{account}/SMS/Messages/{sid}", provider { await self.restcommGet($0) })
        }
        router.get("/sandbox/ping") { _ in Self.pong }
        router.get("/sandbox/stats") { _ in .encodeJSON(await self.store.stats()) }
        router.get("/sandbox/messages") { await self.sandboxMessages($0) }
        router.post("/sandbox/reset") { _ in
            await self.store.reset()
            return .jsonObject(["reset": true])
        }
        router.get("/sandbox/knobs") { _ in .encodeJSON(await self.store.knobs) }
        router.post("/sandbox/knobs") { request in
            guard let knobs = try? request.decodeJSON(SandboxKnobs.self) else { return .text("knobs: invalid JSON\n", status: 400) }
            await self.store.setKnobs(knobs)
            return .encodeJSON(knobs)
        }
        return router
    }

    private static let pong = HTTPResponse(status: 200, headers: ["Content-Type": "text/plain"], body: Array("pong\n".utf8))

    /// `GET /sandbox/messages[?to=…]`: every accepted message with its current state and accept count.
    private func sandboxMessages(_ request: HTTPRequest) async -> HTTPResponse {
        let to = request.query["to"]
        let now = Date()
        var items: [[String: Any]] = []
        for m in await store.allMessages() where to == nil || m.to == to || m.recipient == to {
            let count = await store.acceptCount(api: m.api, from: m.from, to: m.to, body: m.body)
            let status = m.status(at: now)
            var item: [String: Any] = ["id": m.id, "api": m.api.rawValue, "from": m.from, "to": m.to, "body": m.body,
                                       "state": status.state, "accept_count": count, "segments": m.segments,
                                       "accepted_at": m.acceptedAt.timeIntervalSince1970]
            if let code = status.errorCode { item["error_code"] = code }
            items.append(item)
        }
        return .jsonObject(["messages": items, "count": items.count])
    }

    // MARK: Shared helpers

    func schedule(_ callbacks: [SandboxCallbackEvent], after delay: Double = 0) {
        self.callbacks.schedule(callbacks, acceptedAt: .now + .milliseconds(Int64(max(0, delay) * 1000)))
    }

    /// A front end's error page after the provider committed: a 5xx without the provider's
    /// envelope, so it says nothing of the message.
    static func gatewayError(_ status: Int) -> HTTPResponse {
        let text = "<html><body><h1>\(status) \(HTTPStatus.reason(status))</h1></body></html>\n"
        return HTTPResponse(status: status, headers: ["Content-Type": "text/html"], body: Array(text.utf8))
    }

    /// Waits out a slow answer (the message is already accepted).
    func slowAnswer(_ seconds: Double?) async {
        guard let seconds, seconds > 0 else { return }
        try? await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
    }

    static func isE164(_ s: String) -> Bool {
        s.hasPrefix("+") && (8...16).contains(s.count) && s.dropFirst().allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// RFC 2822 date as in Restcomm's documentation: `Thu, 19 Nov 2015 07:21:35 +0000`. (Formatters are slow
    /// to create and not Sendable; the sandbox formats by hand.)
    static func rfc2822(_ date: Date) -> String {
        let p = utc(date)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return "\(days[Int(p.tm_wday)]), \(p.tm_mday) \(months[Int(p.tm_mon)]) \(p.tm_year + 1900) "
            + "\(two(p.tm_hour)):\(two(p.tm_min)):\(two(p.tm_sec)) +0000"
    }

    /// `2019-07-04T07:02:28.000Z`, the documented `date_sent` form.
    static func iso8601(_ date: Date) -> String {
        let p = utc(date)
        return "\(p.tm_year + 1900)-\(two(p.tm_mon + 1))-\(two(p.tm_mday))T\(two(p.tm_hour)):\(two(p.tm_min)):\(two(p.tm_sec)).000Z"
    }

    private static func utc(_ date: Date) -> tm {
        var t = time_t(date.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&t, &parts)
        return parts
    }

    private static func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
}
