import HTTP
import Support
import Foundation
import Store
import TestSupport
import Testing
@testable import Dispatcher

/// A demo-like data set for the console's tests: three campaigns that between them have a
/// message in every state, attempts, callbacks (one waiting in the inbox), replies, an
/// opt-out from an inbound STOP, a halted sender and an unavailable provider account.
/// Names, bodies and provider fields carry the injection strings the other tests use.
struct ConsoleDataSet {
    static let hostileName = "<script>alert(1)</script>"
    static let hostileBody = "Your appointment <img src=x onerror=alert(2)> & \"soon\" 'x' BODY-TEXT-7731"
    static let hostileReply = "CONFIRM <script>&amp;</script> REPLY-TEXT-5518"
    static let hostileStop = "STOP <b>now</b> STOP-TEXT-9920"
    static let hostileCallback = "MessageSid=SMp1&MessageStatus=delivered&Body=%3Cscript%3Ealert(3)%3C%2Fscript%3E&To=%2B12025550101 <script>alert(3)</script>"
    static let hostileInbox = "sms_message_id=p8&status=<svg onload=alert(5)> INBOX-TEXT-4410"
    static let hostileHalt = "authentication failed <b>401</b> for +12435678910"
    static let sender = "+12435678910"

    struct Message {
        var campaign: String
        var external: String
        var to: String
        var state: String
        var acceptedAgo: Int? = nil
        var finalAgo: Int? = nil
        var errorClass: String? = nil
        var errorCode: String? = nil
        var providerID: String? = nil
    }

    static let campaigns: [(name: String, status: String)] = [
        (hostileName, "active"), ("dental-2026-11-24", "paused"), ("cxl", "cancelled"),
    ]

    static let messages: [Message] = [
        Message(campaign: hostileName, external: "a-1", to: "+12025550101", state: "delivered", acceptedAgo: 600, finalAgo: 540, providerID: "SMp1"),
        Message(campaign: hostileName, external: "a-2", to: "+12025550102", state: "delivered", acceptedAgo: 590, finalAgo: 500, providerID: "SMp2"),
        Message(campaign: hostileName, external: "a-3", to: "+12025550103", state: "failed", errorClass: "invalid_number", errorCode: "21211"),
        Message(campaign: hostileName, external: "a-4", to: "+12025550104", state: "pending"),
        Message(campaign: hostileName, external: "a-5", to: "+12025550105", state: "pending"),
        Message(campaign: hostileName, external: "a-6", to: "+12025550106", state: "in_doubt", errorClass: "timeout"),
        Message(campaign: hostileName, external: "a-7", to: "+12025550107", state: "accepted", acceptedAgo: 120, providerID: "SMp7"),
        Message(campaign: hostileName, external: "a-8", to: "+12025550108", state: "sent", acceptedAgo: 100, providerID: "SMp8"),
        Message(campaign: hostileName, external: "a-9", to: "+12025550109", state: "undelivered", acceptedAgo: 580, finalAgo: 400,
                errorClass: "unreachable", errorCode: "30003", providerID: "SMp9"),
        Message(campaign: "dental-2026-11-24", external: "d-1", to: "+12025550111", state: "expired"),
        Message(campaign: "dental-2026-11-24", external: "d-2", to: "+12025550112", state: "suppressed", errorClass: "opted_out"),
        Message(campaign: "dental-2026-11-24", external: "d-3", to: "+12025550113", state: "unconfirmed", acceptedAgo: 900, finalAgo: 30, providerID: "SMd3"),
        Message(campaign: "dental-2026-11-24", external: "d-4", to: "+12025550114", state: "sending"),
        Message(campaign: "dental-2026-11-24", external: "d-5", to: "+12025550115", state: "pending"),
        Message(campaign: "cxl", external: "c-1", to: "+12025550121", state: "cancelled"),
        Message(campaign: "cxl", external: "c-2", to: "+12025550122", state: "delivered", acceptedAgo: 3000, finalAgo: 2990, providerID: "SMc2"),
    ]

    /// Every recipient's number.
    static var phones: [String] { messages.map(\.to) }

    /// Inserts the data set; returns message ids by external id.
    @discardableResult
    static func insert(_ c: Connection) async throws -> [String: Int64] {
        for (name, status) in campaigns {
            try await c.execute("""
                INSERT INTO campaigns (name, status, provider, from_number, created_at)
                VALUES (\(name), \(status), 'plum', \(sender), now() - interval '1 hour')
                """)
        }
        var ids: [String: Int64] = [:]
        for m in messages {
            let final = ["delivered", "undelivered", "failed", "expired", "cancelled", "suppressed", "unconfirmed"].contains(m.state)
            let id = try await c.query("""
                INSERT INTO messages (campaign_id, external_id, state, provider, from_number, to_number, segments, attempts,
                                      due_at, next_attempt_at, first_attempt_at, accepted_at, final_at, in_doubt_since,
                                      error_class, error_code, provider_message_id)
                SELECT id, \(m.external), \(m.state), 'plum', \(sender), \(m.to), 1, \(m.state == "pending" ? 0 : 1),
                       now() - interval '15 minutes', now() + interval '1 minute',
                       CASE WHEN \(m.state) NOT IN ('pending', 'suppressed', 'cancelled', 'expired') THEN now() - interval '14 minutes' END,
                       now() - make_interval(secs => \(m.acceptedAgo.map(Double.init))),
                       CASE WHEN \(final) THEN now() - make_interval(secs => coalesce(\(m.finalAgo.map(Double.init)), 60)) END,
                       CASE WHEN \(m.state) = 'in_doubt' THEN now() - interval '2 minutes' END,
                       \(m.errorClass), \(m.errorCode), \(m.providerID)
                  FROM campaigns WHERE name = \(m.campaign)
                RETURNING id
                """).scalar(Int64.self)!
            ids[m.external] = id
            try await c.execute("INSERT INTO message_bodies (message_id, body) VALUES (\(id), \(hostileBody + " " + m.external))")
            if m.state != "pending" && m.state != "suppressed" && m.state != "cancelled" && m.state != "expired" {
                try await c.execute("""
                    INSERT INTO message_events (message_id, at, kind, source, from_state, to_state, provider_status, http_status,
                                                error_code, error_class, latency_ms, detail)
                    VALUES (\(id), now() - interval '14 minutes', 'attempt', 'dispatcher', 'sending', \(m.acceptedAgo == nil ? m.state : "accepted"),
                            \(m.acceptedAgo == nil ? nil : "queued" as String?), \(m.acceptedAgo == nil ? 400 : 200),
                            \(m.errorCode), \(m.errorClass), 412, \(m.providerID.map { "provider id " + $0 }))
                    """)
            }
        }
        // a delivery callback with its body as received (Body and To inside)
        try await c.execute("""
            INSERT INTO message_events (message_id, at, kind, source, from_state, to_state, provider_status, latency_ms, detail)
            VALUES (\(ids["a-1"]!), now() - interval '9 minutes', 'callback', 'callback', 'accepted', 'delivered', 'delivered', 35,
                    \("applied; " + hostileCallback))
            """)
        // a report still waiting in the inbox
        try await c.execute("""
            INSERT INTO callback_inbox (message_id, source, provider, provider_message_id, provider_status, state, raw)
            VALUES (\(ids["a-8"]!), 'callback', 'plum', 'SMp8', 'delivered', 'delivered', \(hostileInbox))
            """)
        // replies: a CONFIRM, and a STOP that made an opt-out
        try await c.execute("""
            INSERT INTO inbound_messages (provider, provider_message_id, from_number, to_number, body, keyword, related_message_id)
            VALUES ('plum', 'in-1', '+12025550101', \(sender), \(hostileReply), 'confirm', \(ids["a-1"]!)),
                   ('plum', 'in-2', '+12025550102', \(sender), \(hostileStop), 'stop', \(ids["a-2"]!))
            """)
        try await c.execute("INSERT INTO opt_outs (phone, sender, source) VALUES ('+12025550102', \(sender), 'inbound')")
        // the shared limiter: a halted sender, an unavailable provider account
        try await c.execute("""
            -- refreshed in the future: the slow-down has not begun to recover, however long the test takes
            INSERT INTO rate_limits (key, rate, burst, slow_factor, refreshed_at, halted_at, halt_reason)
            VALUES (\(RateLimits.senderKey(sender)), 5, 10, 0.5, now() + interval '1 day', now() - interval '3 minutes', \(hostileHalt))
            """)
        try await c.execute("""
            INSERT INTO rate_limits (key, rate, burst, unavailable_since, unavailable_until, probe_interval_s)
            VALUES ('provider:plum', 20, 40, now() - interval '4 minutes', now() + interval '30 seconds', 8)
            """)
        return ids
    }
}

/// A console served over real HTTP against a test database.
struct ConsoleServer {
    static let operatorUser = (name: "olivia", password: "operator-password-1")
    static let viewerUser = (name: "victor", password: "viewer-password-22")

    let db: TestDatabase
    let connection: Connection
    let routes: ConsoleRoutes
    let server: HTTPServer
    let pool: ConnectionPool
    let port: Int
    let client = HTTPClient()
    var ids: [String: Int64] = [:]

    static func credentials() -> ConsoleConfiguration {
        ConsoleConfiguration(access: .credentials([
            .init(name: operatorUser.name, password: Secret(operatorUser.password), role: .operator),
            .init(name: viewerUser.name, password: Secret(viewerUser.password), role: .viewer),
        ]))
    }

    /// Starts a console with `configuration` on a fresh database holding the data set.
    static func start(_ configuration: ConsoleConfiguration = credentials(), seed: Bool = true) async throws -> ConsoleServer {
        let db = try await TestPostgres.database()
        let connection = try await db.connect()
        let ids = seed ? try await ConsoleDataSet.insert(connection) : [:]
        let pool = db.pool(maxConnections: 2)
        let routes = ConsoleRoutes(pool: pool, configuration: configuration)
        var router = HTTPRouter()
        routes.register(on: &router)
        let server = HTTPServer(configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0), router: router)
        let port = try server.start()
        var s = ConsoleServer(db: db, connection: connection, routes: routes, server: server, pool: pool, port: port)
        s.ids = ids
        return s
    }

    func stop() async {
        await routes.stop()
        await server.stop()
        await client.shutdown()
        await pool.close()
        await connection.close()
    }

    enum Who {
        case nobody
        case operatorUser
        case viewer
        case basic(String, String)
    }

    struct Answer {
        var status: Int
        var headers: HTTPHeaders
        var text: String
    }

    func request(_ path: String, as who: Who = .operatorUser, headers: [(String, String)] = []) async throws -> Answer {
        try await request("GET", path, as: who, form: nil, headers: headers)
    }

    func request(_ method: String, _ path: String, as who: Who = .operatorUser, form: [(String, String)]? = nil,
                 headers: [(String, String)] = []) async throws -> Answer {
        var request = HTTPClientRequest(method: method, url: URL(string: "http://127.0.0.1:\(port)\(path)")!, timeout: .seconds(60))
        switch who {
        case .nobody: break
        case .operatorUser: request.setBasicAuth(user: Self.operatorUser.name, password: Self.operatorUser.password)
        case .viewer: request.setBasicAuth(user: Self.viewerUser.name, password: Self.viewerUser.password)
        case .basic(let user, let password): request.setBasicAuth(user: user, password: password)
        }
        if let form { request.setForm(form) }
        for (name, value) in headers { request.headers.set(name, value) }
        let response = try await client.execute(request)
        return Answer(status: response.status, headers: response.headers, text: String(decoding: response.body, as: UTF8.self))
    }

    /// Every page of the console for the data set: lists, each campaign, each message.
    func allPages() -> [String] {
        var pages = ["/console/", "/console/limits", "/console/messages", "/console/messages?q=a-1",
                     "/console/messages?q=%2B12025550101", "/console/?state=failed&name=%3Cscript",
                     "/console/messages?campaign=" + ConsoleURL.segment(ConsoleDataSet.hostileName) + "&error_class=invalid_number&error_code=21211"]
        pages += ConsoleDataSet.campaigns.map { ConsoleURL.campaign($0.name) }
        pages += ids.values.sorted().map { ConsoleURL.message($0) }
        return pages
    }

    /// The CSRF token in a page's forms.
    static func csrfToken(in page: String) -> String? {
        guard let range = page.range(of: "name=\"csrf\" value=\"") else { return nil }
        return String(page[range.upperBound...].prefix { $0 != "\"" })
    }
}
