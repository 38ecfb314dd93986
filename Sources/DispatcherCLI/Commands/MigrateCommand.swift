enum MigrateCommand: CLICommand {
    static let name = "migrate"
    static let summary = "create or upgrade the database schema (idempotent)"
    static let usage = """
    usage: dispatcher migrate [--config FILE]

    Applies the schema migrations compiled into this binary to DATABASE_URL, in one
    transaction under a transaction-level advisory lock: safe to run from several hosts
    at once and through PgBouncer. Running it again when up to date changes nothing.
    """
    static func run(_ args: inout Arguments) async -> Int32 {
        printError("migrate: not built yet")
        return ExitCode.software
    }
}
