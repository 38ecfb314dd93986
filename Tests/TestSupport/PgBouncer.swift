import Foundation
import Glibc
import Store

/// PgBouncer in transaction mode in front of the test server: what "everything works
/// through PgBouncer in transaction mode" is tested against. Server connections
/// are shared between clients transaction by transaction, so session state (prepared
/// statements, SET) does not follow a client.
public struct PgBouncer: Sendable {
    public let port: Int
    public let directory: String
    let pid: Int32

    public struct Missing: Error, CustomStringConvertible {
        var what = "pgbouncer is not installed (apt-get install -y pgbouncer; .ci/run installs it)"
        public var description: String { what }
    }

    /// Starts a private PgBouncer (`pool_mode = transaction`, `poolSize` server connections
    /// per database) for every database of the test server.
    public static func start(poolSize: Int = 2) async throws -> PgBouncer {
        let binary = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let binary else { throw Missing() }
        let server = try await TestPostgres.server()
        let admin = try await Connection.connect(server.conninfo)
        let row = try await admin.query("""
            SELECT coalesce(host(inet_server_addr()), split_part(current_setting('unix_socket_directories'), ',', 1)),
                   current_setting('port'), current_user
            """).first!
        let (host, serverPort, user) = try row.decode((String, String, String).self)
        await admin.close()

        let directory = LocalCluster.scratchDirectory + "dispatcher-pgbouncer-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        chmod(directory, 0o777)  // PgBouncer runs as postgres when we are root; it writes its pid and log here
        let port = try freeTCPPort()
        let ini = """
            [databases]
            * = host=\(host) port=\(serverPort) user=\(user)
            [pgbouncer]
            listen_addr = 127.0.0.1
            listen_port = \(port)
            unix_socket_dir =
            auth_type = any
            pool_mode = transaction
            default_pool_size = \(poolSize)
            max_client_conn = 200
            pidfile = \(directory)/pgbouncer.pid
            logfile = \(directory)/pgbouncer.log
            """
        try ini.write(toFile: directory + "/pgbouncer.ini", atomically: false, encoding: .utf8)
        // -d: daemonise once listening. PgBouncer will not run as root.
        if geteuid() == 0 {
            _ = try await Subprocess.run("/usr/sbin/runuser", ["-u", "postgres", "--", binary, "-d", directory + "/pgbouncer.ini"])
        } else {
            _ = try await Subprocess.run(binary, ["-d", directory + "/pgbouncer.ini"])
        }
        var pid: Int32 = 0
        for _ in 0..<100 where pid == 0 {
            if let text = try? String(contentsOfFile: directory + "/pgbouncer.pid", encoding: .utf8) {
                pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            }
            if pid == 0 { try await Task.sleep(for: .milliseconds(50)) }
        }
        return PgBouncer(port: port, directory: directory, pid: pid)
    }

    /// A connection string for `database` through PgBouncer.
    public func conninfo(database: String) -> String {
        "host=127.0.0.1 port=\(port) dbname=\(database)"
    }

    /// Kills it: a throwaway bouncer has nothing to save, and PgBouncer 1.18 here was seen to
    /// outlive both SIGTERM and SIGINT (dozens were left running after test runs).
    public func stop() {
        if pid > 0 { kill(pid, SIGKILL) }
        try? FileManager.default.removeItem(atPath: directory)
    }

    private static func freeTCPPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw Missing(what: "no free TCP port for pgbouncer") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
