import Foundation
import Store
import Support

/// The compliance report as a table, JSON or CSV. Each section renders on its own
/// (`revocationLines`, …): a new section of `ComplianceReport` gets one function per
/// format here, or in a file of its own beside this one.
enum ComplianceReportFormat {
    /// A recipient's number with every digit but the last 4 masked: `+1******1234`.
    static func mask(_ phone: String) -> String {
        let digits = phone.filter(\.isNumber).count
        var seen = 0
        return String(phone.map { ch -> Character in
            guard ch.isNumber else { return ch }
            seen += 1
            // the country code's leading 1 of a NANP number stays
            if seen == 1 && phone.hasPrefix("+1") && digits == 11 { return ch }
            return seen > digits - 4 ? ch : "*"
        })
    }

    /// The report with the recipients' numbers masked (sender numbers are the operator's own),
    /// and any number a reply quotes ("STOP 2025550143"), in its words and in a review's reason,
    /// as `[number]`.
    static func masked(_ report: ComplianceReport) -> ComplianceReport {
        let scrub = PhoneNumberScrubbing.scrub
        var r = report
        r.revocations = r.revocations?.map { var x = $0; x.phone = mask(x.phone); x.words = scrub(x.words); return x }
        r.helpReplies = r.helpReplies?.map { var x = $0; x.phone = mask(x.phone); x.words = scrub(x.words); return x }
        r.reviews = r.reviews?.map { x in
            var x = x
            x.phone = mask(x.phone)
            x.words = scrub(x.words)
            x.reason = scrub(x.reason)
            return x
        }
        return r
    }

    static func time(_ d: Date?) -> String { d.map { $0.formatted(.iso8601) } ?? "-" }

    /// A body on one line: control characters as spaces, at most `limit` characters.
    static func oneLine(_ s: String, limit: Int = 60) -> String {
        let flat = String(s.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : Character($0) })
        return flat.count > limit ? String(flat.prefix(limit - 1)) + "…" : flat
    }

    // MARK: JSON

    static func json(_ report: ComplianceReport) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(report), as: UTF8.self)
    }

    // MARK: CSV

    static let csvHeader = ["section", "inbound_id", "received_at", "phone", "sender", "words", "scope", "new_opt_out",
                            "replied_at", "suppressed", "sends_after", "reply", "review_reason", "key", "value"]

    static func csv(_ report: ComplianceReport) -> String {
        func field(_ s: String) -> String {
            // quoted when needed; a leading = + - @ is a formula to a spreadsheet: prefixed with a '
            // (but for a phone number: + and digits or mask stars only)
            let number = s.first == "+" && s.dropFirst().allSatisfy { $0.isASCII && ($0.isNumber || $0 == "*") }
            let safe = !number && s.first.map { "=+-@\t\r".contains($0) } == true ? "'" + s : s
            return safe.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                ? "\"" + safe.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : safe
        }
        var lines = [csvHeader.joined(separator: ",")]
        for r in report.revocations ?? [] {
            lines.append([field("revocation"), String(r.inboundID), time(r.receivedAt), field(r.phone), field(r.sender), field(r.words),
                          field(r.scope), String(r.newOptOut), r.confirmationSentAt.map { time($0) } ?? "", String(r.suppressed),
                          String(r.sendsAfter), "", "", "", ""].joined(separator: ","))
        }
        for h in report.helpReplies ?? [] {
            lines.append([field("help"), String(h.inboundID), time(h.receivedAt), field(h.phone), field(h.sender), field(h.words),
                          "", "", h.repliedAt.map { time($0) } ?? "", "", "", field(h.reply ?? ""), "", "", ""].joined(separator: ","))
        }
        for v in report.reviews ?? [] {
            lines.append([field("review"), String(v.inboundID), time(v.receivedAt), field(v.phone), field(v.sender), field(v.words),
                          "", "", "", "", "", "", field(v.reason), "", ""].joined(separator: ","))
        }
        // the sending sections: one row per figure, in the last two columns
        let blank = Array(repeating: "", count: csvHeader.count - 3)
        for (section, key, value) in ComplianceSendingSections.rows(report.sending) {
            lines.append(([section] + blank + [key, String(value)]).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: Table

    static func table(_ report: ComplianceReport) -> String {
        var out = "compliance report, \(time(report.generatedAt))"
        if let c = report.campaign { out += ", replies from recipients of campaign \(c)" }
        if let s = report.since { out += ", replies since \(time(s))" }
        out += "\n"
        if let rows = report.revocations { out += "\n" + revocationLines(rows) }
        if let rows = report.helpReplies { out += "\n" + helpLines(rows) }
        if let rows = report.reviews { out += "\n" + reviewLines(rows) }
        if let sending = report.sending { out += "\n" + ComplianceSendingSections.table(sending) }
        return out
    }

    /// Columns padded to their widest cell.
    static func grid(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { i in all.map { $0[i].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }

    static func revocationLines(_ rows: [ComplianceReport.Revocation]) -> String {
        var out = "revocations (\(rows.count)); sends after must be 0\n"
        if rows.isEmpty { return out + "  none\n" }
        out += grid(["received", "from", "to", "words", "scope", "confirmed", "suppressed", "sends after"], rows.map { r in
            [time(r.receivedAt), r.phone, r.sender, "\"\(oneLine(r.words, limit: 30))\"", r.scope,
             r.confirmationSentAt.map { time($0) } ?? (r.newOptOut ? "-" : "- (already opted out)"), String(r.suppressed), String(r.sendsAfter)]
        })
        return out
    }

    static func helpLines(_ rows: [ComplianceReport.HelpReply]) -> String {
        var out = "help replies (\(rows.count))\n"
        if rows.isEmpty { return out + "  none\n" }
        out += grid(["received", "from", "to", "words", "replied", "reply"], rows.map { h in
            [time(h.receivedAt), h.phone, h.sender, "\"\(oneLine(h.words, limit: 20))\"", time(h.repliedAt), oneLine(h.reply ?? "-", limit: 160)]
        })
        return out
    }

    static func reviewLines(_ rows: [ComplianceReport.Review]) -> String {
        var out = "replies waiting for review (\(rows.count)): not acted on\n"
        if rows.isEmpty { return out + "  none\n" }
        out += grid(["received", "from", "to", "words", "reason"], rows.map { v in
            [time(v.receivedAt), v.phone, v.sender, "\"\(oneLine(v.words, limit: 40))\"", v.reason]
        })
        return out
    }
}
