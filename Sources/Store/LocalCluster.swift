public import Foundation
import Glibc

/// A private PostgreSQL cluster in a directory, listening only on a unix socket there.
///
/// Used by the test suite (one throwaway cluster per run) and by `dispatcher demo` and the
/// other commands run without `DATABASE_URL` (the checkout's embedded cluster, reused across
/// runs: see `embeddedDirectory(checkout:runningAsRoot:)`). It runs the system's server
/// binaries (`pg_config --bindir`, else /usr/lib/postgresql/*/bin); PostgreSQL refuses
/// to run as root, so when this process is root the server runs as the `postgres` user,
/// and the directory is then owned by `postgres` with mode 0700 (root, the client, can
/// still reach the socket in it; a non-root client owns its cluster's directory).
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

    /// Creates the directory (owned by the server's user) and runs initdb once. Its parent
    /// must exist or is created; as root the parent must be reachable by `postgres`.
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

    // MARK: Where clusters live

    /// Where the embedded cluster of the checkout at `checkout` (an absolute path) lives.
    ///
    /// Not root: `CHECKOUT/.dispatcher/pg`, in the checkout, where the server (running as this
    /// user) can reach it. Root: the server runs as `postgres`, which usually cannot reach the
    /// checkout (root's home is 0700), so the cluster lives in
    /// `/var/tmp/dispatcher-HASH/pg`, HASH a short stable hash of the checkout's path: one
    /// cluster per checkout, the same one every run.
    public static func embeddedDirectory(checkout: String, runningAsRoot: Bool) -> String {
        guard runningAsRoot else { return checkout + "/.dispatcher/pg" }
        return embeddedRootParent(checkout: checkout) + "/pg"
    }

    /// The embedded cluster's directory for this process (the checkout is `checkout`).
    public static func embeddedDirectory(checkout: String) -> String {
        embeddedDirectory(checkout: checkout, runningAsRoot: runningAsRoot)
    }

    /// `/var/tmp/dispatcher-HASH`: holds a root's embedded cluster (`pg/`) and a note naming the checkout.
    public static func embeddedRootParent(checkout: String) -> String {
        "/var/tmp/dispatcher-" + stableHash(checkout)
    }

    /// A directory for throwaway clusters the server user can reach: the temp directory,
    /// except `/tmp` as root (`TMPDIR` may lie under root's 0700 home).
    public static var scratchDirectory: String {
        runningAsRoot ? "/tmp/" : NSTemporaryDirectory()
    }

    /// The checkout's embedded cluster, ready for `initialize()`. As root this creates
    /// `/var/tmp/dispatcher-HASH` (root's, 0755, with a `checkout` note naming the path) or
    /// checks that an existing one is a real directory only root can write to (the parent,
    /// /var/tmp, is writable by everyone).
    public static func embedded(checkout: String) throws -> LocalCluster {
        let directory = embeddedDirectory(checkout: checkout)
        if runningAsRoot {
            let parent = embeddedRootParent(checkout: checkout)
            if mkdir(parent, 0o755) == 0 {
                chmod(parent, 0o755)
            } else if errno != EEXIST {
                throw PostgresError(.usage, "cannot create \(parent): \(String(cString: strerror(errno)))")
            }
            var st = stat()
            guard lstat(parent, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR, st.st_uid == 0, st.st_mode & 0o022 == 0 else {
                throw PostgresError(.usage, "refusing to use \(parent): not a directory that only root can write to; remove it")
            }
            try? (checkout + "\n").write(toFile: parent + "/checkout", atomically: true, encoding: .utf8)
        }
        return try LocalCluster(directory: directory)
    }

    /// 12 hex digits of the 64-bit FNV-1a hash of `text`: the same in every process
    /// (unlike `Hasher`), so a checkout finds its cluster again.
    public static func stableHash(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String((String(repeating: "0", count: 16 - hex.count) + hex).prefix(12))
    }

    // MARK: Helpers

    public static var runningAsRoot: Bool { geteuid() == 0 }

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
        chmod(path, 0o700)
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
