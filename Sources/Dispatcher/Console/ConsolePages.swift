import HTTP
import Support
import Foundation
import Store

/// The console's pages, rendered from rows that `ConsoleRedaction` has already reduced to
/// what the user's role may see. Every value goes through `HTML` interpolation (escaped).
struct ConsolePages {
    let principal: ConsolePrincipal
    /// This user's CSRF token, put in every form.
    let csrfToken: String
    let refreshInterval: Duration

    var canAct: Bool { principal.role == .operator }

    // MARK: Layout

    func document(title: String, _ content: HTML) -> HTML {
        let refreshMs = Int(refreshInterval / .milliseconds(1))
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">\
            <meta name="viewport" content="width=device-width, initial-scale=1">\
            <title>\(title) · dispatcher console</title>\
            <link rel="stylesheet" href="/console/app.css"><script src="/console/app.js" defer></script></head>
            <body data-refresh-ms="\(refreshMs)">
            <header><span class="brand">dispatcher console</span><nav>\
            <a href="/console/">Campaigns</a><a href="/console/messages">Messages</a>\
            <a href="/console/limits">Senders and providers</a></nav>\
            <span class="who">\(principal.user) (\(principal.role.rawValue))</span></header>
            <main>
            \(content)
            </main>
            </body></html>

            """
    }

    /// A POST form with the CSRF token: one button, and optional extra fields.
    func actionForm(_ action: String, button: HTML, danger: Bool = false, fields: [(String, String)] = [],
                    extra: HTML = .empty) -> HTML {
        let hidden = fields.map { name, value -> HTML in "<input type=\"hidden\" name=\"\(name)\" value=\"\(value)\">" }
        return """
            <form class="inline" method="post" action="\(action)">\
            <input type="hidden" name="csrf" value="\(csrfToken)">\(hidden)\(extra)\
            <button type="submit"\(danger ? " class=\"danger\"" as HTML : .empty)>\(button)</button></form>
            """
    }

    func notice(_ text: String?) -> HTML {
        guard let text, !text.isEmpty else { return .empty }
        return "<p class=\"notice\" role=\"status\">\(text)</p>"
    }

    func errorPage(status: Int, title: String, message: String) -> HTML {
        document(title: title, "<h1>\(title)</h1><p class=\"error\">\(message)</p>")
    }

    // MARK: Campaigns

    struct CampaignFilter {
        var name: String?
        var status: String?
        var state: String?
    }

    func campaigns(_ rows: [ConsoleRows.Campaign], filter: CampaignFilter, notice text: String?) -> HTML {
        let statusOptions = ([""] + CampaignState.allCases.map(\.rawValue)).map { s -> HTML in
            "<option value=\"\(s)\"\(filter.status == s || (s.isEmpty && filter.status == nil) ? " selected" as HTML : .empty)>\(s.isEmpty ? "any" : s)</option>"
        }
        let stateOptions = ([""] + ConsoleRows.states).map { s -> HTML in
            "<option value=\"\(s)\"\(filter.state == s || (s.isEmpty && filter.state == nil) ? " selected" as HTML : .empty)>\(s.isEmpty ? "any" : ConsoleFormat.stateName(s))</option>"
        }
        let body = rows.map { c -> HTML in
            let states = ConsoleRows.states.compactMap { s -> HTML? in
                guard let n = c.states[s], n > 0 else { return nil }
                return "<li>\(ConsoleFormat.stateName(s)) <b data-state=\"\(s)\">\(n)</b></li>"
            }
            return """
                <tr data-campaign-id="\(c.id)">\
                <td><a href="\(ConsoleURL.campaign(c.name))">\(c.name)</a></td>\
                <td data-figure="status">\(c.status)</td>\
                <td>\(ConsoleChart.progress(states: c.states, total: c.total))<ul class="states">\(states)</ul></td>\
                <td class="num" data-figure="total">\(c.total)</td>\
                <td class="num" data-figure="delivery-rate">\(ConsoleFormat.percent(c.deliveryRate))</td>\
                <td class="num" data-figure="per-minute">\(ConsoleFormat.perMinute(c.perMinute))</td>\
                <td class="num" data-figure="eta">\(ConsoleFormat.eta(c.etaMinutes))</td>\
                <td class="num" data-figure="errors">\(c.errors)</td>\
                <td class="num" data-figure="replies">\(c.replies)</td>\
                <td class="num" data-figure="opt-outs">\(c.optOuts)</td></tr>

                """
        }
        return document(title: "Campaigns", """
            <h1>Campaigns</h1>\(notice(text))
            <form class="filters" method="get" action="/console/">\
            <label>Name <input type="search" name="name" value="\(filter.name)"></label>\
            <label>Status <select name="status">\(statusOptions)</select></label>\
            <label>With messages <select name="state">\(stateOptions)</select></label>\
            <button type="submit">Filter</button></form>
            <section id="campaigns" data-live>
            <table><thead><tr><th>Campaign</th><th>Status</th><th>Progress by state</th><th class="num">Total</th>\
            <th class="num">Delivery rate</th><th class="num">Per minute</th><th class="num">ETA</th>\
            <th class="num">Errors</th><th class="num">Replies</th><th class="num">Opt-outs</th></tr></thead>
            <tbody>
            \(body)</tbody></table>
            \(rows.isEmpty ? "<p class=\"muted\">No campaign matches.</p>" as HTML : .empty)
            </section>
            """)
    }

    // MARK: Campaign

    struct CampaignData {
        var campaign: ConsoleRows.Campaign
        var series: [ConsoleRows.Minute]
        var errors: [ConsoleRows.ErrorGroup]
        var replyCounts: [ConsoleRows.ReplyCount]
        var replies: [ConsoleRows.Inbound]
    }

    func campaign(_ d: CampaignData, notice text: String?) -> HTML {
        let c = d.campaign
        var actions: [HTML] = []
        if canAct && c.status != CampaignState.cancelled.rawValue {
            if c.status == "active" { actions.append(actionForm(ConsoleURL.campaignAction(c.name, "pause"), button: "Pause")) }
            if c.status == "paused" { actions.append(actionForm(ConsoleURL.campaignAction(c.name, "resume"), button: "Resume")) }
            actions.append(actionForm(ConsoleURL.campaignAction(c.name, "cancel"), button: "Cancel campaign", danger: true,
                                      extra: "<label><input type=\"checkbox\" name=\"confirm\" value=\"yes\" required> cancel its pending messages for good</label> "))
        }
        let stateRows = ConsoleRows.states.map { s -> HTML in
            "<tr><td>\(ConsoleFormat.stateName(s))</td><td class=\"num\" data-state=\"\(s)\">\(c.states[s] ?? 0)</td></tr>"
        }
        let errorRows = d.errors.map { e -> HTML in
            let link = ConsoleURL.with(ConsoleURL.messages, [("campaign", c.name), ("error_class", e.errorClass),
                                                             ("error_code", e.errorCode), ("no_code", e.errorCode == nil ? "1" : nil)])
            return "<tr><td>\(e.errorClass)</td><td>\(e.errorCode ?? "–")</td><td class=\"num\"><a href=\"\(link)\">\(e.count)</a></td></tr>"
        }
        let replyCountRows = d.replyCounts.map { r -> HTML in
            "<tr><td>\(r.keyword)</td><td class=\"num\" data-keyword=\"\(r.keyword)\">\(r.count)</td></tr>"
        }
        let replyRows = d.replies.map { r -> HTML in
            let related: HTML = r.relatedMessageID.map { id in "<a href=\"\(ConsoleURL.message(id))\">\(id)</a>" } ?? "–"
            return "<tr><td>\(ConsoleFormat.time(r.receivedAt))</td><td>\(r.fromNumber)</td><td>\(r.keyword)</td><td>\(r.body)</td><td>\(related)</td></tr>"
        }
        return document(title: c.name, """
            <h1>Campaign \(c.name)</h1>\(notice(text))
            <p>Status: <b data-figure="status">\(c.status)</b> · created \(ConsoleFormat.time(c.createdAt)) · \
            <a href="\(ConsoleURL.with(ConsoleURL.messages, [("campaign", c.name)]))">its messages</a></p>
            <div class="actions">\(actions)</div>
            <section id="campaign-figures" data-live>
            \(ConsoleChart.progress(states: c.states, total: c.total))
            <table><tbody>
            <tr><th>Total</th><td class="num" data-figure="total">\(c.total)</td></tr>
            \(stateRows)
            <tr><th>Delivery rate</th><td class="num" data-figure="delivery-rate">\(ConsoleFormat.percent(c.deliveryRate))</td></tr>
            <tr><th>Accepted per minute (last 5 min)</th><td class="num" data-figure="per-minute">\(ConsoleFormat.perMinute(c.perMinute))</td></tr>
            <tr><th>ETA at this rate</th><td class="num" data-figure="eta">\(ConsoleFormat.eta(c.etaMinutes))</td></tr>
            <tr><th>Opt-outs</th><td class="num" data-figure="opt-outs">\(c.optOuts)</td></tr>
            </tbody></table>
            <h2>Latency</h2>
            <table><thead><tr><th></th><th class="num">p50</th><th class="num">p95</th></tr></thead><tbody>
            <tr><td>Send (due → accepted)</td><td class="num" data-figure="send-p50">\(ConsoleFormat.seconds(c.sendLatencyP50))</td>\
            <td class="num" data-figure="send-p95">\(ConsoleFormat.seconds(c.sendLatencyP95))</td></tr>
            <tr><td>Delivery (accepted → delivered)</td><td class="num" data-figure="delivery-p50">\(ConsoleFormat.seconds(c.deliveryLatencyP50))</td>\
            <td class="num" data-figure="delivery-p95">\(ConsoleFormat.seconds(c.deliveryLatencyP95))</td></tr>
            </tbody></table>
            <h2>Per minute</h2>
            \(ConsoleChart.series(d.series))
            <h2>Errors by class and provider code</h2>
            \(d.errors.isEmpty ? "<p class=\"muted\">None.</p>" as HTML : "<table><thead><tr><th>Class</th><th>Provider code</th><th class=\"num\">Messages</th></tr></thead><tbody>\(errorRows)</tbody></table>")
            <h2>Replies</h2>
            \(d.replyCounts.isEmpty ? "<p class=\"muted\">None.</p>" as HTML : "<table><thead><tr><th>Keyword</th><th class=\"num\">Replies</th></tr></thead><tbody>\(replyCountRows)</tbody></table>")
            \(d.replies.isEmpty ? HTML.empty : "<h2>Latest replies</h2><table><thead><tr><th>Received</th><th>From</th><th>Keyword</th><th>Text</th><th>Reply to</th></tr></thead><tbody>\(replyRows)</tbody></table>")
            </section>
            """)
    }

    // MARK: Messages

    func messageSearch(query: String?, filters: [(String, String)], rows: [ConsoleRows.Message], searched: Bool) -> HTML {
        let hidden = filters.map { name, value -> HTML in "<input type=\"hidden\" name=\"\(name)\" value=\"\(value)\">" }
        let filterText = filters.map { "\($0.0) = \($0.1)" }.joined(separator: ", ")
        let body = rows.map { m -> HTML in
            """
            <tr><td><a href="\(ConsoleURL.message(m.id))">\(m.id)</a></td><td><a href="\(ConsoleURL.campaign(m.campaign))">\(m.campaign)</a></td>\
            <td>\(m.externalID)</td><td>\(m.toNumber)</td><td>\(ConsoleFormat.stateName(m.state))</td>\
            <td>\(m.providerMessageID ?? "–")</td><td class="num">\(m.attempts)</td>\
            <td>\(m.errorClass ?? "")\(m.errorCode.map { c -> HTML in " (\(c))" } ?? .empty)</td>\
            <td>\(ConsoleFormat.time(m.createdAt))</td></tr>

            """
        }
        return document(title: "Messages", """
            <h1>Messages</h1>
            <form class="filters" method="get" action="/console/messages">\(hidden)\
            <label>Phone number, external id, outbox id or provider id <input type="search" name="q" value="\(query)" size="40"></label>\
            <button type="submit">Search</button></form>
            \(filterText.isEmpty ? HTML.empty : "<p class=\"muted\">Only \(filterText). <a href=\"/console/messages\">Clear</a></p>")
            \(searched ? (rows.isEmpty ? "<p class=\"muted\">No message matches.</p>" as HTML : """
            <table><thead><tr><th>Id</th><th>Campaign</th><th>External id</th><th>To</th><th>State</th><th>Provider id</th>\
            <th class="num">Attempts</th><th>Error</th><th>Created</th></tr></thead><tbody>
            \(body)</tbody></table>
            """) : .empty)
            """)
    }

    struct MessageData {
        var detail: ConsoleRows.MessageDetail
        var events: [ConsoleRows.Event]
        var inbox: [ConsoleRows.InboxReport]
        var replies: [ConsoleRows.Inbound]
    }

    func message(_ d: MessageData) -> HTML {
        let m = d.detail.message
        let events = d.events.map { e -> HTML in
            let transition: HTML = e.toState.map { to in "\(e.fromState.map(ConsoleFormat.stateName) ?? "") → \(ConsoleFormat.stateName(to))" } ?? .empty
            return """
                <tr><td>\(ConsoleFormat.time(e.at))</td><td>\(e.source)</td><td>\(e.kind)</td><td>\(transition)</td>\
                <td>\(e.providerStatus)</td><td class="num">\(e.httpStatus.map(String.init))</td>\
                <td>\(e.errorCode)\(e.errorClass.map { c -> HTML in " (\(c))" } ?? .empty)</td>\
                <td class="num">\(e.latencyMs.map { "\($0) ms" })</td><td><pre>\(e.detail ?? (ConsoleRedaction.rawDetailKinds.contains(e.kind) && !canAct ? ConsoleRedaction.hidden : ""))</pre></td></tr>

                """
        }
        let inbox = d.inbox.map { r -> HTML in
            "<tr><td>\(ConsoleFormat.time(r.receivedAt))</td><td>\(r.source)</td><td>\(r.providerStatus)</td><td>\(ConsoleFormat.stateName(r.state))</td><td><pre>\(r.raw ?? ConsoleRedaction.hidden)</pre></td></tr>"
        }
        let replies = d.replies.map { r -> HTML in
            "<tr><td>\(ConsoleFormat.time(r.receivedAt))</td><td>\(r.fromNumber)</td><td>\(r.keyword)</td><td>\(r.body)</td></tr>"
        }
        return document(title: "Message \(m.id)", """
            <h1>Message \(m.id)</h1>
            <section id="message" data-live>
            <table><tbody>
            <tr><th>Campaign</th><td><a href="\(ConsoleURL.campaign(m.campaign))">\(m.campaign)</a></td></tr>
            <tr><th>External id</th><td>\(m.externalID)</td></tr>
            <tr><th>To</th><td data-figure="to">\(m.toNumber)</td></tr>
            <tr><th>From</th><td>\(m.fromNumber)</td></tr>
            <tr><th>Provider</th><td>\(m.provider)</td></tr>
            <tr><th>Provider id</th><td>\(m.providerMessageID ?? "–")</td></tr>
            <tr><th>State</th><td data-figure="state">\(ConsoleFormat.stateName(m.state))</td></tr>
            <tr><th>Attempts</th><td>\(m.attempts)</td></tr>
            <tr><th>Error</th><td>\(m.errorClass ?? "–")\(m.errorCode.map { c -> HTML in " (\(c))" } ?? .empty)</td></tr>
            <tr><th>Segments</th><td>\(m.segments)</td></tr>
            <tr><th>Created · due · next attempt</th><td>\(ConsoleFormat.time(m.createdAt)) · \(ConsoleFormat.time(d.detail.dueAt)) · \(ConsoleFormat.time(d.detail.nextAttemptAt))</td></tr>
            <tr><th>Accepted · final</th><td>\(ConsoleFormat.time(m.acceptedAt)) · \(ConsoleFormat.time(m.finalAt))</td></tr>
            <tr><th>In doubt since</th><td>\(ConsoleFormat.time(d.detail.inDoubtSince))</td></tr>
            <tr><th>Callbacks that changed nothing</th><td>\(d.detail.duplicateCallbacks)</td></tr>
            <tr><th>Text</th><td><pre data-figure="body">\(d.detail.body ?? (canAct ? "–" : ConsoleRedaction.hidden))</pre></td></tr>
            </tbody></table>
            <h2>Timeline</h2>
            <table><thead><tr><th>At</th><th>Source</th><th>Kind</th><th>Transition</th><th>Provider status</th>\
            <th class="num">HTTP</th><th>Error</th><th class="num">Latency</th><th>Detail (callbacks: the body as received)</th></tr></thead><tbody>
            \(events)</tbody></table>
            \(d.inbox.isEmpty ? HTML.empty : "<h2>Reports waiting to be applied</h2><table><thead><tr><th>Received</th><th>Source</th><th>Provider status</th><th>Means</th><th>As received</th></tr></thead><tbody>\(inbox)</tbody></table>")
            \(d.replies.isEmpty ? HTML.empty : "<h2>Replies</h2><table><thead><tr><th>Received</th><th>From</th><th>Keyword</th><th>Text</th></tr></thead><tbody>\(replies)</tbody></table>")
            </section>
            """)
    }

    // MARK: Senders and providers

    struct LimitsData {
        var limits: [ConsoleRows.RateLimit]
        var inDoubt: [ConsoleRows.InDoubt]
        var inDoubtTotal: Int
        var optOuts: [ConsoleRows.OptOut]
        var optOutsTotal: Int
    }

    func limits(_ d: LimitsData, notice text: String?) -> HTML {
        let limitRows = d.limits.map { r -> HTML in
            var state: [HTML] = []
            if let at = r.haltedAt { state.append("<span class=\"halted\">halted since \(ConsoleFormat.time(at))</span> (\(r.haltReason ?? "no reason"))") }
            if let since = r.unavailableSince {
                state.append("<span class=\"halted\">unavailable since \(ConsoleFormat.time(since))</span>, next probe \(ConsoleFormat.time(r.nextProbe))")
            }
            let resume: HTML = canAct && !state.isEmpty
                ? actionForm(ConsoleURL.limitResume, button: "Resume", fields: [("key", r.key)]) : .empty
            return """
                <tr data-key="\(r.key)"><td>\(r.key)</td><td class="num">\(ConsoleFormat.number(r.rate))/s</td>\
                <td class="num">\(ConsoleFormat.number(r.burst))</td>\
                <td class="num">\(r.rate >= 1e8 ? "–" : String(format: "%.1f of %@", r.level, ConsoleFormat.number(r.burst)))</td>\
                <td class="num">\(String(format: "%.0f %%", r.slowFactor * 100))</td>\
                <td>\(state.isEmpty ? "ok" as HTML : state.joined())</td><td>\(resume)</td></tr>

                """
        }
        let inDoubtRows = d.inDoubt.map { m -> HTML in
            """
            <tr><td><a href="\(ConsoleURL.message(m.id))">\(m.id)</a></td><td><a href="\(ConsoleURL.campaign(m.campaign))">\(m.campaign)</a></td>\
            <td>\(m.toNumber)</td><td>\(m.provider)</td><td class="num">\(m.attempts)</td>\
            <td>\(ConsoleFormat.time(m.inDoubtSince))</td><td>\(ConsoleFormat.time(m.nextLookupAt))</td></tr>

            """
        }
        let optOutRows = d.optOuts.map { o -> HTML in
            let cause: HTML
            if let id = o.inboundID {
                cause = "inbound #\(id) at \(ConsoleFormat.time(o.inboundAt)): \(o.inboundBody ?? ConsoleRedaction.hidden)"
            } else {
                cause = "–"
            }
            return "<tr><td>\(o.phone)</td><td>\(o.sender.isEmpty ? "every sender" : o.sender)</td><td>\(o.source)</td><td>\(ConsoleFormat.time(o.createdAt))</td><td>\(cause)</td></tr>"
        }
        return document(title: "Senders and providers", """
            <h1>Senders and providers</h1>\(notice(text))
            <section id="limits" data-live>
            <table><thead><tr><th>Key</th><th class="num">Rate</th><th class="num">Burst</th><th class="num">Reserved ahead</th>\
            <th class="num">Speed (adaptive)</th><th>Halt or unavailability</th><th></th></tr></thead><tbody>
            \(limitRows)</tbody></table>
            \(d.limits.isEmpty ? "<p class=\"muted\">No sender or provider has a rate limit yet.</p>" as HTML : .empty)
            <h2>Waiting for an in-doubt lookup (\(d.inDoubtTotal))</h2>
            \(d.inDoubt.isEmpty ? "<p class=\"muted\">None.</p>" as HTML : """
            <table><thead><tr><th>Message</th><th>Campaign</th><th>To</th><th>Provider</th><th class="num">Attempts</th>\
            <th>In doubt since</th><th>Next lookup</th></tr></thead><tbody>
            \(inDoubtRows)</tbody></table>
            """)
            <h2>Opt-outs (\(d.optOutsTotal))</h2>
            \(d.optOuts.isEmpty ? "<p class=\"muted\">None.</p>" as HTML : "<table><thead><tr><th>Number</th><th>Sender</th><th>Source</th><th>Since</th><th>Caused by</th></tr></thead><tbody>\(optOutRows)</tbody></table>")
            </section>
            """)
    }
}
