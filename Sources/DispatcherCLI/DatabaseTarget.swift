import Foundation
import Store

/// Where a command's database is: `DATABASE_URL`, or the embedded cluster under `.dispatcher/`.
struct DatabaseTarget {
    var conninfo: String
    /// Set when this process started the embedded cluster (and should stop it when done).
    var startedCluster: LocalCluster?

    static let embeddedDirectory = ".dispatcher/pg"
    static let embeddedDatabase = "dispatcher"

    /// `DATABASE_URL` when set; otherwise (only when `allowEmbedded`) the embedded cluster,
    /// started if it is not running, with a `dispatcher` database.
    static func resolve(allowEmbedded: Bool) async throws -> DatabaseTarget {
        if let url = ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty {
            return DatabaseTarget(conninfo: url)
        }
        guard allowEmbedded else {
            throw CLIFailure.usage("DATABASE_URL is not set (a libpq connection string or URI, e.g. postgres://dispatcher@db.example.com/dispatcher)")
        }
        let directory = FileManager.default.currentDirectoryPath + "/" + embeddedDirectory
        let cluster: LocalCluster
        do {
            cluster = try LocalCluster(directory: directory)
            try await cluster.initialize()
        } catch {
            throw CLIFailure(exitCode: ExitCode.unavailable, message: "embedded PostgreSQL: \(error)")
        }
        let wasRunning = await cluster.isRunning
        do {
            try await cluster.start()
        } catch {
            throw CLIFailure(exitCode: ExitCode.unavailable, message: "embedded PostgreSQL: \(error)")
        }
        let admin = try await Connection.connect(cluster.conninfo())
        let exists = try await admin.query("SELECT 1 FROM pg_database WHERE datname = \(embeddedDatabase)").count > 0
        if !exists { try await admin.execute(SQL(unsafeRaw: "CREATE DATABASE \(embeddedDatabase)")) }
        await admin.close()
        return DatabaseTarget(conninfo: cluster.conninfo(database: embeddedDatabase), startedCluster: wasRunning ? nil : cluster)
    }

    /// Stops the embedded cluster if this process started it.
    func finish() async {
        try? await startedCluster?.stop()
    }
}

/// Maps an error from the Store to a command's exit code and one line.
func failure(from error: any Error) -> CLIFailure {
    if let f = error as? CLIFailure { return f }
    if let pg = error as? PostgresError {
        if pg.isUnavailable { return CLIFailure(exitCode: ExitCode.unavailable, message: pg.description) }
        if pg.kind == .usage { return CLIFailure(exitCode: ExitCode.usage, message: pg.description) }
        return CLIFailure(exitCode: ExitCode.software, message: "database error: \(pg.description)")
    }
    return CLIFailure(exitCode: ExitCode.software, message: "\(error)")
}
