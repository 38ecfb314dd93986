import Dispatcher
import Foundation
import Jobs
import Store

enum ResumeCommand: CLICommand {
    static let name = "resume"
    static let errorPrefix = "dispatcher resume"
    static let summary = "resume a paused campaign, or clear a halt: --sender NUMBER or --provider NAME"
    static let usage = """
    usage: dispatcher resume CAMPAIGN
           dispatcher resume --sender NUMBER | --provider NAME [--config FILE]

    A paused campaign is claimed again. A sender number or provider account is halted
    after an authentication failure or a suspended account (nothing is claimed for it
    meanwhile); once the cause is fixed, resume sends through it again. With neither,
    lists the halted keys.

    See docs/errors-and-retries.md (halts) and docs/lifecycle.md.
    """

    static func run(_ args: inout Arguments, _ context: CommandContext) async throws -> Int32 {
        let sender = try args.option("--sender")
        let provider = try args.option("--provider")
        let rest = try args.positionals()
        if let campaign = rest.first {
            guard rest.count == 1, sender == nil, provider == nil else {
                throw CLIFailure.usage("give one campaign, or --sender / --provider")
            }
            var args = Arguments([campaign])
            return try await withDatabase(&args, context) { args, connection in
                let pending = try await Outbox.campaignSetPaused(connection, name: try campaignArgument(&args), paused: false)
                print("campaign \(campaign) resumed (\(pending) pending messages)")
                return ExitCode.success
            }
        }
        if sender != nil && provider != nil { throw CLIFailure.usage("give --sender or --provider, not both") }
        var key: String?
        if let sender {
            do { key = RateLimits.senderKey(try PhoneNumber(parsing: sender).e164) } catch {
                throw CLIFailure(exitCode: ExitCode.dataError, message: "--sender: \(error)")
            }
        } else if let provider {
            // a provider account of the configuration
            let configuration = try context.configuration(needsSecrets: false)
            guard configuration.accounts[provider] != nil else {
                throw CLIFailure(exitCode: ExitCode.dataError,
                                 message: "--provider: no provider account named '\(provider)' (configured: \(configuration.accounts.keys.sorted().joined(separator: ", ")))")
            }
            key = RateLimits.providerKey(provider)
        }
        var noArgs = Arguments([])
        return try await withDatabase(&noArgs, context) { _, connection in
            guard let key else {
                let halts = try await RateLimits.rateLimitHaltedList(connection)
                if halts.isEmpty { print("nothing is halted") }
                for h in halts { print("\(h.key) halted at \(h.at) (\(h.reason ?? "no reason"))") }
                return ExitCode.success
            }
            if try await RateLimits.rateLimitResume(connection, key: key) {
                try await connection.notify(Outbox.workChannel)
                print("resumed \(key)")
            } else {
                print("\(key) was not halted; nothing to do")
            }
            return ExitCode.success
        }
    }
}
