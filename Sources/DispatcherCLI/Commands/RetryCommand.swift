import Foundation
import Store

/// `dispatcher retry CAMPAIGN [--class CLASS,…]`.
enum RetryCommand: CLICommand {
    static let name = "retry"
    static let summary = "requeue a campaign's failed messages (those the provider may have taken are looked up first)"
    static let usage = """
    usage: dispatcher retry CAMPAIGN [--class CLASS,…]

    Requeues the campaign's 'failed' messages whose error class is one of CLASS (every failed
    message without --class; classes as 'dispatcher report' lists them, e.g. no_connection,
    service_unavailable, rate_limited, timeout, http_5xx). Each gets an operator event and its
    attempts reset.

    A message the provider may have taken is never simply sent again: one whose class is
    timeout or http_5xx, or that has a provider id, goes to 'in_doubt' and is looked up at the
    provider (its callbacks awaited, up to in_doubt.horizon_s) before any resend. The others go
    back to 'pending', due now. A running worker picks them up.

    See docs/errors-and-retries.md.
    """

    static func run(_ args: inout Arguments, _ context: CommandContext) async throws -> Int32 {
        try await withDatabase(&args, context) { args, connection in
            let classes = try args.option("--class").map {
                $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            }
            if let classes, classes.isEmpty { throw CLIFailure.usage("--class needs at least one error class") }
            let name = try campaignArgument(&args)
            let r = try await Outbox.messageRequeueFailedMany(connection, campaign: name, classes: classes)
            print("campaign \(name): \(r.requeued) failed message(s) requeued"
                + (r.inDoubt > 0 ? ", \(r.inDoubt) in doubt, to be looked up at the provider before any resend" : ""))
            return ExitCode.success
        }
    }
}
