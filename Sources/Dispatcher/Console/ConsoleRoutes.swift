public import HTTP
public import Support
import Foundation
import Jobs
public import Store

/// The operator console under `/console/`: pages rendered on the server, actions as POST
/// forms with a CSRF token, live updates by Server-Sent Events.
///
/// Mount it on any `HTTPRouter` (the worker's server, or `dispatcher console`'s own):
///
///     let console = ConsoleRoutes(pool: pool, configuration: configuration, logger: logger)
///     var router = HTTPRouter()
///     console.register(on: &router)          // registers nothing when the console is off
///     await console.startLiveUpdates()       // LISTEN; without it pages refresh on a timer
///     …
///     await console.stop()                   // before stopping the server
///
/// Every response carries a Content-Security-Policy without inline script or style,
/// `nosniff` and `no-store`. Database work runs on `pool` (give the console its own small
/// pool, so a slow page never delays callbacks).
public final class ConsoleRoutes: Sendable {
    public let configuration: ConsoleConfiguration
    let pool: ConnectionPool
    let logger: Logger
    let csrf = ConsoleCSRF()
    let hub: ConsoleEventHub
    let listCache = ConsoleListCache()
    /// Names this process's event ids, so a browser that saw another process's never waits
    /// for a generation this one has not reached.
    let epoch = String(UInt32.random(in: 0...UInt32.max), radix: 16)
    private let listener = LockedValue<(NotificationListener, Task<Void, Never>)?>(nil)

    /// Rows a list shows at most.
    static let listLimit = 500

    public static let contentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'"

    public init(pool: ConnectionPool, configuration: ConsoleConfiguration, logger: Logger = .silent) {
        self.pool = pool
        self.configuration = configuration
        self.logger = logger
        hub = ConsoleEventHub(debounce: configuration.debounceInterval)
    }

    /// Adds the console's routes, all under `/console/`; none when the console is off.
    public func register(on router: inout HTTPRouter) {
        guard configuration.isEnabled else { return }
        router.get("/console") { _ in Self.secured(Self.redirect("/console/", status: 301)) }
        router.get("/console/") { request in await self.authorized(request) { await self.campaignsPage(request, $0) } }
        router.get("/console/campaigns/{name}") { request in
            await self.authorized(request) { await self.campaignPage(request, $0, name: request.pathParameters["name"] ?? "") }
        }
        router.get("/console/messages") { request in await self.authorized(request) { await self.messagesPage(request, $0) } }
        router.get("/console/messages/{id}") { request in
            await self.authorized(request) { await self.messagePage($0, id: request.pathParameters["id"] ?? "") }
        }
        router.get("/console/limits") { request in await self.authorized(request) { await self.limitsPage(request, $0) } }
        router.get("/console/events") { request in await self.authorized(request) { _ in await self.events(request) } }
        router.get("/console/app.js") { request in
            await self.authorized(request) { _ in Self.asset(ConsoleAssets.script, type: "text/javascript; charset=utf-8") }
        }
        router.get("/console/app.css") { request in
            await self.authorized(request) { _ in Self.asset(ConsoleAssets.stylesheet, type: "text/css; charset=utf-8") }
        }
        for action in ["pause", "resume", "cancel"] {
            router.post("/console/campaigns/{name}/\(action)") { request in
                await self.campaignAction(request, action: action, name: request.pathParameters["name"] ?? "")
            }
        }
        router.post("/console/limits/resume") { request in await self.limitResume(request) }
    }

    /// Starts listening for changes (`LISTEN` on the worker's and the console's channels)
    /// unless configured to poll. Returns whether it listens; when it does not, pages
    /// refresh every `refreshInterval`.
    @discardableResult
    public func startLiveUpdates() async -> Bool {
        guard configuration.isEnabled, configuration.liveUpdates == .listen else { return false }
        if listener.withLock({ $0 != nil }) { return true }
        let poolConfiguration = await pool.configuration
        var conninfo = poolConfiguration.conninfo
        if let database = poolConfiguration.database, !conninfo.contains("://") {
            conninfo += " dbname='" + database.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
        }
        do {
            let started = try await NotificationListener.start(conninfo: conninfo, channels: [Outbox.workChannel, ConsoleActions.consoleChannel])
            let hub = self.hub
            let task = Task { for await _ in started.notifications { await hub.notified() } }
            listener.withLock { $0 = (started, task) }
            return true
        } catch {
            logger.warning("console: LISTEN unavailable; pages refresh every \(Int(configuration.refreshInterval / .seconds(1))) s instead")
            return false
        }
    }

    /// Whether live updates come from `LISTEN`.
    public var isListening: Bool { listener.withLock { $0 != nil } }

    /// Stops listening and answers every waiting event request at once.
    public func stop() async {
        await hub.stop()
        let current = listener.withLock { value -> (NotificationListener, Task<Void, Never>)? in
            defer { value = nil }
            return value
        }
        current?.0.stop()
        current?.1.cancel()
    }

    // MARK: Access

    private func authorized(_ request: HTTPRequest, _ body: (ConsolePrincipal) async -> HTTPResponse) async -> HTTPResponse {
        switch ConsoleAuth.authenticate(request, access: configuration.access) {
        case .allowed(let principal):
            return Self.secured(await body(principal))
        case .unauthenticated:
            var response = HTTPResponse.text("authentication required\n", status: 401)
            response.headers.set("WWW-Authenticate", "Basic realm=\"\(ConsoleAuth.realm)\", charset=\"UTF-8\"")
            return Self.secured(response)
        case .forbidden:
            return Self.secured(.text("forbidden\n", status: 403))
        }
    }

    /// The headers every console response carries.
    static func secured(_ response: HTTPResponse) -> HTTPResponse {
        var response = response
        response.headers.set("Content-Security-Policy", contentSecurityPolicy)
        response.headers.set("X-Content-Type-Options", "nosniff")
        response.headers.set("Cache-Control", "no-store")
        // not no-referrer: under it browsers post forms with `Origin: null`
        response.headers.set("Referrer-Policy", "same-origin")
        response.headers.set("X-Frame-Options", "DENY")
        return response
    }

    static func html(_ html: HTML, status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "text/html; charset=utf-8"], body: Array(html.text.utf8))
    }

    static func redirect(_ location: String, status: Int = 303) -> HTTPResponse {
        var response = HTTPResponse.text("see \(location)\n", status: status)
        response.headers.set("Location", location)
        return response
    }

    static func asset(_ text: String, type: String) -> HTTPResponse {
        HTTPResponse(status: 200, headers: ["Content-Type": type], body: Array(text.utf8))
    }

    private func pages(_ principal: ConsolePrincipal) -> ConsolePages {
        ConsolePages(principal: principal, csrfToken: csrf.token(for: principal.user), refreshInterval: configuration.refreshInterval)
    }

    private func unavailable(_ principal: ConsolePrincipal, _ error: any Error) -> HTTPResponse {
        logger.warning("console: database unavailable: \(error)")
        return Self.html(pages(principal).errorPage(status: 503, title: "Unavailable", message: "The database did not answer. Try again shortly."), status: 503)
    }

    private func notFound(_ principal: ConsolePrincipal, _ what: String) -> HTTPResponse {
        Self.html(pages(principal).errorPage(status: 404, title: "Not found", message: what), status: 404)
    }

    /// The fixed sentences an action's redirect may ask a page to show.
    static let notices: [String: String] = [
        "paused": "Campaign paused.", "resumed": "Campaign resumed.", "cancelled": "Campaign cancelled.",
        "unchanged": "Nothing to do: it was already so.", "key-resumed": "Resumed.",
    ]

    private static func notice(_ request: HTTPRequest) -> String? { request.query["done"].flatMap { notices[$0] } }

    // MARK: Pages

    private func campaignsPage(_ request: HTTPRequest, _ principal: ConsolePrincipal) async -> HTTPResponse {
        let q = request.query
        let filter = ConsolePages.CampaignFilter(
            name: q["name"].flatMap { $0.isEmpty ? nil : String($0.prefix(200)) },
            status: q["status"].flatMap { CampaignState(rawValue: $0)?.rawValue },
            state: q["state"].flatMap { ConsoleRows.states.contains($0) ? $0 : nil })
        do {
            let pool = self.pool
            let load: @Sendable () async throws -> [ConsoleRows.Campaign] = {
                try await pool.withConnection {
                    try await ConsoleQueries.campaignsList($0, name: filter.name, status: filter.status, state: filter.state, limit: Self.listLimit)
                }
            }
            let rows: [ConsoleRows.Campaign]
            if configuration.campaignsListMaxAge > .zero {
                let key = [filter.name ?? "", filter.status ?? "", filter.state ?? ""].joined(separator: "\u{0}")
                rows = try await listCache.rows(key: key, generation: await hub.generation, fresh: configuration.campaignsListFresh,
                                                maxAge: configuration.campaignsListMaxAge, load: load)
            } else {
                rows = try await load()
            }
            return Self.html(pages(principal).campaigns(rows, filter: filter, notice: Self.notice(request)))
        } catch {
            return unavailable(principal, error)
        }
    }

    private func campaignPage(_ request: HTTPRequest, _ principal: ConsolePrincipal, name: String) async -> HTTPResponse {
        let redaction = ConsoleRedaction(role: principal.role)
        do {
            let data = try await pool.withConnection { c -> ConsolePages.CampaignData? in
                guard let campaign = try await ConsoleQueries.campaignGet(c, name: name) else { return nil }
                return ConsolePages.CampaignData(
                    campaign: campaign,
                    series: try await ConsoleQueries.campaignSeries(c, campaignID: campaign.id, minutes: 60),
                    errors: try await ConsoleQueries.campaignErrors(c, campaignID: campaign.id).map(redaction.apply),
                    replyCounts: try await ConsoleQueries.campaignReplyCounts(c, campaignID: campaign.id),
                    replies: try await ConsoleQueries.campaignReplies(c, campaignID: campaign.id, limit: 20).map(redaction.apply))
            }
            guard let data else { return notFound(principal, "No campaign has that name.") }
            return Self.html(pages(principal).campaign(data, notice: Self.notice(request)))
        } catch {
            return unavailable(principal, error)
        }
    }

    private func messagesPage(_ request: HTTPRequest, _ principal: ConsolePrincipal) async -> HTTPResponse {
        let redaction = ConsoleRedaction(role: principal.role)
        let q = request.query
        let text = q["q"].map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : String($0.prefix(200)) }
        var search = ConsoleQueries.MessageSearch()
        if let text {
            search.text = text
            if text.count <= 18, text.allSatisfy(\.isASCIIDigit) { search.id = Int64(text) }
            search.phone = (try? PhoneNumber(parsing: text))?.e164 ?? text
        }
        var filters: [(String, String)] = []
        if let campaign = q["campaign"], !campaign.isEmpty { search.campaign = campaign; filters.append(("campaign", campaign)) }
        if let state = q["state"], ConsoleRows.states.contains(state) { search.state = state; filters.append(("state", state)) }
        if let errorClass = q["error_class"], !errorClass.isEmpty {
            search.errorClass = errorClass
            filters.append(("error_class", errorClass))
            if q["no_code"] == "1" {
                search.errorCode = .some(nil)
                filters.append(("no_code", "1"))
            } else if let code = q["error_code"] {
                search.errorCode = .some(code)
                filters.append(("error_code", code))
            }
        }
        let searched = text != nil || !filters.isEmpty
        do {
            let rows = searched
                ? try await pool.withConnection { try await ConsoleQueries.messagesSearch($0, search, limit: Self.listLimit) }.map(redaction.apply)
                : []
            // a viewer's own search is not echoed with a full number either
            return Self.html(pages(principal).messageSearch(query: redaction.freeText(text), filters: filters, rows: rows, searched: searched))
        } catch {
            return unavailable(principal, error)
        }
    }

    private func messagePage(_ principal: ConsolePrincipal, id text: String) async -> HTTPResponse {
        guard text.count <= 18, text.allSatisfy(\.isASCIIDigit), let id = Int64(text) else {
            return notFound(principal, "No message has that id.")
        }
        let redaction = ConsoleRedaction(role: principal.role)
        do {
            let data = try await pool.withConnection { c -> ConsolePages.MessageData? in
                guard let detail = try await ConsoleQueries.messageGet(c, id: id) else { return nil }
                return ConsolePages.MessageData(
                    detail: redaction.apply(detail),
                    events: try await ConsoleQueries.messageEvents(c, id: id).map(redaction.apply),
                    inbox: try await ConsoleQueries.messageInbox(c, id: id).map(redaction.apply),
                    replies: try await ConsoleQueries.messageReplies(c, id: id).map(redaction.apply))
            }
            guard let data else { return notFound(principal, "No message has that id.") }
            return Self.html(pages(principal).message(data))
        } catch {
            return unavailable(principal, error)
        }
    }

    private func limitsPage(_ request: HTTPRequest, _ principal: ConsolePrincipal) async -> HTTPResponse {
        let redaction = ConsoleRedaction(role: principal.role)
        do {
            let data = try await pool.withConnection { c in
                let inDoubt = try await ConsoleQueries.inDoubtList(c, limit: Self.listLimit)
                let optOuts = try await ConsoleQueries.optOutsList(c, limit: Self.listLimit)
                return ConsolePages.LimitsData(
                    limits: try await ConsoleQueries.rateLimitsList(c, recoveryPerSecond: 1.1).map(redaction.apply),
                    inDoubt: inDoubt.rows.map(redaction.apply), inDoubtTotal: inDoubt.total,
                    optOuts: optOuts.rows.map(redaction.apply), optOutsTotal: optOuts.total)
            }
            return Self.html(pages(principal).limits(data, notice: Self.notice(request)))
        } catch {
            return unavailable(principal, error)
        }
    }

    // MARK: Live updates

    /// One Server-Sent Event per answer, then the answer ends and the browser reconnects
    /// after `retry` (the HTTP server sends whole responses, not streams): `change` as soon
    /// as the database notified a change since the event id the browser last saw (at most
    /// one per debounce interval), or `tick` after `refreshInterval` without one.
    private func events(_ request: HTTPRequest) async -> HTTPResponse {
        let current = await hub.generation
        var seen = current
        var stale = false
        if let last = request.headers["Last-Event-ID"] {
            let parts = last.split(separator: "-")
            if parts.count == 2, parts[0] == epoch, let n = Int(parts[1]) { seen = n } else { stale = true }
        }
        let text: String
        if stale {
            // another process's id: something may have changed meanwhile
            text = "retry: 1000\nid: \(epoch)-\(current)\nevent: change\ndata: \(current)\n\n"
        } else if let generation = await hub.wait(after: seen, timeout: configuration.refreshInterval) {
            text = "retry: 1000\nid: \(epoch)-\(generation)\nevent: change\ndata: \(generation)\n\n"
        } else {
            text = "retry: 1000\nevent: tick\ndata: \(isListening ? "listen" : "poll")\n\n"
        }
        return HTTPResponse(status: 200, headers: ["Content-Type": "text/event-stream; charset=utf-8"], body: Array(text.utf8))
    }

    // MARK: Actions

    /// The checks every action passes first: credentials, the operator role, the request's
    /// origin, a form, and the user's CSRF token. Then `perform` runs.
    private func action(_ request: HTTPRequest,
                        _ perform: (ConsolePrincipal, [String: String]) async -> HTTPResponse) async -> HTTPResponse {
        await authorized(request) { principal in
            guard principal.role == .operator else { return .text("forbidden: viewers cannot act\n", status: 403) }
            // A browser names the page's origin; `null` (a privacy setting, a sandbox) leaves it to the token.
            if let origin = request.headers["Origin"], origin != "null", !Self.sameOrigin(origin, host: request.headers["Host"]) {
                return .text("forbidden: cross-origin request\n", status: 403)
            }
            guard case .success(let form) = request.formText() else { return .text("the body must be a form\n", status: 400) }
            guard csrf.verify(form["csrf"], for: principal.user) else {
                return .text("forbidden: missing or wrong CSRF token (reload the page)\n", status: 403)
            }
            return await perform(principal, form)
        }
    }

    /// Whether a browser's `Origin` names the host the request was sent to.
    static func sameOrigin(_ origin: String, host: String?) -> Bool {
        guard let host, let url = URL(string: origin), let originHost = url.host else { return false }
        let strip = { (s: String) in s.replacingOccurrences(of: "[", with: "").replacingOccurrences(of: "]", with: "").lowercased() }
        return strip(url.port.map { "\(originHost):\($0)" } ?? originHost) == strip(host)
    }

    private func campaignAction(_ request: HTTPRequest, action name: String, name campaign: String) async -> HTTPResponse {
        await action(request) { principal, form in
            if name == "cancel" && form["confirm"] != "yes" {
                return .text("cancelling needs the confirmation box ticked\n", status: 400)
            }
            do {
                let outcome = try await pool.withConnection { c in
                    switch name {
                    case "pause": try await ConsoleActions.campaignPause(c, name: campaign, user: principal.user)
                    case "resume": try await ConsoleActions.campaignResume(c, name: campaign, user: principal.user)
                    default: try await ConsoleActions.campaignCancel(c, name: campaign, user: principal.user)
                    }
                }
                await listCache.clear()  // the operator sees the action's result at once
                logger.notice("console: campaign \(name)", ["console.user": principal.user, "campaign": campaign,
                                                            "messages": String(outcome.messages)])
                let done = outcome.changed ? ["pause": "paused", "resume": "resumed", "cancel": "cancelled"][name]! : "unchanged"
                return Self.redirect(ConsoleURL.with(ConsoleURL.campaign(campaign), [("done", done)]))
            } catch let error as Outbox.CampaignControlError {
                switch error {
                case .unknownCampaign: return notFound(principal, "No campaign has that name.")
                case .cancelled: return Self.html(pages(principal).errorPage(status: 409, title: "Cancelled", message: error.description), status: 409)
                }
            } catch {
                return unavailable(principal, error)
            }
        }
    }

    private func limitResume(_ request: HTTPRequest) async -> HTTPResponse {
        await action(request) { principal, form in
            guard let key = form["key"], key.hasPrefix("sender:") || key.hasPrefix("provider:") else {
                return .text("key must be sender:NUMBER or provider:NAME\n", status: 400)
            }
            do {
                let outcome = try await pool.withConnection { try await ConsoleActions.rateLimitResume($0, key: key, user: principal.user) }
                await listCache.clear()
                logger.notice("console: resume", ["console.user": principal.user, "rate_limit.key": key,
                                                  "messages": String(outcome.messages)])
                return Self.redirect(ConsoleURL.with(ConsoleURL.limits, [("done", outcome.changed ? "key-resumed" : "unchanged")]))
            } catch {
                return unavailable(principal, error)
            }
        }
    }
}
