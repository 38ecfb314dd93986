import Foundation
import Store

/// `dispatcher report [CAMPAIGN] [--format table|json|csv]`.
enum ReportCommand: CLICommand {
    static let name = "report"
    static let summary = "campaign summary: states, delivery rate, errors, latency, replies"
    static let usage = """
    usage: dispatcher report [CAMPAIGN] [--format table|json|csv]
           dispatcher report --compliance [CAMPAIGN | --since DATE] [--format table|json|csv] [--full-numbers]

    For each campaign (or the one named): counts per state, delivery rate (delivered /
    messages in a final state), errors by normalised class and raw provider code, send
    latency (due -> accepted) and delivery latency (accepted -> delivered) p50/p95,
    opt-outs and replies (CONFIRM, STOP, ...), and rows rejected at submit.
    The numbers come from the campaign_report view (see docs/reporting.md).
    --format json prints an array of objects; csv prints a header and one row per campaign.
    Confirmations and help replies sent back to inbound SMS are the messages of the
    campaign system:replies (all `sent`).
    --compliance prints the compliance report instead: revocations with their confirmation,
    what they suppressed and the sends after them (0), HELP replies, and replies waiting for
    review; recipients' numbers masked but for the last 4 digits unless --full-numbers
    (see docs/compliance.md).

    \(ComplianceSendingSections.usage)
    """

    static func run(_ args: inout Arguments, _ context: CommandContext) async throws -> Int32 {
        try await withDatabase(&args, context) { args, connection in
            let format = try args.option("--format") ?? "table"
            guard ["table", "json", "csv"].contains(format) else { throw CLIFailure.usage("--format is table, json or csv, not '\(format)'") }
            if args.flag("--compliance") { return try await ComplianceReportCommand.run(&args, context, connection: connection, format: format) }
            let rest = try args.positionals()
            guard rest.count <= 1 else { throw CLIFailure.usage("report takes at most one campaign") }
            let reports = try await Outbox.campaignReportList(connection, campaign: rest.first)
            if let name = rest.first, reports.isEmpty {
                throw CLIFailure(exitCode: ExitCode.dataError, message: "no campaign named '\(name)'")
            }
            let unavailable = try await RateLimits.rateLimitUnavailableList(connection)
            switch format {
            case "json": print(try json(reports))
            case "csv": print(csv(reports), terminator: "")
            default: print(table(reports), terminator: "")
            }
            // Provider accounts the circuit breaker closed: on the table, on standard error otherwise.
            for u in unavailable {
                let line = "provider account \(u.key.hasPrefix("provider:") ? String(u.key.dropFirst(9)) : u.key) unavailable since "
                    + "\(u.since.formatted(.iso8601)): nothing is sent through it until a probe succeeds"
                if format == "table" { print(line) } else { printError(line) }
            }
            return ExitCode.success
        }
    }

    static func json(_ reports: [Outbox.CampaignReport]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: try encoder.encode(reports), as: UTF8.self)
    }

    static func csv(_ reports: [Outbox.CampaignReport]) -> String {
        let header = ["campaign", "status", "total"] + Outbox.reportStates.map(\.rawValue) + [
            "delivery_rate", "send_latency_p50_s", "send_latency_p95_s", "delivery_latency_p50_s", "delivery_latency_p95_s",
            "opt_outs", "replies", "rejected_rows",
        ]
        func field(_ s: String) -> String {
            s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        func number(_ d: Double?) -> String { d.map { String(format: "%.3f", $0) } ?? "" }
        var lines = [header.joined(separator: ",")]
        for r in reports {
            var row = [field(r.campaign), r.status, String(r.total)]
            row += Outbox.reportStates.map { String(r.states[$0.rawValue] ?? 0) }
            row += [String(format: "%.4f", r.deliveryRate), number(r.sendLatencyP50), number(r.sendLatencyP95),
                    number(r.deliveryLatencyP50), number(r.deliveryLatencyP95),
                    String(r.optOuts), String(r.replies.values.reduce(0, +)), String(r.rejectedRows)]
            lines.append(row.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func table(_ reports: [Outbox.CampaignReport]) -> String {
        if reports.isEmpty { return "no campaigns yet\n" }
        func seconds(_ d: Double?) -> String { d.map { String(format: "%.2fs", $0) } ?? "-" }
        var out = ""
        for r in reports {
            out += "campaign \(r.campaign) (id \(r.campaignID), \(r.status)): \(r.total) messages\n"
            let nonzero = Outbox.reportStates.map(\.rawValue).filter { (r.states[$0] ?? 0) > 0 }
            out += "  states      " + (nonzero.isEmpty ? "-" : nonzero.map { "\($0) \(r.states[$0]!)" }.joined(separator: ", ")) + "\n"
            out += "  delivered   " + String(format: "%.1f%%", r.deliveryRate * 100) + " of finished messages\n"
            out += "  send        p50 \(seconds(r.sendLatencyP50))  p95 \(seconds(r.sendLatencyP95))   (due -> accepted)\n"
            out += "  delivery    p50 \(seconds(r.deliveryLatencyP50))  p95 \(seconds(r.deliveryLatencyP95))   (accepted -> delivered)\n"
            if !r.errors.isEmpty {
                out += "  errors      " + r.errors.map { "\($0.errorClass)\($0.errorCode.map { " (\($0))" } ?? "") \($0.count)" }.joined(separator: ", ") + "\n"
            }
            if !r.replies.isEmpty || r.optOuts > 0 {
                out += "  replies     " + r.replies.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                out += (r.replies.isEmpty ? "" : "; ") + "opt-outs \(r.optOuts)\n"
            }
            if r.rejectedRows > 0 { out += "  rejected    \(r.rejectedRows) rows at submit\n" }
        }
        return out
    }
}

/// Resolves the database, connects and runs `body` (the embedded cluster stopped after it, if
/// this process started it).
func withDatabase(_ args: inout Arguments, _ context: CommandContext,
                  _ body: (inout Arguments, Connection) async throws -> Int32) async throws -> Int32 {
    var target: DatabaseTarget?
    do {
        // these commands use no setting of the configuration; a file named is still checked
        _ = try context.configuration(needsSecrets: false)
        target = try await DatabaseTarget.resolve(allowEmbedded: true)
        let connection = try await Connection.connect(target!.conninfo, settings: .command)
        let status = try await body(&args, connection)
        await connection.close()
        await target?.finish()
        return status
    } catch {
        await target?.finish()
        throw error
    }
}
