import HTTP
import Support
import Foundation
@testable import Store
import TestSupport
import Testing
@testable import Dispatcher

/// The operator console over real HTTP against a real database holding a demo-like data set.
@Suite struct ConsoleTests {
    /// The part of a page between `start` and the next `end`.
    static func slice(_ text: String, from start: String, to end: String) -> String? {
        guard let a = text.range(of: start), let b = text.range(of: end, range: a.upperBound..<text.endIndex) else { return nil }
        return String(text[a.lowerBound..<b.upperBound])
    }

    @Test func campaignsPageShowsTheFiguresOfCampaignReport() async throws {
        let s = try await ConsoleServer.start()
        defer { Task { await s.stop() } }
        let page = try await s.request("/console/")
        #expect(page.status == 200)
        #expect(page.headers["Content-Type"] == "text/html; charset=utf-8")
        let report = try await s.connection.query("SELECT * FROM campaign_report ORDER BY campaign_id")
        #expect(report.count == ConsoleDataSet.campaigns.count)
        let extras = try await Outbox.campaignReportList(s.connection, campaign: nil)
        for row in report {
            let id: Int64 = try row["campaign_id"]
            let tr = try #require(Self.slice(page.text, from: "<tr data-campaign-id=\"\(id)\">", to: "</tr>"))
            #expect(tr.contains("<td data-figure=\"status\">\(try row["campaign_status", as: String.self])</td>"))
            #expect(tr.contains("data-figure=\"total\">\(try row["total", as: Int.self])</td>"))
            let rate: Double = try row["delivery_rate"]
            #expect(tr.contains("data-figure=\"delivery-rate\">\(String(format: "%.1f %%", rate * 100))</td>"))
            for state in ConsoleRows.states {
                let n: Int = try row[state]
                if n > 0 {
                    #expect(tr.contains("<b data-state=\"\(state)\">\(n)</b>"), "\(state) of campaign \(id)")
                } else {
                    #expect(!tr.contains("data-state=\"\(state)\""), "\(state) of campaign \(id)")
                }
            }
            // errors, replies and opt-outs as `dispatcher report` counts them
            let extra = try #require(extras.first { $0.campaignID == id })
            #expect(tr.contains("data-figure=\"errors\">\(extra.errors.reduce(0) { $0 + $1.count })</td>"))
            #expect(tr.contains("data-figure=\"replies\">\(extra.replies.values.reduce(0, +))</td>"))
            #expect(tr.contains("data-figure=\"opt-outs\">\(extra.optOuts)</td>"))
        }
        // the data set has a message in every state
        let states = try await s.connection.query("SELECT count(DISTINCT state) FROM messages").scalar(Int.self)
        #expect(states == 12)
        // filters: by message state and by name
        let failed = try await s.request("/console/?state=failed")
        #expect(failed.text.components(separatedBy: "<tr data-campaign-id=").count - 1 == 1)
        let byName = try await s.request("/console/?name=DENTAL")
        #expect(byName.text.contains("dental-2026-11-24") && !byName.text.contains("&lt;script&gt;alert(1)"))
        let paused = try await s.request("/console/?status=paused")
        #expect(paused.text.components(separatedBy: "<tr data-campaign-id=").count - 1 == 1)
    }

    @Test func campaignPageShowsLatenciesErrorsRepliesAndActions() async throws {
        let s = try await ConsoleServer.start()
        defer { Task { await s.stop() } }
        let name = ConsoleDataSet.hostileName
        let page = try await s.request(ConsoleURL.campaign(name))
        #expect(page.status == 200)
        let row = try #require(try await s.connection.query("SELECT * FROM campaign_report WHERE campaign = \(name)").first)
        #expect(page.text.contains("data-figure=\"total\">\(try row["total", as: Int.self])</td>"))
        for (column, figure) in [("send_latency_p50_s", "send-p50"), ("send_latency_p95_s", "send-p95"),
                                 ("delivery_latency_p50_s", "delivery-p50"), ("delivery_latency_p95_s", "delivery-p95")] {
            let value: Double = try row[column]
            #expect(page.text.contains("data-figure=\"\(figure)\">\(String(format: "%.1f s", value))</td>"), "\(column)")
        }
        // errors by class and code, each linking to its messages
        let link = ConsoleURL.with(ConsoleURL.messages, [("campaign", name), ("error_class", "unreachable"), ("error_code", "30003")])
        #expect(page.text.contains("<a href=\"\(HTML.escape(link))\">1</a>"))
        let listed = try await s.request(link)
        #expect(listed.text.contains(">a-9<") && !listed.text.contains(">a-3<"))
        let timeouts = try await s.request(ConsoleURL.with(ConsoleURL.messages, [("campaign", name), ("error_class", "timeout"), ("no_code", "1")]))
        #expect(timeouts.text.contains(">a-6<") && !timeouts.text.contains(">a-9<"))
        // replies by keyword; the chart; the operator's actions
        #expect(page.text.contains("data-keyword=\"confirm\">1</td>") && page.text.contains("data-keyword=\"stop\">1</td>"))
        #expect(page.text.contains("<svg class=\"chart\"") && page.text.contains("<polyline class=\"line-deliveries\""))
        #expect(page.text.contains("action=\"\(HTML.escape(ConsoleURL.campaignAction(name, "pause")))\""))
        #expect(page.text.contains("action=\"\(HTML.escape(ConsoleURL.campaignAction(name, "cancel")))\""))
        #expect(try await s.request(ConsoleURL.campaign("no such campaign")).status == 404)
    }

    @Test func messageSearchAndTimeline() async throws {
        let s = try await ConsoleServer.start()
        defer { Task { await s.stop() } }
        let id = try #require(s.ids["a-1"])
        for q in ["a-1", "SMp1", String(id), "%2B12025550101", "2025550101"] {
            let found = try await s.request("/console/messages?q=\(q)")
            #expect(found.text.contains("<a href=\"/console/messages/\(id)\">\(id)</a>"), "\(q)")
        }
        #expect(try await s.request("/console/messages?q=nothing-like-it").text.contains("No message matches."))
        let page = try await s.request(ConsoleURL.message(id))
        #expect(page.status == 200)
        // every event, with source, provider status, HTTP status, latency; the callback's body as received
        #expect(page.text.contains("<td>dispatcher</td><td>attempt</td>"))
        #expect(page.text.contains("<td>callback</td><td>callback</td>"))
        #expect(page.text.contains("<td class=\"num\">200</td>") && page.text.contains("412 ms") && page.text.contains("35 ms"))
        #expect(page.text.contains(HTML.escape("applied; " + ConsoleDataSet.hostileCallback)))
        let waiting = try await s.request(ConsoleURL.message(try #require(s.ids["a-8"])))
        #expect(waiting.text.contains(HTML.escape(ConsoleDataSet.hostileInbox)))
        #expect(try await s.request("/console/messages/999999").status == 404)
        #expect(try await s.request("/console/messages/x'1").status == 404)
    }

    @Test func sendersProvidersInDoubtAndOptOuts() async throws {
        let s = try await ConsoleServer.start()
        defer { Task { await s.stop() } }
        let page = try await s.request("/console/limits")
        #expect(page.status == 200)
        let sender = try #require(Self.slice(page.text, from: "<tr data-key=\"sender:+12435678910\">", to: "</tr>"))
        #expect(sender.contains("5/s") && sender.contains(">10<") && sender.contains("50 %") && sender.contains("halted since"))
        #expect(sender.contains(HTML.escape(ConsoleDataSet.hostileHalt)))
        #expect(sender.contains("name=\"key\" value=\"sender:+12435678910\""))
        let provider = try #require(Self.slice(page.text, from: "<tr data-key=\"provider:plum\">", to: "</tr>"))
        #expect(provider.contains("unavailable since") && provider.contains("Resume"))
        #expect(page.text.contains("Waiting for an in-doubt lookup (1)"))
        #expect(page.text.contains("<a href=\"/console/messages/\(s.ids["a-6"]!)\">"))
        #expect(page.text.contains("Opt-outs (1)"))
        // the opt-out names the inbound STOP that made it
        #expect(page.text.contains(HTML.escape(ConsoleDataSet.hostileStop)))
    }

    @Test func hostileStringsRenderAsTextOnEveryPage() async throws {
        let s = try await ConsoleServer.start()
        defer { Task { await s.stop() } }
        let raw = [ConsoleDataSet.hostileName, "<img src=x onerror=alert(2)>", "<script>alert(3)</script>", "<svg onload=alert(5)>",
                   "<script>&amp;</script>", "<b>now</b>", "<b>401</b>"]
        var seen: Set<String> = []
        for path in s.allPages() {
            for who in [ConsoleServer.Who.operatorUser, .viewer] {
                let page = try await s.request(path, as: who)
                #expect(page.status == 200, "\(path)")
                for hostile in raw {
                    #expect(!page.text.contains(hostile), "\(path) shows \(hostile) unescaped")
                    if page.text.contains(HTML.escape(hostile)) { seen.insert(hostile) }
                }
                // one script element (app.js), no inline handlers or style attributes
                #expect(page.text.components(separatedBy: "<script").count == 2, "\(path)")
                #expect(page.text.contains("<script src=\"/console/app.js\" defer></script>"))
                #expect(!page.text.contains(" style="), "\(path)")
                #expect(page.text.range(of: #"\s on[a-z]+="#, options: .regularExpression) == nil, "\(path)")
                #expect(page.headers["Content-Security-Policy"] == ConsoleRoutes.contentSecurityPolicy)
                #expect(page.headers["X-Content-Type-Options"] == "nosniff")
                #expect(page.headers["Cache-Control"] == "no-store")
            }
        }
        // each hostile string was shown somewhere, as text
        #expect(seen == Set(raw))
    }

    @Test func staticFilesHaveTheirTypesAndTheSameHeaders() async throws {
        let s = try await ConsoleServer.start(seed: false)
        defer { Task { await s.stop() } }
        let js = try await s.request("/console/app.js")
        #expect(js.status == 200 && js.headers["Content-Type"] == "text/javascript; charset=utf-8")
        #expect(js.text.contains("new EventSource('/console/events')"))
        let css = try await s.request("/console/app.css")
        #expect(css.status == 200 && css.headers["Content-Type"] == "text/css; charset=utf-8")
        for answer in [js, css] {
            #expect(answer.headers["Content-Security-Policy"] == ConsoleRoutes.contentSecurityPolicy)
            #expect(answer.headers["X-Content-Type-Options"] == "nosniff")
        }
        #expect(try await s.request("/console/app.js", as: .nobody).status == 401)
        let root = try await s.request("/console")
        #expect(root.status == 301 && root.headers["Location"] == "/console/")
    }

    @Test func refusesMissingOrWrongCredentials() async throws {
        let s = try await ConsoleServer.start()
        defer { Task { await s.stop() } }
        for who in [ConsoleServer.Who.nobody, .basic(ConsoleServer.operatorUser.name, "wrong-password-123"),
                    .basic("mallory", ConsoleServer.operatorUser.password), .basic(ConsoleServer.viewerUser.name, ConsoleServer.operatorUser.password)] {
            for path in ["/console/", "/console/limits", "/console/events", ConsoleURL.message(s.ids["a-1"]!)] {
                let answer = try await s.request(path, as: who)
                #expect(answer.status == 401, "\(path)")
                #expect(answer.headers["WWW-Authenticate"]?.hasPrefix("Basic realm=") == true)
                #expect(!answer.text.contains("a-1") && !answer.text.contains("+1202"))
            }
            let post = try await s.request("POST", ConsoleURL.campaignAction(ConsoleDataSet.hostileName, "pause"), as: who,
                                           form: [("csrf", "x")])
            #expect(post.status == 401)
        }
        #expect(try await s.campaignStatus(ConsoleDataSet.hostileName) == "active")
    }

    @Test func viewersCannotAct() async throws {
        let s = try await ConsoleServer.start()
        defer { Task { await s.stop() } }
        let name = ConsoleDataSet.hostileName
        let page = try await s.request(ConsoleURL.campaign(name), as: .viewer)
        #expect(!page.text.contains("<form class=\"inline\" method=\"post\""))
        // even with an operator's valid token
        let token = try #require(ConsoleServer.csrfToken(in: try await s.request(ConsoleURL.campaign(name)).text))
        for action in ["pause", "cancel"] {
            let post = try await s.request("POST", ConsoleURL.campaignAction(name, action), as: .viewer,
                                           form: [("csrf", token), ("confirm", "yes")])
            #expect(post.status == 403)
        }
        let resume = try await s.request("POST", ConsoleURL.limitResume, as: .viewer, form: [("csrf", token), ("key", "sender:+12435678910")])
        #expect(resume.status == 403)
        #expect(try await s.campaignStatus(name) == "active")
        #expect(try await s.connection.query("SELECT count(*) FROM rate_limits WHERE halted_at IS NOT NULL").scalar(Int.self) == 1)
        #expect(try await s.operatorEvents() == 0)
    }

    @Test func actionsNeedTheUsersCSRFToken() async throws {
        let s = try await ConsoleServer.start()
        defer { Task { await s.stop() } }
        let name = ConsoleDataSet.hostileName
        let pause = ConsoleURL.campaignAction(name, "pause")
        // no token, an empty one, a wrong one, the right one with another site's Origin
        let page = try await s.request(ConsoleURL.campaign(name))
        let token = try #require(ConsoleServer.csrfToken(in: page.text))
        #expect(token.count == 64)
        for (form, headers) in [([], []), ([("csrf", "")], []), ([("csrf", String(repeating: "0", count: 64))], []),
                                ([("csrf", token + "0")], []), ([("csrf", token)], [("Origin", "http://evil.example")])] as [([(String, String)], [(String, String)])] {
            let answer = try await s.request("POST", pause, form: form, headers: headers)
            #expect(answer.status == 403)
        }
        #expect(try await s.campaignStatus(name) == "active")
        #expect(try await s.operatorEvents() == 0)
        // with the token: paused, and each pending message has an operator event naming the user
        let done = try await s.request("POST", pause, form: [("csrf", token)], headers: [("Origin", "http://127.0.0.1:\(s.port)")])
        #expect(done.status == 303)
        #expect(done.headers["Location"] == ConsoleURL.with(ConsoleURL.campaign(name), [("done", "paused")]))
        #expect(try await s.campaignStatus(name) == "paused")
        let events = try await s.connection.query("""
            SELECT e.kind, e.detail FROM message_events e JOIN messages m ON m.id = e.message_id
             WHERE e.source = 'operator' ORDER BY m.external_id
            """).map { try $0.decode((String, String).self) }
        #expect(events.count == 2)  // a-4 and a-5 are pending
        #expect(events.allSatisfy { $0.0 == "state" && $0.1 == "campaign paused by olivia (console)" })
        #expect(try await s.request(done.headers["Location"]!).text.contains("Campaign paused."))
        // a browser that hides the origin (`Origin: null`) still acts with the token
        #expect(try await s.request("POST", ConsoleURL.campaignAction(name, "pause"), form: [("csrf", token)],
                                    headers: [("Origin", "null")]).headers["Location"]?.hasSuffix("done=unchanged") == true)
        // resume, then cancel (which needs its confirmation box)
        #expect(try await s.request("POST", ConsoleURL.campaignAction(name, "resume"), form: [("csrf", token)]).status == 303)
        #expect(try await s.campaignStatus(name) == "active")
        #expect(try await s.request("POST", ConsoleURL.campaignAction(name, "cancel"), form: [("csrf", token)]).status == 400)
        #expect(try await s.campaignStatus(name) == "active")
        #expect(try await s.request("POST", ConsoleURL.campaignAction(name, "cancel"), form: [("csrf", token), ("confirm", "yes")]).status == 303)
        #expect(try await s.campaignStatus(name) == "cancelled")
        let cancelled = try await s.connection.query("""
            SELECT count(*) FROM message_events WHERE source = 'operator' AND kind = 'cancelled'
               AND detail = 'campaign cancelled by olivia (console)'
            """).scalar(Int.self)
        #expect(cancelled == 2)
        #expect(try await s.connection.query("SELECT count(*) FROM messages WHERE state = 'pending'").scalar(Int.self) == 1)  // d-5
        // a cancelled campaign cannot be resumed
        #expect(try await s.request("POST", ConsoleURL.campaignAction(name, "resume"), form: [("csrf", token)]).status == 409)
        // resuming the halted sender clears the halt and names the user on its held messages
        let resumed = try await s.request("POST", ConsoleURL.limitResume, form: [("csrf", token), ("key", "sender:+12435678910")])
        #expect(resumed.status == 303)
        #expect(try await s.connection.query("SELECT count(*) FROM rate_limits WHERE halted_at IS NOT NULL").scalar(Int.self) == 0)
        #expect(try await s.connection.query("""
            SELECT count(*) FROM message_events WHERE kind = 'state' AND source = 'operator'
               AND detail = 'sender:+12435678910 resumed by olivia (console)'
            """).scalar(Int.self) == 1)  // d-5, the only pending message left
        let provider = try await s.request("POST", ConsoleURL.limitResume, form: [("csrf", token), ("key", "provider:plum")])
        #expect(provider.status == 303)
        #expect(try await s.connection.query("SELECT count(*) FROM rate_limits WHERE unavailable_since IS NOT NULL").scalar(Int.self) == 0)
    }

    @Test func viewersSeeNoFullNumberAndNoText() async throws {
        let s = try await ConsoleServer.start()
        defer { Task { await s.stop() } }
        let bodies = try await s.connection.query("SELECT body FROM message_bodies").map { try $0.decode(String.self, at: 0) }
        let replies = try await s.connection.query("SELECT body FROM inbound_messages").map { try $0.decode(String.self, at: 0) }
        #expect(bodies.count == ConsoleDataSet.messages.count && replies.count == 2)
        let markers = ["BODY-TEXT-7731", "REPLY-TEXT-5518", "STOP-TEXT-9920", "INBOX-TEXT-4410", "alert(3)"]
        let numbers = Set(ConsoleDataSet.phones + ["+12025550101", "+12025550102"])
        for path in s.allPages() {
            let page = try await s.request(path, as: .viewer)
            #expect(page.status == 200, "\(path)")
            for number in numbers {
                #expect(!page.text.contains(number), "\(path) shows \(number)")
                #expect(!page.text.contains(String(number.dropFirst())), "\(path) shows \(number)'s digits")
                #expect(!page.text.contains(String(number.dropFirst(2))), "\(path) shows \(number)'s national digits")
            }
            for marker in markers { #expect(!page.text.contains(marker), "\(path) shows \(marker)") }
            for text in bodies + replies { #expect(!page.text.contains(HTML.escape(text)), "\(path)") }
        }
        // the last four digits stay, and the operator sees everything
        let id = try #require(s.ids["a-1"])
        let viewer = try await s.request(ConsoleURL.message(id), as: .viewer)
        #expect(viewer.text.contains("<td data-figure=\"to\">•••••••0101</td>"))
        #expect(viewer.text.contains("<pre data-figure=\"body\">(hidden)</pre>"))
        let operatorPage = try await s.request(ConsoleURL.message(id))
        #expect(operatorPage.text.contains("<td data-figure=\"to\">+12025550101</td>"))
        #expect(operatorPage.text.contains("BODY-TEXT-7731") && operatorPage.text.contains("REPLY-TEXT-5518"))
        #expect(try await s.request("/console/limits").text.contains("+12025550102"))
    }

    @Test func offUnlessConfigured() async throws {
        let s = try await ConsoleServer.start(ConsoleConfiguration(access: .off))
        defer { Task { await s.stop() } }
        for path in ["/console/", "/console", "/console/limits", "/console/app.js", "/console/events"] {
            #expect(try await s.request(path).status == 404, "\(path)")
        }
        #expect(try await s.request("POST", ConsoleURL.campaignAction(ConsoleDataSet.hostileName, "pause"), form: [("csrf", "x")]).status == 404)
        // from the environment: off without settings; loopback only when asked for, or by default for `dispatcher console`
        #expect(try ConsoleConfiguration.fromEnvironment([:], listenHost: "127.0.0.1", loopbackByDefault: false).access == .off)
        #expect(try ConsoleConfiguration.fromEnvironment([:], listenHost: "127.0.0.1", loopbackByDefault: true).access == .loopback)
        #expect(try ConsoleConfiguration.fromEnvironment(["DISPATCHER_CONSOLE": "loopback"], listenHost: "::1", loopbackByDefault: false).access == .loopback)
        #expect(try ConsoleConfiguration.fromEnvironment(["DISPATCHER_CONSOLE": "off", "DISPATCHER_CONSOLE_OPERATOR": "o:long-enough-pass"],
                                                         listenHost: "127.0.0.1", loopbackByDefault: true).access == .off)
        #expect(throws: ConsoleConfigurationError.self) {
            try ConsoleConfiguration.fromEnvironment([:], listenHost: "0.0.0.0", loopbackByDefault: true)
        }
        #expect(throws: ConsoleConfigurationError.self) {
            try ConsoleConfiguration.fromEnvironment(["DISPATCHER_CONSOLE": "loopback"], listenHost: "10.0.0.5", loopbackByDefault: false)
        }
        #expect(throws: ConsoleConfigurationError.self) {
            try ConsoleConfiguration.fromEnvironment(["DISPATCHER_CONSOLE_OPERATOR": "o:short"], listenHost: "0.0.0.0", loopbackByDefault: false)
        }
        #expect(throws: ConsoleConfigurationError.self) {
            try ConsoleConfiguration.fromEnvironment(["DISPATCHER_CONSOLE_VIEWER": "no-password"], listenHost: "0.0.0.0", loopbackByDefault: false)
        }
        let both = try ConsoleConfiguration.fromEnvironment(
            ["DISPATCHER_CONSOLE_OPERATOR": "olivia:operator-password-1", "DISPATCHER_CONSOLE_VIEWER": "victor:viewer:password-2",
             "DISPATCHER_CONSOLE_LIVE": "poll"], listenHost: "0.0.0.0", loopbackByDefault: false)
        #expect(both.access == .credentials([.init(name: "olivia", password: Secret("operator-password-1"), role: .operator),
                                             .init(name: "victor", password: Secret("viewer:password-2"), role: .viewer)]))
        #expect(both.liveUpdates == .poll)
    }

    @Test func loopbackModeRefusesProxiedAndRebindedRequests() async throws {
        let s = try await ConsoleServer.start(ConsoleConfiguration(access: .loopback))
        defer { Task { await s.stop() } }
        let page = try await s.request("/console/", as: .nobody)
        #expect(page.status == 200 && page.text.contains("loopback (operator)"))
        #expect(try await s.request("/console/", as: .nobody, headers: [("X-Forwarded-For", "203.0.113.9")]).status == 403)
        #expect(try await s.request("/console/", as: .nobody, headers: [("Forwarded", "for=203.0.113.9")]).status == 403)
        #expect(try await s.request("/console/", as: .nobody, headers: [("Host", "evil.example:\(s.port)")]).status == 403)
        // and its actions still need the token
        let name = ConsoleDataSet.hostileName
        #expect(try await s.request("POST", ConsoleURL.campaignAction(name, "pause"), as: .nobody, form: [("csrf", "nope")]).status == 403)
        let token = try #require(ConsoleServer.csrfToken(in: try await s.request(ConsoleURL.campaign(name), as: .nobody).text))
        #expect(try await s.request("POST", ConsoleURL.campaignAction(name, "pause"), as: .nobody, form: [("csrf", token)]).status == 303)
        #expect(try await s.connection.query("SELECT count(*) FROM message_events WHERE detail = 'campaign paused by loopback (console)'").scalar(Int.self) == 2)
    }

    @Test func liveUpdatesComeFromNotifications() async throws {
        var configuration = ConsoleServer.credentials()
        configuration.refreshInterval = .seconds(60)
        let s = try await ConsoleServer.start(configuration)
        defer { Task { await s.stop() } }
        #expect(await s.routes.startLiveUpdates())
        let waiting = Task { try await s.request("/console/events") }
        // notify until the waiting request has its event (it may not be waiting yet)
        var answer: ConsoleServer.Answer?
        let notifier = Task {
            while !Task.isCancelled {
                try? await s.connection.notify(ConsoleActions.consoleChannel)
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        answer = try await waiting.value
        notifier.cancel()
        let event = try #require(answer)
        #expect(event.status == 200)
        #expect(event.headers["Content-Type"] == "text/event-stream; charset=utf-8")
        #expect(event.headers["Content-Security-Policy"] == ConsoleRoutes.contentSecurityPolicy)
        #expect(event.text.hasPrefix("retry: 1000\nid: "))
        #expect(event.text.contains("\nevent: change\ndata: "))
        // an id from another process: a change at once
        let other = try await s.request("/console/events", headers: [("Last-Event-ID", "other-3")])
        #expect(other.text.contains("event: change"))
    }

    @Test func withoutListenPagesRefreshOnTicks() async throws {
        var configuration = ConsoleServer.credentials()
        configuration.liveUpdates = .poll
        configuration.refreshInterval = .milliseconds(200)
        let s = try await ConsoleServer.start(configuration, seed: false)
        defer { Task { await s.stop() } }
        #expect(await s.routes.startLiveUpdates() == false)
        try await s.connection.notify(ConsoleActions.consoleChannel)
        let event = try await s.request("/console/events")
        #expect(event.text == "retry: 1000\nevent: tick\ndata: poll\n\n")
        #expect(try await s.request("/console/").text.contains("data-refresh-ms=\"200\""))
    }

    @Test func changeEventsAreDebounced() async throws {
        let hub = ConsoleEventHub(debounce: .seconds(3600))
        await hub.notified()
        #expect(await hub.generation == 1)
        // within the debounce interval: folded into one later move
        await hub.notified()
        await hub.notified()
        #expect(await hub.generation == 1)
        #expect(await hub.wait(after: 0, timeout: .seconds(3600)) == 1)
        let waiter = Task { await hub.wait(after: 1, timeout: .seconds(3600)) }
        await hub.stop()
        #expect(await waiter.value == nil)
    }
}

extension ConsoleServer {
    func campaignStatus(_ name: String) async throws -> String? {
        try await connection.query("SELECT status FROM campaigns WHERE name = \(name)").scalar(String.self)
    }

    func operatorEvents() async throws -> Int {
        try await connection.query("SELECT count(*) FROM message_events WHERE source = 'operator'").scalar(Int.self) ?? 0
    }
}

/// The pieces without a database: escaping, masking, the constant-time checks.
@Suite struct ConsoleUnitTests {
    @Test func htmlEscapesEveryInterpolatedString() {
        let hostile = "<script>alert(1)</script> & \"q\" 'a' \u{0}"
        let html: HTML = "<p title=\"\(hostile)\">\(hostile)</p>"
        #expect(html.text == "<p title=\"&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot; &#39;a&#39; \u{FFFD}\">&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot; &#39;a&#39; \u{FFFD}</p>")
        let nested: HTML = "<div>\(html)</div>"
        #expect(nested.text == "<div>" + html.text + "</div>")
    }

    @Test func viewersGetMaskedNumbersAndNoTexts() {
        let viewer = ConsoleRedaction(role: .viewer), operatorRole = ConsoleRedaction(role: .operator)
        #expect(viewer.phone("+12025550143") == "•••••••0143")
        #expect(viewer.phone("client:alice") == "client:•••")
        #expect(operatorRole.phone("+12025550143") == "+12025550143")
        #expect(viewer.body("hello") == nil && operatorRole.body("hello") == "hello")
        #expect(viewer.freeText("lookup of +12025550143 failed (30006)") == "lookup of +•••••••0143 failed (30006)")
        let event = ConsoleRows.Event(at: Date(), kind: "callback", source: "callback", detail: "applied; Body=secret")
        #expect(viewer.apply(event).detail == nil && operatorRole.apply(event).detail == "applied; Body=secret")
    }

    @Test func csrfTokensAreBoundToTheUser() {
        let csrf = ConsoleCSRF()
        let a = csrf.token(for: "olivia"), b = csrf.token(for: "oscar")
        #expect(a != b && a == csrf.token(for: "olivia"))
        #expect(csrf.verify(a, for: "olivia") && !csrf.verify(a, for: "oscar") && !csrf.verify(nil, for: "olivia"))
        #expect(ConsoleCSRF().token(for: "olivia") != a)  // another process, another secret
    }

    @Test func loopbackAddresses() {
        for host in ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST"] { #expect(ConsoleConfiguration.isLoopback(host: host), "\(host)") }
        for host in ["0.0.0.0", "", "10.0.0.1", "::", "127.0.0.1.evil.example", "localhost.evil.example"] {
            #expect(!ConsoleConfiguration.isLoopback(host: host), "\(host)")
        }
        #expect(ConsoleAuth.hostName("[::1]:8090") == "[::1]" && ConsoleAuth.hostName("127.0.0.1:8090") == "127.0.0.1")
    }
}
