import Store

/// `dispatcher cancel CAMPAIGN`.
enum CancelCommand: CLICommand {
    static let name = "cancel"
    static let summary = "cancel a campaign: pending messages become 'cancelled', nothing more is sent"
    static let usage = """
    usage: dispatcher cancel CAMPAIGN

    Stops claiming the campaign's messages and finalises every pending one as 'cancelled'.
    Messages already in flight finish their course. Idempotent; cannot be undone.

    See docs/lifecycle.md.
    """

    static func run(_ args: inout Arguments, _ context: CommandContext) async throws -> Int32 {
        try await withDatabase(&args, context) { args, connection in
            let name = try campaignArgument(&args)
            let r = try await Outbox.campaignCancel(connection, name: name, user: nil)
            print("campaign \(name) cancelled: \(r.cancelledMessages) pending messages cancelled"
                + (r.inFlight > 0 ? ", \(r.inFlight) in flight left to finish" : ""))
            return ExitCode.success
        }
    }
}

/// `dispatcher pause CAMPAIGN`.
enum PauseCommand: CLICommand {
    static let name = "pause"
    static let summary = "pause a campaign: its messages are not claimed until resume"
    static let usage = """
    usage: dispatcher pause CAMPAIGN

    Workers stop claiming the campaign's messages (those in flight finish). Resume with
    'dispatcher resume CAMPAIGN'.

    See docs/lifecycle.md.
    """

    static func run(_ args: inout Arguments, _ context: CommandContext) async throws -> Int32 {
        try await withDatabase(&args, context) { args, connection in
            let name = try campaignArgument(&args)
            let pending = try await Outbox.campaignSetPaused(connection, name: name, paused: true)
            print("campaign \(name) paused (\(pending) pending messages held)")
            return ExitCode.success
        }
    }
}

func campaignArgument(_ args: inout Arguments) throws -> String {
    let rest = try args.positionals()
    guard rest.count == 1 else { throw CLIFailure.usage("expected one campaign name") }
    return rest[0]
}
