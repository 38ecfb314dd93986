import Foundation
import Glibc
import Store

/// Where a command's database is: `DATABASE_URL`, or the checkout's embedded cluster
/// (`.dispatcher/pg` in the current directory; as root `/var/tmp/dispatcher-HASH/pg`, see
/// `LocalCluster.embeddedDirectory`).
struct DatabaseTarget {
    var conninfo: String
    /// Set when this process started the embedded cluster (and should stop it when done).
    var startedCluster: LocalCluster?

    static let embeddedDatabase = "dispatcher"

    /// The directory of the embedded cluster for the checkout in the current directory.
    static var embeddedDirectory: String {
        LocalCluster.embeddedDirectory(checkout: currentCheckout)
    }

    /// The current directory, symlinks resolved: the checkout the embedded cluster belongs to.
    static var currentCheckout: String {
        URL(fileURLWithPath: FileManager.default.currentDirectoryPath).resolvingSymlinksInPath().path
    }

    /// `DATABASE_URL` when set; otherwise (only when `allowEmbedded`) the embedded cluster,
    /// started if it is not running, with a `dispatcher` database. `announce` gets one line
    /// naming the cluster's directory (by default on standard error, so output stays clean).
    static func resolve(allowEmbedded: Bool, announce: (String) -> Void = { printError("dispatcher: " + $0) }) async throws -> DatabaseTarget {
        if let url = ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty {
            return DatabaseTarget(conninfo: url)
        }
        guard allowEmbedded else {
            throw CLIFailure.usage("DATABASE_URL is not set (a libpq connection string or URI, e.g. postgres://dispatcher@db.example.com/dispatcher)")
        }
        let cluster: LocalCluster
        do {
            cluster = try LocalCluster.embedded(checkout: currentCheckout)
            try await cluster.initialize()
        } catch {
            throw CLIFailure(exitCode: ExitCode.unavailable, message: "embedded PostgreSQL: \(error)")
        }
        // The client connects through the socket in the cluster's directory.
        guard access(cluster.directory, X_OK) == 0 else {
            throw CLIFailure(exitCode: ExitCode.unavailable,
                             message: "embedded PostgreSQL: this user cannot reach the socket directory \(cluster.directory)")
        }
        let wasRunning = await cluster.isRunning
        announce("embedded PostgreSQL cluster in \(cluster.directory) (\(wasRunning ? "already running" : "started for this command"); 'dispatcher demo --clean' removes it)")
        do {
            try await cluster.start()
        } catch {
            throw CLIFailure(exitCode: ExitCode.unavailable, message: "embedded PostgreSQL: \(error)")
        }
        let admin = try await Connection.connect(cluster.conninfo())
        try await Admin.databaseCreateIfMissing(admin, name: embeddedDatabase)
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
    if let e = error as? Outbox.CampaignControlError { return CLIFailure(exitCode: ExitCode.dataError, message: e.description) }
    if let pg = error as? PostgresError {
        if pg.isUnavailable { return CLIFailure(exitCode: ExitCode.unavailable, message: pg.description) }
        if pg.kind == .usage { return CLIFailure(exitCode: ExitCode.usage, message: pg.description) }
        // a server error's description starts "database error (SQLSTATE …) in … at …"
        return CLIFailure(exitCode: ExitCode.software,
                          message: pg.description.hasPrefix("database error") ? pg.description : "database error: \(pg.description)")
    }
    return CLIFailure(exitCode: ExitCode.software, message: "\(error)")
}
