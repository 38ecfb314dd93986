public import Foundation
import Glibc

/// A private PostgreSQL cluster in a directory, listening only on a unix socket there.
///
/// Used by the test suite (one throwaway cluster per run) and by `dispatcher demo`
/// (a cluster under `.dispatcher/`, reused across runs). It runs the system's server
/// binaries (`pg_config --bindir`, else /usr/lib/postgresql/*/bin); PostgreSQL refuses
/// to run as root, so when this process is root the server runs as the `postgres` user.
public struct LocalCluster: Sendable {
    /// The cluster's root: `data/` holds the cluster, the socket lives here.
    public let directory: String
    /// Names the socket file (`.s.PGSQL.<port>`); nothing listens on TCP.
    public let port: Int
    public let binDirectory: String

    public var dataDirectory: String { directory + "/data" }
    public var logFile: String { directory + "/server.log" }
    /// The superuser role: `postgres` when run as root, otherwise the current user.
    public var superuser: String { Self.runningAsRoot ? "postgres" : Self.currentUserName }

    public init(directory: String, port: Int = 5432) throws {
        self.directory = directory
        self.port = port
        binDirectory = try Self.findServerBinaries()
    }

    /// A libpq connection string for `database` on this cluster's socket.
    public func conninfo(database: String = "postgres", user: String? = nil) -> String {
        "host=\(directory) port=\(port) dbname=\(database) user=\(user ?? superuser)"
    }

    /// True when `data/` already holds an initialised cluster.
    public var isInitialized: Bool { FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION") }

    /// Creates the directory (owned by the server's user) and runs initdb once.
    public func initialize() async throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try handToServerUser(directory)
        if isInitialized { return }
        try await run(binDirectory + "/initdb", [
            "-D", dataDirectory, "-U", superuser, "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync",
        ], what: "initdb")
    }

    /// Starts the server and waits until it accepts connections.
    public func start(settings: [String: String] = [:]) async throws {
        if await isRunning { return }
        var options = ["-c listen_addresses=''", "-k '\(directory)'", "-p \(port)", "-c unix_socket_permissions=0777"]
        for (key, value) in settings.sorted(by: { $0.key < $1.key }) { options.append("-c \(key)=\(value)") }
        try await run(binDirectory + "/pg_ctl", [
            "start", "-w", "-t", "60", "-D", dataDirectory, "-l", logFile, "-o", options.joined(separator: " "),
        ], what: "pg_ctl start")
    }

    /// Stops the server (`fast`: disconnect clients, roll back, shut down cleanly).
    public func stop(mode: String = "fast") async throws {
        guard await isRunning else { return }
        try await run(binDirectory + "/pg_ctl", ["stop", "-w", "-D", dataDirectory, "-m", mode], what: "pg_ctl stop")
    }

    /// True when a postmaster is running on `data/`.
    public var isRunning: Bool {
        get async { (try? await run(binDirectory + "/pg_ctl", ["status", "-D", dataDirectory], what: "pg_ctl status")) != nil }
    }

    /// Starts a watchdog that stops the server and deletes `directory` once process `pid` ends,
    /// so a throwaway cluster never outlives the test run that made it, even if it crashes.
    public func removeWhenProcessExits(_ pid: Int32 = getpid()) throws {
        let ctl = "\(binDirectory)/pg_ctl stop -D '\(dataDirectory)' -m immediate"
        let asServer = Self.runningAsRoot ? "/usr/sbin/runuser -u postgres -- \(ctl)" : ctl
        let script = "while kill -0 \(pid) 2>/dev/null; do sleep 0.5; done; \(asServer) >/dev/null 2>&1; rm -rf '\(directory)'"
        try Subprocess.spawnDetached("/usr/bin/setsid", ["/bin/sh", "-c", script])
    }

    // MARK: Helpers

    static var runningAsRoot: Bool { geteuid() == 0 }

    static var currentUserName: String {
        if let pw = getpwuid(geteuid()), let name = pw.pointee.pw_name { return String(cString: name) }
        return ProcessInfo.processInfo.environment["USER"] ?? "postgres"
    }

    /// The directory holding `initdb`, `pg_ctl` and `postgres`.
    public static func findServerBinaries() throws -> String {
        let fm = FileManager.default
        let root = "/usr/lib/postgresql"
        let versions = ((try? fm.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap(Int.init).sorted(by: >)
        for v in versions where fm.isExecutableFile(atPath: "\(root)/\(v)/bin/initdb") {
            return "\(root)/\(v)/bin"
        }
        if let out = try? Subprocess.runBlocking("/usr/bin/env", ["pg_config", "--bindir"], directory: nil) {
            let dir = out.trimmingCharacters(in: .whitespacesAndNewlines)
            if fm.isExecutableFile(atPath: dir + "/initdb") { return dir }
        }
        throw PostgresError(.usage, "no PostgreSQL server binaries found (looked at pg_config --bindir and \(root)/*/bin); install postgresql")
    }

    private func handToServerUser(_ path: String) throws {
        guard Self.runningAsRoot else { return }
        guard let pw = getpwnam("postgres") else {
            throw PostgresError(.usage, "running as root but there is no 'postgres' OS user to run the server as")
        }
        guard chown(path, pw.pointee.pw_uid, pw.pointee.pw_gid) == 0 else {
            throw PostgresError(.usage, "cannot hand \(path) to the postgres user: \(String(cString: strerror(errno)))")
        }
        chmod(path, 0o755)
    }

    @discardableResult
    private func run(_ executable: String, _ arguments: [String], what: String) async throws -> String {
        var exe = executable
        var args = arguments
        if Self.runningAsRoot {
            exe = "/usr/sbin/runuser"
            args = ["-u", "postgres", "--", executable] + arguments
        }
        do {
            return try await Subprocess.run(exe, args, directory: directory)
        } catch let failure as Subprocess.Failure {
            var message = "\(what) failed (exit \(failure.status)): \(oneLine(failure.output))"
            if what == "pg_ctl start", let log = try? String(contentsOfFile: logFile, encoding: .utf8) {
                message += " — server log: " + oneLine(String(log.suffix(600)))
            }
            throw PostgresError(.connectionFailed, message)
        }
    }
}
