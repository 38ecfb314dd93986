import Foundation
public import Store

/// A real PostgreSQL for the test run.
///
/// With `DATABASE_URL` unset (the normal case, and CI's), the first test that asks starts
/// one throwaway cluster in a temp directory (unix socket only, as the `postgres` OS user
/// when root: then in /tmp, whatever TMPDIR says and wherever the checkout is, so that
/// `postgres` can reach it) and a watchdog removes it when the test process ends. Either way each test
/// gets a database of its own, cloned from a migrated template.
public enum TestPostgres {
    public struct Server: Sendable {
        /// Connection string to the server's `postgres` database.
        public var conninfo: String
        public var cluster: LocalCluster?
    }

    static let shared: Task<Server, any Error> = Task { try await startServer() }
    static let templateName = "dispatcher_template"
    /// A role that must log in with a password (local cluster only), for auth-failure tests.
    public static let passwordRole = (user: "dispatcher_pw", password: "correct horse battery staple")

    /// The server, started on first use.
    public static func server() async throws -> Server { try await shared.value }

    /// A new, empty-of-data database with the schema applied.
    public static func database(migrated: Bool = true) async throws -> TestDatabase {
        let server = try await server()
        let name = "dispatcher_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        // CREATE DATABASE … TEMPLATE runs one at a time on the server: without a gate, every
        // test of the run opened its admin connection at once and waited there, and under a
        // loaded host they used up max_connections.
        await creationGate.acquire()
        do {
            let admin = try await Connection.connect(server.conninfo)
            defer { Task { await admin.close() } }
            let template = migrated ? templateName : "template0"
            try await admin.execute(SQL(unsafeRaw: "CREATE DATABASE \(quoteIdentifier(name)) TEMPLATE \(quoteIdentifier(template))"))
            await creationGate.release()
        } catch {
            await creationGate.release()
            throw error
        }
        return TestDatabase(name: name, conninfo: try replacingDatabase(in: server.conninfo, with: name), server: server)
    }

    /// At most a few databases are being created at once.
    static let creationGate = CreationGate(limit: 4)

    actor CreationGate {
        let limit: Int
        var running = 0
        var waiters: [CheckedContinuation<Void, Never>] = []

        init(limit: Int) { self.limit = limit }

        func acquire() async {
            if running < limit {
                running += 1
                return
            }
            await withCheckedContinuation { waiters.append($0) }
        }

        func release() {
            if waiters.isEmpty { running -= 1 } else { waiters.removeFirst().resume() }
        }
    }

    private static func startServer() async throws -> Server {
        var server: Server
        if let url = ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty {
            server = Server(conninfo: try replacingDatabase(in: url, with: "postgres"), cluster: nil)
        } else {
            let directory = LocalCluster.scratchDirectory + "dispatcher-test-" + UUID().uuidString.prefix(8)
            let cluster = try LocalCluster(directory: directory)
            try await cluster.initialize()
            try cluster.removeWhenProcessExits()
            // Password logins for one role, trust for the rest.
            let hba = cluster.dataDirectory + "/pg_hba.conf"
            let existing = try String(contentsOfFile: hba, encoding: .utf8)
            try ("local all \(passwordRole.user) scram-sha-256\n" + existing).write(toFile: hba, atomically: false, encoding: .utf8)
            try await cluster.start(settings: [
                "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
                "max_connections": "500", "shared_buffers": "128MB",
            ])
            server = Server(conninfo: cluster.conninfo(), cluster: cluster)
        }
        let admin = try await Connection.connect(server.conninfo)
        try await admin.execute(SQL(unsafeRaw: "DROP DATABASE IF EXISTS \(templateName)"))
        try await admin.execute(SQL(unsafeRaw: "CREATE DATABASE \(templateName) TEMPLATE template0"))
        if server.cluster != nil {
            // DDL takes no parameters: let the server quote the values with format().
            let ddl = try await admin.query("SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', \(passwordRole.user), \(passwordRole.password))")
            try await admin.executeScript(try ddl.scalar(String.self) ?? "")
        }
        await admin.close()
        let template = try await Connection.connect(server.conninfo, database: templateName)
        _ = try await Migrator().migrate(template)
        await template.close()
        return server
    }
}

/// One test's own database.
public struct TestDatabase: Sendable {
    public let name: String
    /// A key/value connection string naming this database (for subprocesses: DATABASE_URL).
    public let conninfo: String
    public let server: TestPostgres.Server

    public func connect() async throws -> Connection { try await Connection.connect(conninfo) }

    public func pool(maxConnections: Int = 4) -> ConnectionPool {
        ConnectionPool(conninfo: conninfo, maxConnections: maxConnections)
    }
}
