import Foundation
public import Jobs
public import Store
import Support
public import HTTP

/// The HTTP endpoints of `dispatcher run`: provider callbacks, inbound SMS, health and
/// metrics.
///
/// A callback's URL is `/callbacks/{account}/{id}.{token}`: the provider account the message
/// went through (a `providers` key, whose kind says how to read the body) and the message's
/// callback key. The key is checked before the body: an unknown account or key, or a body
/// naming another message's provider id, is 404 whatever the body says; only a caller with
/// the right key can earn a 400 (a body that is not a form, or lacks the provider's id and
/// status fields). An authenticated callback with a status the dispatcher does not act on
/// is acknowledged, kept as an event with its body, and schedules a status poll. A form
/// whose fields carry NUL or bytes that are not UTF-8 is such a wrong body.
///
/// Inbound SMS arrive at `/inbound/plum/{key}`: the secret key of a Plum account
/// (`inbound_key`), compared in constant time; any other path is 404, and so is a message
/// to a number that is not one of that account's sender numbers. The reply is classified
/// (`ReplyClassifier` with `compliance`'s extra keywords) and recorded and acted on in one
/// transaction (`Outbox.inboundHandle`); the answer is Plum's reply document with the stop
/// or start confirmation or the help reply, or an empty `<reply/>`. Replays change nothing
/// and are answered with an empty `<reply/>`, so no confirmation goes out twice.
///
/// Callbacks are stored on their own connections (`CallbackIngest`'s pool); `pool` serves
/// everything else here but health, so inbound SMS and metrics never make a callback wait,
/// and `/healthz` asks the database on `healthPool`, at most once per `healthMaxAge`.
public struct ReconcileRoutes: Sendable {
    public struct Configuration: Sendable {
        /// Whose opt-outs an inbound STOP or START changes (`opt_out_scope`).
        public var optOutScope = OptOutScope.sender
        /// Seconds within which an inbound SMS without a provider id, with the same numbers and
        /// body as one already recorded, is a replay of it.
        public var inboundReplayWindowSeconds = Outbox.inboundReplayWindow
        /// Extra keywords and the texts sent back (confirmations, help), per sender number.
        public var compliance = ComplianceConfiguration()
        /// The classifier with `compliance`'s extra keywords.
        var classifier: ReplyClassifier { compliance.classifier }
        /// Every sender's stop confirmation (`compliance.default.stop_confirmation`).
        public var stopReply: String {
            get { compliance.stopConfirmation(sender: "") }
            set { compliance.defaults.stopConfirmation = newValue }
        }
        /// Every sender's start confirmation (`compliance.default.start_confirmation`).
        public var startReply: String {
            get { compliance.startConfirmation(sender: "") }
            set { compliance.defaults.startConfirmation = newValue }
        }
        /// `/metrics` counts messages by state (a scan of the outbox) at most this often;
        /// scrapes in between reuse the last counts.
        public var messageCountsMaxAge: Duration = .seconds(5)
        /// `/healthz` asks the database at most this often; requests in between get the last answer.
        public var healthMaxAge: Duration = .seconds(1)
        /// The provider accounts callbacks may name (`providers` keys) and their kinds.
        public var accounts: [String: ProviderKind]
        /// Plum accounts that take inbound SMS, and their keys (the last segment of `/inbound/plum/{key}`).
        public var inboundKeys: [String: Secret] = [:]
        /// The sender numbers (E.164) inbound SMS may be addressed to, and the account each
        /// belongs to (nil: any account's).
        public var senders: [String: String?] = [:]
        public init(accounts: [String: ProviderKind]) { self.accounts = accounts }

        /// The routes' settings from the worker's configuration.
        public init(_ configuration: DispatcherConfiguration) {
            self.init(accounts: configuration.accounts.mapValues(\.kind))
            optOutScope = configuration.optOutScope
            inboundKeys = configuration.accounts.compactMapValues { $0.kind.definition.takesInboundSMS ? $0.inboundKey : nil }
            senders = configuration.senders.mapValues(\.account)
            compliance = configuration.compliance
        }
    }

    let pool: ConnectionPool
    /// `/healthz`'s one connection (its checks never overlap).
    let healthPool: ConnectionPool
    let ingest: CallbackIngest
    let metrics: Metrics
    let configuration: Configuration
    private let messageCounts = LockedValue<(at: ContinuousClock.Instant, counts: [String: Double])?>(nil)
    /// The last database check of `/healthz`, finished or under way, and when it started.
    private let healthCheck = LockedValue<(at: ContinuousClock.Instant, check: Task<Bool, Never>)?>(nil)

    public init(pool: ConnectionPool, healthPool: ConnectionPool? = nil, ingest: CallbackIngest, metrics: Metrics,
                configuration: Configuration) {
        self.pool = pool
        self.healthPool = healthPool ?? pool
        self.ingest = ingest
        self.metrics = metrics
        self.configuration = configuration
        metrics.describe("dispatcher_callbacks_received_total", type: "counter", "Callbacks received, by provider and verdict")
        metrics.describe("dispatcher_inbound_total", type: "counter", "Inbound SMS received, by keyword action")
    }

    public func register(on router: inout HTTPRouter) {
        router.post("/callbacks/{account}/{token}") { request in
            await self.callback(request, account: request.pathParameters["account"] ?? "")
        }
        router.post("/inbound/plum/{key}") { request in await self.inbound(request, key: request.pathParameters["key"] ?? "") }
        router.get("/healthz") { _ in await self.health() }
        router.get("/metrics") { _ in await self.metricsPage() }
    }

    // MARK: Callbacks

    func callback(_ request: HTTPRequest, account: String) async -> HTTPResponse {
        func count(_ verdict: String) { metrics.increment("dispatcher_callbacks_received_total", ["provider": account, "verdict": verdict]) }
        let notFound = HTTPResponse.text("not found\n", status: 404)
        // 1. The key: the account, then the message's id and token.
        guard let callbacks = configuration.accounts[account]?.definition.callbacks else {
            metrics.increment("dispatcher_callbacks_received_total", ["provider": "unknown", "verdict": "unknown_token"])
            return notFound
        }
        guard let key = CallbackKey(request.pathParameters["token"] ?? "") else {
            count("unknown_token")
            return notFound
        }
        // 2. The body.
        /// Only the holder of a real key learns that the body is wrong: `answer` for them, 404 for others.
        func badRequest(_ answer: String) async -> HTTPResponse {
            do {
                guard try await pool.withConnection({ try await Outbox.callbackKeyCheck($0, key: key, provider: account) }) else {
                    count("unknown_token")
                    return notFound
                }
            } catch {
                count("unavailable")
                return .text("temporarily unavailable\n", status: 503)
            }
            count("malformed")
            return .text(answer, status: 400)
        }
        let form: [String: String]
        switch request.formText() {
        case .success(let fields): form = fields
        case .failure(.notAForm): return await badRequest("the body must be application/x-www-form-urlencoded\n")
        case .failure(.notText(let problem)): return await badRequest("\(problem)\n")
        }
        guard let message = callbacks.parse(form) else {
            return await badRequest("missing \(callbacks.requiredFields)\n")
        }
        // the fields as received: the form body itself (first 4,000 bytes), not decoded and re-encoded
        let raw = String(decoding: request.body.prefix(4_000), as: UTF8.self)
        let verdict: Outbox.CallbackVerdict
        let understood = Self.lifecycleState(message.state) != nil
        do {
            if let state = Self.lifecycleState(message.state) {
                let report = ProviderReport(
                    token: key.description, provider: account, providerMessageID: message.id, providerStatus: message.statusText,
                    state: state, errorCode: message.failure?.rawCode, errorClass: message.failure?.code.rawValue, raw: raw)
                verdict = try await ingest.store(report)
            } else {
                // authenticated, but a status we do not act on: kept, and the provider is asked
                verdict = try await pool.withConnection {
                    try await Outbox.callbackNotUnderstoodRecord(
                        $0, key: key, provider: account, providerMessageID: message.id, providerStatus: message.statusText, raw: raw)
                }
            }
        } catch let error as CallbackIngest.Unstorable {
            return await badRequest("\(error)\n")
        } catch {
            count("unavailable")
            return .text("temporarily unavailable\n", status: 503)
        }
        switch verdict {
        case .stored:
            count(understood ? "stored" : "not_understood")
            return .text("ok\n")
        case .unknownToken:
            count("unknown_token")
            return notFound
        case .providerIDMismatch:
            count("id_mismatch")
            return notFound
        }
    }

    /// The lifecycle state a provider report means; nil for reports we do not act on.
    static func lifecycleState(_ state: ProviderMessage.State) -> MessageState? {
        switch state {
        case .accepted: .accepted
        case .sent: .sent
        case .delivered: .delivered
        case .undelivered: .undelivered
        case .failed: .failed
        case .unconfirmed: .unconfirmed
        case .received, .unknown: nil
        }
    }

    // MARK: Inbound SMS

    /// The Plum account whose inbound key is `key`, comparing with every configured key in
    /// constant time.
    func inboundAccount(key: String) -> String? {
        var found: String?
        for (account, secret) in configuration.inboundKeys.sorted(by: { $0.key < $1.key }) {
            if InboundKey.equal(key, secret.value) && !secret.value.isEmpty { found = account }
        }
        return found
    }

    func inbound(_ request: HTTPRequest, key: String) async -> HTTPResponse {
        let notFound = HTTPResponse.text("not found\n", status: 404)
        guard let provider = inboundAccount(key: key) else {
            metrics.increment("dispatcher_inbound_total", ["action": "unknown_key"])
            return notFound
        }
        let form: [String: String]
        switch request.formText() {
        case .success(let fields): form = fields
        case .failure(.notAForm): return .text("the body must be application/x-www-form-urlencoded\n", status: 400)
        case .failure(.notText(let problem)): return .text("\(problem)\n", status: 400)
        }
        guard let fromText = form["from"], !fromText.isEmpty, let toText = form["to"], !toText.isEmpty, let body = form["body"] else {
            return .text("missing from, to or body\n", status: 400)
        }
        // addressed to one of this account's sender numbers, or to nobody we know
        guard let to = (try? PhoneNumber(parsing: toText))?.e164, let owner = configuration.senders[to], owner == nil || owner == provider else {
            metrics.increment("dispatcher_inbound_total", ["action": "unknown_sender"])
            return notFound
        }
        let from = (try? PhoneNumber(parsing: fromText))?.e164 ?? fromText
        let decision = Self.decision(body, sender: to, configuration: configuration)
        let outcome: Outbox.InboundOutcome
        do {
            outcome = try await pool.withConnection { c in
                try await Outbox.inboundHandle(
                    c, provider: provider, providerMessageID: form["sms_message_id"].flatMap { $0.isEmpty ? nil : $0 },
                    from: from, to: to, body: String(body.prefix(10_000)), decision: decision,
                    optOutScope: configuration.optOutScope, replayWindow: configuration.inboundReplayWindowSeconds)
            }
        } catch {
            return .text("temporarily unavailable\n", status: 503)
        }
        metrics.increment("dispatcher_inbound_total", ["action": outcome.recorded ? decision.intent.rawValue : "replay"])
        if outcome.suppressed > 0 { metrics.increment("dispatcher_suppressed_total", [:], by: Double(outcome.suppressed)) }
        // a replay, a second STOP, a review or an ordinary reply: nothing is sent back
        return Self.xmlReply(outcome.reply.map { [$0] } ?? [])
    }

    /// What a reply to `sender` asks for (the configured classifier) and the text that answers it.
    static func decision(_ body: String, sender: String, configuration: Configuration) -> Outbox.InboundDecision {
        let compliance = configuration.compliance
        func reply(_ intent: Outbox.InboundIntent, _ keyword: String, _ text: String) -> Outbox.InboundDecision {
            Outbox.InboundDecision(intent: intent, keyword: keyword, replyText: text, replySegments: SegmentCount(body: text).segments)
        }
        switch configuration.classifier.classify(body) {
        case .optOut: return reply(.optOut, "stop", compliance.stopConfirmation(sender: sender))
        case .optIn: return reply(.optIn, "start", compliance.startConfirmation(sender: sender))
        case .help: return reply(.help, "help", compliance.helpReply(sender: sender))
        case .review(let reason): return Outbox.InboundDecision(intent: .review, keyword: firstWord(body), reviewReason: reason)
        case .none: return Outbox.InboundDecision(intent: .reply, keyword: firstWord(body))
        }
    }

    /// A reply's first word, lower-cased, without surrounding punctuation (at most 32
    /// characters; `empty` for none): `inbound_messages.keyword` of an ordinary reply. Keywords
    /// are grouped in reports and shown to console viewers, so a phone number is `[number]`.
    static func firstWord(_ body: String) -> String {
        let first = body.split(whereSeparator: { $0.isWhitespace }).first.map(String.init) ?? ""
        let word = String(PhoneNumberScrubbing.scrub(first.trimmingCharacters(in: .punctuationCharacters)).lowercased().prefix(32))
        return word.isEmpty ? "empty" : word
    }

    /// Plum's reply document: `<reply/>`, or one `<sms_message>` per message.
    static func xmlReply(_ messages: [String]) -> HTTPResponse {
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        if messages.isEmpty {
            xml += "<reply/>\n"
        } else {
            xml += "<reply>\n" + messages.map { "  <sms_message>\(Markup.escape($0))</sms_message>\n" }.joined() + "</reply>\n"
        }
        var response = HTTPResponse.text(xml)
        response.headers.set("Content-Type", "application/xml; charset=utf-8")
        return response
    }

    // MARK: Health and metrics

    func health() async -> HTTPResponse {
        let now = ContinuousClock.now
        let check = healthCheck.withLock { last in
            if let last, now - last.at < configuration.healthMaxAge { return last.check }
            // one database check at a time, shared by every request until it is too old
            let check = Task { [healthPool] in (try? await healthPool.withConnection { try await $0.query("SELECT 1") }) != nil }
            last = (now, check)
            return check
        }
        if await check.value { return .jsonObject(["status": "ok", "database": "ok"]) }
        return .jsonObject(["status": "unavailable", "database": "unreachable"], status: 503)
    }

    func metricsPage() async -> HTTPResponse {
        metrics.describe("dispatcher_messages", type: "gauge", "Messages in the outbox, by state")
        let now = ContinuousClock.now
        let fresh = messageCounts.withLock { $0.map { now - $0.at < configuration.messageCountsMaxAge } ?? false }
        if !fresh, let byState = try? await pool.withConnection({ try await Outbox.messageCountByState($0) }) {
            let counts = Dictionary(uniqueKeysWithValues: byState.map { ($0.key.rawValue, Double($0.value)) })
            for (state, n) in counts { metrics.set("dispatcher_messages", ["state": state], to: n) }
            messageCounts.withLock { $0 = (now, counts) }
        }
        var response = HTTPResponse.text(metrics.render())
        response.headers.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        return response
    }
}
