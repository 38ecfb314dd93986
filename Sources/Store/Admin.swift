/// Statements on the cluster rather than on the outbox: run on a connection to any database.
public enum Admin {
    /// Creates the database `name` unless it exists; true when it created it. (`CREATE
    /// DATABASE` takes no bound parameters: the name is quoted as an identifier.)
    @discardableResult
    public static func databaseCreateIfMissing(_ c: Connection, name: String) async throws -> Bool {
        let exists = try await c.query("SELECT 1 FROM pg_database WHERE datname = \(name)").count > 0
        if exists { return false }
        try await c.execute(SQL(unsafeRaw: "CREATE DATABASE \(quoteIdentifier(name))"))
        return true
    }

    /// Whether the database holds the dispatcher's schema (its report views): false means
    /// `dispatcher migrate` has not run there.
    public static func schemaPresent(_ c: Connection) async throws -> Bool {
        try await c.query("SELECT to_regclass('public.campaign_report') IS NOT NULL").scalar(Bool.self) ?? false
    }
}
