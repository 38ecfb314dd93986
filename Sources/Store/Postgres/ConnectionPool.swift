/// A small pool of connections to one database.
///
/// `withConnection` lends a connection to one task at a time. A connection that broke
/// while lent (server restarted, backend terminated) is discarded when it comes back,
/// and an idle one whose server went away is detected before it is lent again, so the
/// next caller gets a fresh connection. When a connection closes while callers wait, the
/// first waiter gets a new one, or the error of opening it; either way the next waiter is
/// served in turn, so in an outage every waiter gets an error rather than waiting forever.
public actor ConnectionPool {
    public struct Configuration: Sendable {
        /// libpq connection string or URI.
        public var conninfo: String
        /// Most connections open at once.
        public var maxConnections: Int
        public var applicationName: String
        /// Replaces the database named in `conninfo` when set.
        public var database: String?
        /// Most callers waiting for a connection when all are lent; one more gets
        /// `ConnectionPool.Exhausted` at once. Nil: no limit.
        public var maxWaiters: Int?
        /// Server-side limits of each connection (statement and lock timeouts).
        public var settings: Connection.SessionSettings

        public init(conninfo: String, database: String? = nil, maxConnections: Int = 8, applicationName: String = "dispatcher",
                    maxWaiters: Int? = nil, settings: Connection.SessionSettings = .worker) {
            self.conninfo = conninfo
            self.settings = settings
            self.database = database
            self.maxConnections = max(1, maxConnections)
            self.applicationName = applicationName
            self.maxWaiters = maxWaiters.map { max(0, $0) }
        }
    }

    /// Every connection is lent and `maxWaiters` callers already wait: try again later.
    public struct Exhausted: Error, Sendable, CustomStringConvertible {
        public let maxConnections: Int
        public let maxWaiters: Int
        public var description: String {
            "all \(maxConnections) database connection(s) are busy and \(maxWaiters) caller(s) already wait"
        }
    }

    public let configuration: Configuration
    private var idle: [Connection] = []
    private var open = 0
    private var waiters: [CheckedContinuation<Connection, any Error>] = []
    private var closed = false

    public init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    public init(conninfo: String, database: String? = nil, maxConnections: Int = 8, maxWaiters: Int? = nil,
                settings: Connection.SessionSettings = .worker) {
        self.init(Configuration(conninfo: conninfo, database: database, maxConnections: maxConnections, maxWaiters: maxWaiters,
                                settings: settings))
    }

    /// Connections open now (lent and idle).
    public var openConnections: Int { open }

    /// Callers waiting for a connection now.
    public var waiting: Int { waiters.count }

    /// Lends a connection to `body` and takes it back afterwards.
    public func withConnection<T>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (Connection) async throws -> T
    ) async throws -> T {
        let connection = try await checkout()
        do {
            let result = try await body(connection)
            await checkin(connection)
            return result
        } catch {
            await checkin(connection)
            throw error
        }
    }

    /// A transaction on a pooled connection (see `Connection.withTransaction`).
    public func withTransaction<T>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (Connection) async throws -> T
    ) async throws -> T {
        try await withConnection { connection in
            try await connection.withTransaction { try await body($0) }
        }
    }

    /// One statement on a pooled connection.
    @discardableResult
    public nonisolated func query(_ sql: SQL) async throws -> QueryResult {
        try await withConnection { try await $0.query(sql) }
    }

    /// One statement on a pooled connection; the number of rows it changed.
    @discardableResult
    public nonisolated func execute(_ sql: SQL) async throws -> Int {
        try await withConnection { try await $0.execute(sql) }
    }

    /// Closes idle connections and refuses new checkouts.
    public func close() async {
        closed = true
        let toClose = idle
        idle.removeAll()
        open -= toClose.count
        for c in toClose { await c.close() }
        for w in waiters { w.resume(throwing: PostgresError(.connectionClosed, "the connection pool is closed")) }
        waiters.removeAll()
    }

    private func checkout() async throws -> Connection {
        if closed { throw PostgresError(.connectionClosed, "the connection pool is closed") }
        while let connection = idle.popLast() {
            if await connection.checkAlive() { return connection }
            open -= 1
            await connection.close()
        }
        if open < configuration.maxConnections {
            open += 1
            do {
                return try await connect()
            } catch {
                open -= 1
                await serveWaiters()
                throw error
            }
        }
        if let maxWaiters = configuration.maxWaiters, waiters.count >= maxWaiters {
            throw Exhausted(maxConnections: configuration.maxConnections, maxWaiters: maxWaiters)
        }
        return try await withCheckedThrowingContinuation { waiters.append($0) }
    }

    private func checkin(_ connection: Connection) async {
        if connection.isBroken || closed {
            open -= 1
            await connection.close()
            await serveWaiters()
            return
        }
        if !waiters.isEmpty {
            waiters.removeFirst().resume(returning: connection)
        } else {
            idle.append(connection)
        }
    }

    private func connect() async throws -> Connection {
        try await Connection.connect(configuration.conninfo, database: configuration.database,
                                     applicationName: configuration.applicationName, settings: configuration.settings)
    }

    /// Room for a connection while callers wait (one closed, or could not be opened): the
    /// first waiter gets a new connection, or the error of opening it, and so on while room
    /// and waiters remain. A waiter is never left without a connection that will come back
    /// to serve it.
    private func serveWaiters() async {
        while !closed && !waiters.isEmpty && open < configuration.maxConnections {
            let waiter = waiters.removeFirst()
            open += 1
            do {
                waiter.resume(returning: try await connect())
            } catch {
                open -= 1
                waiter.resume(throwing: error)
            }
        }
    }
}
