// The `dispatcher` executable: parse the command name, hand the rest to the command.
import Foundation
import Sandbox

/// Every command the executable knows, in the order `--help` lists them.
let commands: [any CLICommand.Type] = [
    DemoCommand.self,
    MigrateCommand.self,
    ValidateCommand.self,
    SubmitCommand.self,
    RunCommand.self,
    ReportCommand.self,
    StatusCommand.self,
    CancelCommand.self,
    PauseCommand.self,
    ResumeCommand.self,
    RetryCommand.self,
    PruneCommand.self,
    SandboxCommand.self,
    ConsoleCommand.self,
    BenchClientCommand.self,
    BenchCopyCommand.self,
]

let status = await CommandLineMain.run(arguments: Array(CommandLine.arguments.dropFirst()), commands: commands)
exit(status)
