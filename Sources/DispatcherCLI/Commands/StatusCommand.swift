import Foundation
import Store

/// `dispatcher status ID`: one message and its timeline.
enum StatusCommand: CLICommand {
    static let name = "status"
    static let summary = "one message's timeline (by outbox id, provider id, or CAMPAIGN/ID)"
    static let usage = """
    usage: dispatcher status ID [--json]

    ID is an outbox message id (a number), a provider message id, or CAMPAIGN/EXTERNAL_ID.
    Prints the message and every event recorded for it: claims, attempts with their HTTP
    status, provider code and latency, callbacks, polls, operator actions.

    See docs/lifecycle.md (states and events).
    """

    static func run(_ args: inout Arguments, _ context: CommandContext) async throws -> Int32 {
        try await withDatabase(&args, context) { args, connection in
            let asJSON = args.flag("--json")
            let rest = try args.positionals()
            guard rest.count == 1 else { throw CLIFailure.usage("status takes one ID (usage: dispatcher status ID)") }
            let ids = try await Outbox.messageFind(connection, id: rest[0])
            guard !ids.isEmpty else { throw CLIFailure(exitCode: ExitCode.dataError, message: "no message found for '\(rest[0])'") }
            var statuses: [Outbox.MessageStatus] = []
            for id in ids { if let s = try await Outbox.messageGetWithEvents(connection, id: id) { statuses.append(s) } }
            if asJSON {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                encoder.keyEncodingStrategy = .convertToSnakeCase
                encoder.dateEncodingStrategy = .iso8601
                print(String(decoding: try encoder.encode(statuses), as: UTF8.self))
            } else {
                print(statuses.map(render).joined(separator: "\n"), terminator: "")
            }
            return ExitCode.success
        }
    }

    static func render(_ s: Outbox.MessageStatus) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var out = "message \(s.id)  \(s.campaign)/\(s.externalID)  \(s.state)\n"
        out += "  \(s.from) -> \(s.to) via \(s.provider)\(s.providerMessageID.map { " (\($0))" } ?? "")"
        out += ", \(s.segments) segment\(s.segments == 1 ? "" : "s"), \(s.attempts) attempt\(s.attempts == 1 ? "" : "s")\n"
        if let cls = s.errorClass { out += "  error \(cls)\(s.errorCode.map { " (\($0))" } ?? "")\n" }
        out += "  \(f.string(from: s.createdAt))  enqueued, due \(f.string(from: s.dueAt))"
        out += s.expiresAt.map { ", expires \(f.string(from: $0))" } ?? ""
        out += "\n"
        for e in s.events {
            var line = "  \(f.string(from: e.at))  \(e.source)/\(e.kind)"
            if let from = e.fromState, let to = e.toState { line += " \(from) -> \(to)" } else if let to = e.toState { line += " -> \(to)" }
            if let st = e.providerStatus { line += " status=\(st)" }
            if let h = e.httpStatus { line += " http=\(h)" }
            if let c = e.errorCode { line += " code=\(c)" }
            if let c = e.errorClass { line += " class=\(c)" }
            if let l = e.latencyMs { line += " \(l)ms" }
            if let d = e.detail { line += "  \(d)" }
            out += line + "\n"
        }
        return out
    }
}
