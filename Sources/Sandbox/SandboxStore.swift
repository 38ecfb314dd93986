import Foundation

/// The sandbox's memory: accepted messages, accept counts per (API, from, to, body), counters,
/// per-sender rate buckets, and the seeded random draws.
public actor SandboxStore {
    /// What to answer a send request.
    enum SendDecision: Sendable {
        case serverError
        case rateLimited
        case refused(SandboxTestNumbers.Fate)
        /// Accepted: answer after `slowAnswer` seconds (if any), with `status` (nil: the
        /// documented success; a 5xx: a front end's error page), callbacks from `callbacksAfter` on.
        case accepted(SandboxMessage, slowAnswer: Double?, status: Int?, callbacks: [SandboxCallbackEvent], callbacksAfter: Double)
    }

    public private(set) var knobs: SandboxKnobs
    private var random: SandboxRandom
    private var messages: [String: SandboxMessage] = [:]
    private var order: [SandboxMessage.API: [String]] = [:]
    private var acceptCounts: [String: Int] = [:]
    private var counters = SandboxStats()
    private var buckets: [String: (tokens: Double, at: Double)] = [:]
    /// When the knobs were last set: an outage is timed from here.
    private var knobsSetAt = Date()

    init(knobs: SandboxKnobs) {
        self.knobs = knobs
        random = SandboxRandom(seed: knobs.seed)
    }

    func setKnobs(_ knobs: SandboxKnobs) {
        self.knobs = knobs
        random = SandboxRandom(seed: knobs.seed)
        buckets.removeAll()
        knobsSetAt = Date()
    }

    /// The outage mode when an outage is under way now (and counts the refused request).
    func outage(isSend: Bool) -> SandboxKnobs.OutageMode? {
        guard knobs.outageSeconds > 0 else { return nil }
        let elapsed = Date().timeIntervalSince(knobsSetAt) - knobs.outageStart
        guard elapsed >= 0 && elapsed < knobs.outageSeconds else { return nil }
        counters.outageRequests += 1
        if isSend { counters.outageSends += 1 }
        return knobs.outageMode
    }

    /// Forgets every message and counter.
    func reset() {
        messages.removeAll()
        order.removeAll()
        acceptCounts.removeAll()
        counters = SandboxStats()
        buckets.removeAll()
        random = SandboxRandom(seed: knobs.seed)
    }

    func noteRequest() { counters.requests += 1 }
    func noteAuthFailure() { counters.requests += 1; counters.authFailures += 1 }
    func noteCallback(delivered: Bool) {
        if delivered { counters.callbacksSent += 1 } else { counters.callbacksFailed += 1 }
    }

    /// Decides a send: rate limit, injected 5xx, the test-number table, then acceptance.
    func submit(api: SandboxMessage.API, from: String, to: String, recipient: String, body: String,
                callbackURL: String?, callbackMethod: String, accountSID: String) -> SendDecision {
        counters.requests += 1
        let segments = SandboxMessage.segments(of: body)
        if knobs.segmentsPerSecond > 0 && !takeTokens(sender: "\(api.rawValue):\(from)", segments: segments) {
            counters.rateLimited += 1
            return .rateLimited
        }
        if random.chance(knobs.serverErrorRate) {
            counters.serverErrors += 1
            return .serverError
        }
        let fate = SandboxTestNumbers.fate(to: recipient, plum: api == .plum)
        if case .refused = fate {
            counters.refused += 1
            return .refused(fate)
        }
        let sentAfter = max(0, knobs.sentDelay)
        let low = max(sentAfter, knobs.deliveryDelayMin), high = max(low, knobs.deliveryDelayMax)
        let finalAfter = high > low ? Double.random(in: low...high, using: &random) : low
        // Ids are unique across sandbox runs, like a real provider's (fault draws stay seeded).
        var system = SystemRandomNumberGenerator()
        let id = api == .plum ? SandboxRandom.hex128(using: &system) : "SM" + SandboxRandom.hex128(using: &system)
        let late = random.chance(knobs.lateCommitRate)
        var message = SandboxMessage(
            id: id, api: api, from: from, to: to, body: knobs.bodyNormalisation.apply(body), recipient: recipient,
            callbackURL: callbackURL, callbackMethod: callbackMethod, acceptedAt: Date(), sentAfter: sentAfter,
            finalAfter: finalAfter, fate: fate, segments: segments)
        message.visibleAfter = max(0, knobs.listLag) + (late ? max(0, knobs.lateCommitDelay) : 0)
        messages[id] = message
        order[api, default: []].append(id)
        // The ledger counts what was sent, whatever is stored of it.
        let key = "\(api.rawValue)\u{0}\(from)\u{0}\(to)\u{0}\(body)"
        let previous = acceptCounts[key, default: 0]
        acceptCounts[key] = previous + 1
        counters.accepted += 1
        if previous > 0 { counters.duplicates += 1 }
        var status: Int?
        if counters.accepted <= knobs.acceptThen5xxCount || random.chance(knobs.acceptThen5xxRate) {
            status = knobs.acceptThen5xxStatus != 0 ? knobs.acceptThen5xxStatus : [500, 502, 504][Int(random.next() % 3)]
            counters.acceptedThen5xx += 1
        }
        if late {
            counters.lateCommits += 1
            return .accepted(message, slowAnswer: max(0, knobs.lateCommitDelay), status: status,
                             callbacks: callbackPlan(message, accountSID: accountSID), callbacksAfter: max(0, knobs.lateCommitDelay))
        }
        let slow = random.chance(knobs.slowAnswerRate) ? knobs.slowAnswerDelay : nil
        if slow != nil { counters.slowAnswers += 1 }
        return .accepted(message, slowAnswer: slow, status: status, callbacks: callbackPlan(message, accountSID: accountSID),
                         callbacksAfter: 0)
    }

    /// One message, once list and status answers show it.
    public func message(id: String) -> SandboxMessage? {
        guard let m = messages[id], m.isVisible(at: Date()) else { return nil }
        return m
    }

    /// Accepted messages of one API in acceptance order, as the list shows them now.
    func messages(api: SandboxMessage.API) -> [SandboxMessage] {
        let now = Date()
        return (order[api] ?? []).compactMap { messages[$0] }.filter { $0.isVisible(at: now) }
    }

    /// Every accepted message, visible or not, in acceptance order.
    public func allMessages() -> [SandboxMessage] {
        messages.values.sorted { $0.acceptedAt < $1.acceptedAt }
    }

    /// How many times (API, from, to, body) was accepted.
    func acceptCount(api: SandboxMessage.API, from: String, to: String, body: String) -> Int {
        acceptCounts["\(api.rawValue)\u{0}\(from)\u{0}\(to)\u{0}\(body)", default: 0]
    }

    func stats() -> SandboxStats {
        var stats = counters
        let now = Date()
        var states: [String: Int] = [:]
        for message in messages.values { states[message.status(at: now).state, default: 0] += 1 }
        stats.states = states
        return stats
    }

    // MARK: Internals

    /// Token bucket per sender, in segments.
    private func takeTokens(sender: String, segments: Int) -> Bool {
        let now = Date().timeIntervalSinceReferenceDate
        var bucket = buckets[sender] ?? (knobs.burstSegments, now)
        bucket.tokens = min(knobs.burstSegments, bucket.tokens + (now - bucket.at) * knobs.segmentsPerSecond)
        bucket.at = now
        let ok = bucket.tokens >= Double(segments) || (bucket.tokens >= knobs.burstSegments && knobs.burstSegments < Double(segments))
        if ok { bucket.tokens -= Double(segments) }
        buckets[sender] = bucket
        return ok
    }

    /// The callbacks one message produces, with the knobs' duplicates and disorder.
    private func callbackPlan(_ m: SandboxMessage, accountSID: String) -> [SandboxCallbackEvent] {
        guard knobs.callbacks, let url = m.callbackURL, !url.isEmpty else { return [] }
        var events: [SandboxCallbackEvent] = []
        switch m.api {
        case .plum:
            // result_url gets `sms_message_id` and `status` when the status changes: sent (or
            // failed). Delivery news only if the plum_callback_delivery knob asks for it.
            let status: String
            if case .failed = m.fate { status = "failed" } else { status = "sent" }
            events.append(SandboxCallbackEvent(url: url, method: "POST", at: m.sentAfter,
                                               form: [("sms_message_id", m.id), ("status", status)]))
            let delivery: String?
            switch m.fate {
            case .delivered, .refused: delivery = "delivered"
            case .undelivered: delivery = "undelivered"
            case .failed, .unconfirmed: delivery = nil
            }
            if let delivery {
                switch knobs.plumCallbackDelivery {
                case .none:
                    break
                case .status:
                    events.append(SandboxCallbackEvent(url: url, method: "POST", at: m.finalAfter,
                                                       form: [("sms_message_id", m.id), ("status", delivery)]))
                case .deliveryStatus:
                    events.append(SandboxCallbackEvent(url: url, method: "POST", at: m.finalAfter,
                                                       form: [("sms_message_id", m.id), ("status", "sent"), ("delivery_status", delivery)]))
                }
            }
            if random.chance(knobs.outOfOrderCallbackRate) {
                // a stale "queued" right after "sent"
                events.insert(SandboxCallbackEvent(url: url, method: "POST", at: m.sentAfter,
                                                   form: [("sms_message_id", m.id), ("status", "queued")]), at: 1)
            }
        case .restcomm:
            func event(_ status: String, _ code: Int?, at: Double) -> SandboxCallbackEvent {
                var form = [("MessageSid", m.id), ("MessageStatus", status)]
                if let code { form.append(("ErrorCode", String(code))) }
                form += [("AccountSid", accountSID), ("From", m.from), ("To", m.to), ("Body", m.body)]
                return SandboxCallbackEvent(url: url, method: m.callbackMethod, at: at, form: form)
            }
            // As documented: a "sent" event (or "failed", then nothing more), then the delivery
            // event — unless the delivery_callbacks knob is off.
            switch m.fate {
            case .failed(let code):
                events.append(event("failed", code, at: m.sentAfter))
            case .unconfirmed:
                events.append(event("sent", nil, at: m.sentAfter))
            case .undelivered(let code):
                events += [event("sent", nil, at: m.sentAfter), event("undelivered", code, at: m.finalAfter)]
            case .delivered, .refused:
                events += [event("sent", nil, at: m.sentAfter), event("delivered", nil, at: m.finalAfter)]
            }
            if !knobs.deliveryCallbacks { events = Array(events.prefix(1)) }
            if events.count == 2 && random.chance(knobs.outOfOrderCallbackRate) {
                // The delivery event first, the sent event after it.
                let (sent, delivery) = (events[0], events[1])
                events = [SandboxCallbackEvent(url: url, method: delivery.method, at: sent.at, form: delivery.form),
                          SandboxCallbackEvent(url: url, method: sent.method, at: delivery.at, form: sent.form)]
            }
        }
        var withDuplicates: [SandboxCallbackEvent] = []
        for e in events {
            withDuplicates.append(e)
            if random.chance(knobs.duplicateCallbackRate) { withDuplicates.append(e) }
        }
        return withDuplicates
    }
}
