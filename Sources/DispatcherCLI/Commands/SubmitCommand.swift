import Dispatcher
import Foundation
import Jobs
import Store

/// `dispatcher submit FILE… [--skip-invalid]` and `dispatcher submit --spool DIR`.
enum SubmitCommand: CLICommand {
    static let name = "submit"
    static let summary = "validate job files and enqueue them (all or nothing, idempotent)"
    static let usage = """
    usage: dispatcher submit FILE… [--config FILE] [--skip-invalid] [--max-segments N]
                             [--opt-out-scope sender|global]
                             [--campaign NAME --from NUMBER --provider ACCOUNT|plum|restcomm
                              [--template TEXT] [--send-at TIME]]
           dispatcher submit --spool DIR [--config FILE] [--skip-invalid]

    Validates the files, then enqueues each campaign and its messages in one transaction.
    Any invalid row enqueues nothing (exit 65); with --skip-invalid the valid rows go in,
    the rejected ones are listed on stderr and recorded for the report (exit 0).
    Idempotent: a campaign is its name, a message its (campaign, id); ids absent from the
    file are derived from the row's content. Re-submitting enqueues only what is new and
    says how many were already there. Recipients who opted out go in as 'suppressed'.

    --spool DIR processes the spool directory once: each complete *.json (and CSV with
    its manifest) is submitted and moved to DIR/accepted/ or DIR/rejected/ with a
    NAME.errors file beside it. Temporary names (.tmp, .part, dot files) are ignored.

    From the configuration (--config FILE, default dispatcher.json if present) it uses
    the provider accounts and sender numbers — a campaign goes through the account that
    owns its sender number (senders.NUMBER.provider), else the account its "provider"
    names, else the one account of that kind; a provider that disagrees with the sender's
    account is an error — and opt_out_scope (--opt-out-scope overrides it). Secrets need
    not be set for submit.

    Needs DATABASE_URL (or, unset, this checkout's embedded cluster: see 'dispatcher demo --help').

    See docs/job-files.md.
    """

    static func run(_ args: inout Arguments, _ context: CommandContext) async throws -> Int32 {
        var target: DatabaseTarget?
        do {
            let skipInvalid = args.flag("--skip-invalid")
            var maxSegments = JobOptions.defaultMaxSegments
            if let text = try args.option("--max-segments") {
                guard let n = Int(text), n > 0 else { throw CLIFailure.usage("--max-segments needs a positive number, not '\(text)'") }
                maxSegments = n
            }
            let configuration = try context.configuration(needsSecrets: false)
            var scope = configuration.optOutScope
            if let text = try args.option("--opt-out-scope") {
                guard let s = OptOutScope(rawValue: text) else { throw CLIFailure.usage("--opt-out-scope is sender or global, not '\(text)'") }
                scope = s
            }
            let spool = try args.option("--spool")
            let settings = CampaignSettings(
                campaign: try args.option("--campaign"), from: try args.option("--from"), provider: try args.option("--provider"),
                template: try args.option("--template"), sendAt: try args.option("--send-at"))
            let flagsGiven = [settings.campaign, settings.from, settings.provider, settings.template, settings.sendAt].contains { $0 != nil }
            let files = try args.positionals()
            var submitter = JobSubmitter(configuration: configuration, skipInvalid: skipInvalid, maxSegments: maxSegments)
            submitter.optOutScope = scope

            if let spool {
                guard files.isEmpty else { throw CLIFailure.usage("--spool takes no files") }
                target = try await DatabaseTarget.resolve(allowEmbedded: true)
                let connection = try await Connection.connect(target!.conninfo, settings: .command)
                let results = try await SpoolDirectory(path: spool).scanOnce(submitter: submitter, connection: connection)
                await connection.close()
                for r in results { print(r.description) }
                if results.isEmpty { print("spool \(spool): nothing to pick up") }
                await target?.finish()
                return results.contains { !$0.accepted } ? ExitCode.dataError : ExitCode.success
            }

            guard !files.isEmpty else { throw CLIFailure.usage("no files given (usage: dispatcher submit FILE…)") }
            let inputs: [JobInput]
            do { inputs = try JobInput.pair(files, flags: flagsGiven ? settings : nil) } catch { throw CLIFailure.usage(error.message) }
            target = try await DatabaseTarget.resolve(allowEmbedded: true)
            let connection = try await Connection.connect(target!.conninfo, settings: .command)
            let outcome = try await submitter.submit(inputs, on: connection)
            await connection.close()
            await target?.finish()
            return report(outcome, skipInvalid: skipInvalid)
        } catch {
            await target?.finish()
            throw error
        }
    }

    /// Prints errors to stderr and per-campaign counts to stdout; returns the exit code.
    static func report(_ outcome: JobSubmitter.Outcome, skipInvalid: Bool) -> Int32 {
        for file in outcome.files {
            for error in file.errors { printError(error.description) }
            if file.errorCount > file.errors.count { printError("\(file.file): … and \(file.errorCount - file.errors.count) more errors") }
        }
        guard outcome.committed else {
            let bad = outcome.files.filter { $0.errorCount > 0 }
            let count = bad.reduce(0) { $0 + $1.errorCount }
            printError("submit: \(count) error\(count == 1 ? "" : "s") in \(bad.map(\.file).joined(separator: ", ")); nothing was enqueued"
                + (skipInvalid ? "" : " (use --skip-invalid to enqueue the valid rows)"))
            return ExitCode.dataError
        }
        for file in outcome.files {
            guard let r = file.result, let name = file.campaign else { continue }
            print(summaryLine(file: file.file, campaign: name, result: r))
        }
        return ExitCode.success
    }

    static func summaryLine(file: String, campaign: String, result r: CampaignEnqueuer.Result) -> String {
        var parts = ["\(r.enqueued) enqueued"]
        if r.suppressed > 0 { parts.append("\(r.suppressed) suppressed (opted out)") }
        if r.alreadyPresent > 0 || !r.campaignCreated { parts.append("\(r.alreadyPresent) already enqueued") }
        if r.rejected > 0 { parts.append("\(r.rejected) rejected") }
        return "\(file): campaign \(campaign) (id \(r.campaignID)\(r.campaignCreated ? ", new" : "")): " + parts.joined(separator: ", ")
    }
}
