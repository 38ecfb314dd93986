import Dispatcher

/// Reads `--config FILE` (or `dispatcher.json` when present): exit 64 when the file named
/// cannot be read, 65 when its content is invalid. `needsSecrets` false for commands that
/// send nothing, so a secret's environment variable may be unset for them.
func loadConfiguration(_ path: String?, needsSecrets: Bool) throws(CLIFailure) -> DispatcherConfiguration {
    do {
        return try DispatcherConfiguration.load(path: path, needsSecrets: needsSecrets)
    } catch {
        throw CLIFailure(exitCode: error.kind == .unreadable ? ExitCode.usage : ExitCode.dataError, message: error.description)
    }
}
