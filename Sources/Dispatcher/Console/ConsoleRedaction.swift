import HTTP
import Support
import Store

/// What a role may see, applied to every row before any page is rendered: the pages never
/// decide it themselves, so none can forget it.
///
/// Viewers see recipients' numbers as their last 4 digits, no message texts (bodies,
/// replies, callback and poll fields as received, which carry them), and free text (event
/// details, halt reasons) with every run of 7 or more digits masked the same way.
/// Operators see everything.
struct ConsoleRedaction: Sendable {
    let role: ConsoleConfiguration.Role

    static let hidden = "(hidden)"
    /// Event kinds whose detail ends with a provider's fields as received.
    static let rawDetailKinds: Set<String> = ["callback", "callback_rejected", "poll"]

    var showsFull: Bool { role == .operator }

    /// A recipient's number: `+12025550143` → `•••••••0143`; `client:NAME` → `client:•••`.
    func phone(_ number: String) -> String {
        guard !showsFull else { return number }
        if number.hasPrefix("client:") { return "client:•••" }
        let digits = number.filter(\.isASCIIDigit)
        guard digits.count > 4 else { return String(repeating: "•", count: max(4, number.count)) }
        return String(repeating: "•", count: digits.count - 4) + digits.suffix(4)
    }

    func body(_ text: String?) -> String? { showsFull ? text : nil }

    /// Free text with long digit runs (phone numbers) masked for viewers.
    func freeText(_ text: String?) -> String? {
        guard let text, !showsFull else { return text }
        var out = ""
        var run = ""
        func flush() {
            if run.count >= 7 { out += String(repeating: "•", count: run.count - 4) + run.suffix(4) } else { out += run }
            run = ""
        }
        for ch in text {
            if ch.isASCIIDigit { run.append(ch) } else { flush(); out.append(ch) }
        }
        flush()
        return out
    }

    func apply(_ m: ConsoleRows.Message) -> ConsoleRows.Message {
        var m = m
        m.toNumber = phone(m.toNumber)
        m.errorCode = freeText(m.errorCode)
        return m
    }

    func apply(_ d: ConsoleRows.MessageDetail) -> ConsoleRows.MessageDetail {
        var d = d
        d.message = apply(d.message)
        d.body = body(d.body)
        return d
    }

    func apply(_ e: ConsoleRows.Event) -> ConsoleRows.Event {
        var e = e
        e.detail = Self.rawDetailKinds.contains(e.kind) ? body(e.detail) : freeText(e.detail)
        e.errorCode = freeText(e.errorCode)
        return e
    }

    func apply(_ r: ConsoleRows.InboxReport) -> ConsoleRows.InboxReport {
        var r = r
        r.raw = body(r.raw)
        return r
    }

    func apply(_ i: ConsoleRows.Inbound) -> ConsoleRows.Inbound {
        var i = i
        i.fromNumber = phone(i.fromNumber)
        if !showsFull { i.body = Self.hidden }
        return i
    }

    func apply(_ r: ConsoleRows.RateLimit) -> ConsoleRows.RateLimit {
        var r = r
        r.haltReason = freeText(r.haltReason)
        return r
    }

    func apply(_ d: ConsoleRows.InDoubt) -> ConsoleRows.InDoubt {
        var d = d
        d.toNumber = phone(d.toNumber)
        return d
    }

    func apply(_ o: ConsoleRows.OptOut) -> ConsoleRows.OptOut {
        var o = o
        o.phone = phone(o.phone)
        o.inboundBody = body(o.inboundBody)
        return o
    }

    func apply(_ e: ConsoleRows.ErrorGroup) -> ConsoleRows.ErrorGroup {
        var e = e
        e.errorCode = freeText(e.errorCode)
        return e
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
