import Dispatcher
import Foundation
import Jobs

/// `dispatcher validate FILE…`: parses and checks job files, no database.
enum ValidateCommand: CLICommand {
    static let name = "validate"
    static let summary = "check job files without touching the database"
    static let usage = """
    usage: dispatcher validate FILE… [--json] [--max-segments N] [--config FILE]
                               [--campaign NAME --from NUMBER --provider ACCOUNT|plum|restcomm
                                [--template TEXT] [--send-at TIME]]

    Checks JSON job files, manifests (NAME.json with "csv": "NAME.csv") and CSV files.
    A CSV given alone uses its manifest NAME.json when one names it; otherwise the
    campaign flags are required (the same flags as submit). Every error is printed to
    stderr as file:line:column: message (CSV) or file: messages[3].to: message (JSON),
    then a summary to stdout: messages, segments, per sender, first and last send time.

      --json             print one JSON object {valid, errors, files, summary} instead
      --max-segments N   reject messages longer than N segments (default 10)
      --config FILE      check each campaign's provider against the configured provider
                         accounts and sender numbers, as submit does (default
                         dispatcher.json if present; without a configuration the
                         provider must be a kind: plum or restcomm)

    Exit status: 0 all valid; 65 anything invalid, including a file that cannot be read
    (it is input data that is missing or unreadable, reported like any other error);
    64 usage errors (no files, bad options, a bare CSV without campaign flags).

    See docs/job-files.md.
    """

    static func run(_ args: inout Arguments, _ context: CommandContext) async throws -> Int32 {
        try validate(&args, context)
    }

    private static func validate(_ args: inout Arguments, _ context: CommandContext) throws(CLIFailure) -> Int32 {
        let json = args.flag("--json")
        var maxSegments = JobOptions.defaultMaxSegments
        if let text = try args.option("--max-segments") {
            guard let n = Int(text), n > 0 else { throw .usage("--max-segments needs a positive number, not '\(text)'") }
            maxSegments = n
        }
        // With a configuration, `provider` may name its accounts and must agree with the
        // sender's account; without one, it is a kind.
        let accounts = DispatcherConfiguration.file(path: context.configPath) == nil
            ? nil : try context.configuration(needsSecrets: false).providerAccounts
        let campaign = try args.option("--campaign")
        let from = try args.option("--from")
        let provider = try args.option("--provider")
        let template = try args.option("--template")
        let sendAt = try args.option("--send-at")
        let files = try args.positionals()
        guard !files.isEmpty else { throw .usage("no files given (usage: dispatcher validate FILE…)") }

        let flagsGiven = [campaign, from, provider, template, sendAt].contains { $0 != nil }
        let settings = flagsGiven
            ? CampaignSettings(campaign: campaign, from: from, provider: provider, template: template, sendAt: sendAt)
            : nil
        let plan: [JobInput]
        do { plan = try JobInput.pair(files, flags: settings) } catch { throw .usage(error.message) }

        let options = JobOptions(now: Date(), maxSegments: maxSegments, providerAccounts: accounts)
        var total = JobSummary()
        var errors: [JobError] = []
        var fileReports: [[String: Any]] = []
        var errorCount = 0
        for input in plan {
            let file = input.path
            let reader = JobReader(path: file, campaign: input.settings, options: options)
            var fileErrors = 0
            while let item = reader.next() {
                guard case let .error(error) = item else { continue }
                fileErrors += 1
                if json { errors.append(error) } else { printError(error.description) }
            }
            errorCount += fileErrors
            total.merge(reader.summary)
            if json {
                fileReports.append([
                    "file": file,
                    "campaign": reader.header?.campaign ?? NSNull(),
                    "provider": reader.header?.kind.rawValue ?? NSNull(),
                    "errors": fileErrors,
                    "summary": summaryObject(reader.summary),
                ])
            } else {
                let name = reader.header.map { "campaign \($0.campaign) (\($0.kind))" } ?? "campaign fields invalid"
                print("\(file): \(name): \(count(reader.summary.messages, "valid message")), \(count(reader.summary.segments, "segment")), \(count(fileErrors, "error"))")
            }
        }

        if json {
            let object: [String: Any] = [
                "valid": errorCount == 0,
                "errors": errors.map(errorObject),
                "files": fileReports,
                "summary": summaryObject(total),
            ]
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])) ?? Data("{}".utf8)
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("total: \(count(total.messages, "message")), \(count(total.segments, "segment"))")
            for sender in total.bySender.keys.sorted() {
                let t = total.bySender[sender]!
                print("  from \(sender): \(count(t.messages, "message")), \(count(t.segments, "segment"))")
            }
            if let first = total.firstSendAt, let last = total.lastSendAt {
                print("first send: \(Timestamp.format(first))")
                print("last send:  \(Timestamp.format(last))")
            }
            if errorCount > 0 {
                printError("validate: \(count(errorCount, "error")) in \(count(plan.count, "file"))")
            }
        }
        return errorCount == 0 ? ExitCode.success : ExitCode.dataError
    }

    private static func count(_ n: Int, _ noun: String) -> String {
        "\(n) \(noun)\(n == 1 ? "" : "s")"
    }

    private static func summaryObject(_ s: JobSummary) -> [String: Any] {
        var senders: [String: Any] = [:]
        for (sender, t) in s.bySender {
            senders[sender] = ["messages": t.messages, "segments": t.segments]
        }
        return [
            "messages": s.messages,
            "segments": s.segments,
            "by_sender": senders,
            "first_send_at": s.firstSendAt.map(Timestamp.format) ?? NSNull(),
            "last_send_at": s.lastSendAt.map(Timestamp.format) ?? NSNull(),
        ]
    }

    private static func errorObject(_ e: JobError) -> [String: Any] {
        var o: [String: Any] = ["file": e.file, "message": e.message, "text": e.description]
        switch e.location {
        case .file: break
        case let .position(line, column):
            o["line"] = line
            o["column"] = column
        case let .path(path): o["path"] = path
        case let .option(name): o["option"] = name
        }
        if let id = e.messageID { o["message_id"] = id }
        return o
    }
}
