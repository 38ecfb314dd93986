import Store

enum MigrateCommand: CLICommand {
    static let name = "migrate"
    static let errorPrefix = "dispatcher migrate"
    static let summary = "create or upgrade the database schema (idempotent)"
    static let usage = """
    usage: dispatcher migrate [--config FILE]

    Applies the schema migrations compiled into this binary to DATABASE_URL, in one
    transaction under a transaction-level advisory lock: safe to run from several hosts
    at once and through PgBouncer. Running it again when up to date changes nothing.
    With DATABASE_URL unset it uses this checkout's embedded cluster (the one
    'dispatcher demo' uses; it prints where it is), started for the run and stopped after.

    See docs/operations.md (migrations).
    """

    static func run(_ args: inout Arguments, _ context: CommandContext) async throws -> Int32 {
        var target: DatabaseTarget?
        do {
            _ = try context.configuration(needsSecrets: false)  // checked; no setting applies
            let rest = try args.positionals()
            guard rest.isEmpty else { throw CLIFailure.usage("migrate takes no arguments (got '\(rest[0])')") }
            target = try await DatabaseTarget.resolve(allowEmbedded: true)
            let connection = try await Connection.connect(target!.conninfo, settings: .command)
            var migrator = Migrator()
            let attempts = migrator.maxAttempts
            migrator.onRetry = { attempt, _ in
                printError("migrate: a lock is held by another session (a long query or transaction); retrying (attempt \(attempt + 1) of \(attempts))")
            }
            let outcome = try await migrator.migrate(connection)
            await connection.close()
            if outcome.applied.isEmpty {
                print("schema is up to date (version \(outcome.currentVersion)); nothing to do")
            } else {
                print("applied migration\(outcome.applied.count == 1 ? "" : "s") \(outcome.applied.map(String.init).joined(separator: ", ")); schema version \(outcome.currentVersion)")
            }
            await target?.finish()
            return ExitCode.success
        } catch {
            await target?.finish()
            throw error
        }
    }
}
