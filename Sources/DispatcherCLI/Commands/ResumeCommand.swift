import Dispatcher
import Foundation
import Jobs
import Store

enum ResumeCommand: CLICommand {
    static let name = "resume"
    static let summary = "clear a halt: --sender NUMBER or --provider NAME"
    static let usage = """
    usage: dispatcher resume --sender NUMBER | --provider NAME [--config FILE]

    A sender number or provider account is halted after an authentication failure or a
    suspended account (nothing is claimed for it meanwhile). Once the cause is fixed,
    resume sends through it again. With no option, lists the halted keys.
    """

    static func run(_ args: inout Arguments) async -> Int32 {
        do {
            _ = try args.option("--config")
            let sender = try args.option("--sender")
            let provider = try args.option("--provider")
            let rest = try args.positionals()
            guard rest.isEmpty else { throw CLIFailure.usage("resume takes no arguments (got '\(rest[0])')") }
            if sender != nil && provider != nil { throw CLIFailure.usage("give --sender or --provider, not both") }
            var key: String?
            if let sender {
                do { key = RateLimits.senderKey(try PhoneNumber(parsing: sender).e164) } catch {
                    throw CLIFailure(exitCode: ExitCode.dataError, message: "--sender: \(error)")
                }
            } else if let provider {
                key = RateLimits.providerKey(provider)
            }
            let target = try await DatabaseTarget.resolve(allowEmbedded: false)
            let connection = try await Connection.connect(target.conninfo)
            defer { Task { await connection.close() } }
            guard let key else {
                let halts = try await RateLimits.rateLimitsHalted(connection)
                if halts.isEmpty { print("nothing is halted") }
                for h in halts { print("\(h.key) halted at \(h.at) (\(h.reason ?? "no reason"))") }
                return ExitCode.success
            }
            if try await RateLimits.rateLimitsResume(connection, key: key) {
                try await connection.notify(Outbox.workChannel)
                print("resumed \(key)")
            } else {
                print("\(key) was not halted; nothing to do")
            }
            return ExitCode.success
        } catch {
            let f = failure(from: error)
            printError("dispatcher resume: \(f.message)")
            return f.exitCode
        }
    }
}
