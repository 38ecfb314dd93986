import Dispatcher
import Foundation

/// Exit codes (BSD sysexits).
enum ExitCode {
    static let success: Int32 = 0
    static let usage: Int32 = 64
    static let dataError: Int32 = 65
    static let unavailable: Int32 = 69
    static let software: Int32 = 70
}

/// One subcommand of `dispatcher`.
protocol CLICommand {
    /// The word typed after `dispatcher`.
    static var name: String { get }
    /// One line for `dispatcher --help`.
    static var summary: String { get }
    /// The full usage text for `dispatcher NAME --help`.
    static var usage: String { get }
    /// What its error lines start with (`name` unless it says otherwise).
    static var errorPrefix: String { get }
    /// Runs the command and returns its exit code; a thrown error becomes an exit code and
    /// one line on stderr (`CommandLineMain.report`).
    static func run(_ args: inout Arguments, _ context: CommandContext) async throws -> Int32
}

extension CLICommand {
    static var errorPrefix: String { name }
}

/// What every command gets besides its own arguments: `--config FILE`, taken out of the
/// arguments once, before the command runs.
struct CommandContext {
    /// The `--config` value; nil when none was given (then `dispatcher.json` if present).
    var configPath: String?

    /// The worker's configuration file (see `loadConfiguration`).
    func configuration(needsSecrets: Bool) throws(CLIFailure) -> DispatcherConfiguration {
        try loadConfiguration(configPath, needsSecrets: needsSecrets)
    }
}

/// A thrown error that ends a command with a given exit code and one readable line.
struct CLIFailure: Error, CustomStringConvertible {
    var exitCode: Int32
    var message: String
    var description: String { message }

    static func usage(_ message: String) -> CLIFailure { CLIFailure(exitCode: ExitCode.usage, message: message) }
}

/// Writes one line to standard error.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

enum CommandLineMain {
    static func run(arguments: [String], commands: [any CLICommand.Type]) async -> Int32 {
        guard let first = arguments.first else {
            printError(helpText(commands))
            return ExitCode.usage
        }
        if first == "--help" || first == "-h" || first == "help" {
            print(helpText(commands))
            return ExitCode.success
        }
        guard let command = commands.first(where: { $0.name == first }) else {
            printError("dispatcher: unknown command '\(first)'. Run 'dispatcher --help' for the list.")
            return ExitCode.usage
        }
        var args = Arguments(Array(arguments.dropFirst()))
        if args.contains("--help") || args.contains("-h") {
            print(command.usage)
            return ExitCode.success
        }
        do {
            let context = CommandContext(configPath: try args.option("--config"))
            return try await command.run(&args, context)
        } catch {
            return report(error, prefix: command.errorPrefix)
        }
    }

    /// The one place a command's error becomes its exit code and its line on stderr.
    static func report(_ error: any Error, prefix: String) -> Int32 {
        let f = failure(from: error)
        printError("\(prefix): \(f.message)")
        return f.exitCode
    }

    static func helpText(_ commands: [any CLICommand.Type]) -> String {
        var lines = [
            "dispatcher — batch SMS notification dispatcher",
            "",
            "usage: dispatcher COMMAND [OPTIONS]",
            "",
            "commands:",
        ]
        let width = commands.map { $0.name.count }.max() ?? 0
        for c in commands {
            lines.append("  " + c.name.padding(toLength: width + 2, withPad: " ", startingAt: 0) + c.summary)
        }
        lines += [
            "",
            "Every command reads DATABASE_URL (a libpq connection string or URI) and takes --config FILE.",
            "Exit codes: 0 ok, 64 usage, 65 invalid input, 69 service unavailable, 70 internal error.",
            "Run 'dispatcher COMMAND --help' for a command's options.",
        ]
        return lines.joined(separator: "\n")
    }
}
