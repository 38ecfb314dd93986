import CLibPQ
import Foundation
import Glibc
import Support

/// One PostgreSQL connection over libpq.
///
/// Every libpq call of a connection runs on the connection's own thread (`ThreadWorker`),
/// never on Swift's cooperative pool. A connection serves one task at a time: take it
/// from a `ConnectionPool` (or own it) rather than sharing it between concurrent tasks.
public final class Connection: @unchecked Sendable, CustomStringConvertible {
    let worker: ThreadWorker
    /// Touched only on `worker`'s thread.
    private var pg: OpaquePointer?
    private let broken = LockedValue(false)
    private var transactionDepth = 0
    /// Named prepared statements of this session, by text and parameter types. Touched only
    /// on `worker`'s thread.
    private var preparedNames: [PreparedKey: (name: String, at: ContinuousClock.Instant)] = [:]
    /// A prepared statement older than this is prepared again, so its generic plan follows
    /// the tables' statistics (one planned while a table was empty would otherwise stay).
    private var preparedMaxAge: Duration = .seconds(60)
    /// See `execPrepared`.
    private var preparedDisabled = false
    private var planModeSet = false
    /// At most this many statements stay prepared; then they are all deallocated.
    public static let maxPreparedStatements = 64

    /// The server process serving this connection (for `pg_terminate_backend` and logs).
    public let backendPID: Int32
    /// Where the connection goes, without credentials: `host=… port=… dbname=… user=…`.
    public let target: String

    public var description: String { "Connection(\(target), pid \(backendPID))" }

    private init(worker: ThreadWorker, pg: OpaquePointer, target: String) {
        self.worker = worker
        self.pg = pg
        self.target = target
        backendPID = PQbackendPID(pg)
    }

    deinit {
        if let pg {
            let handle = UnsafeSendablePointer(pg)
            worker.enqueue { PQfinish(handle.pointer) }
        }
        worker.stop()
    }

    /// Server-side limits of a session, set when it connects (`set_config`, so they hold
    /// for the session; behind PgBouncer in transaction mode they stay on the server
    /// connection they ran on, like the plan mode).
    public struct SessionSettings: Sendable, Equatable {
        /// `statement_timeout`: a statement running longer is cancelled (SQLSTATE 57014).
        public var statementTimeout: Duration?
        /// `lock_timeout`: a lock not granted by then fails the statement (55P03).
        public var lockTimeout: Duration?
        /// `idle_in_transaction_session_timeout`: a session idle inside a transaction this
        /// long is ended (it would hold locks and the xmin horizon).
        public var idleInTransactionTimeout: Duration?

        public init(statementTimeout: Duration? = nil, lockTimeout: Duration? = nil, idleInTransactionTimeout: Duration? = nil) {
            self.statementTimeout = statementTimeout
            self.lockTimeout = lockTimeout
            self.idleInTransactionTimeout = idleInTransactionTimeout
        }

        /// The server's defaults (no limits).
        public static let none = SessionSettings()
        /// The worker's claims, completions, rate limits and polls: short statements.
        public static let worker = SessionSettings(statementTimeout: .seconds(30), lockTimeout: .seconds(5),
                                                   idleInTransactionTimeout: .seconds(60))
        /// HTTP handlers (callbacks, inbound, health): an answer within a provider's timeout.
        public static let http = SessionSettings(statementTimeout: .seconds(8), lockTimeout: .seconds(3),
                                                 idleInTransactionTimeout: .seconds(30))
        /// Operator commands (submit, report, prune, …): long statements are fine (a
        /// million-row COPY, a report over the whole outbox), waiting behind locks is not.
        public static let command = SessionSettings(lockTimeout: .seconds(10), idleInTransactionTimeout: .seconds(300))

        /// `(name, value in milliseconds)` for each limit set.
        var parameters: [(String, String)] {
            func ms(_ d: Duration) -> String { String(max(1, Int(d / .milliseconds(1)))) }
            var p: [(String, String)] = []
            if let statementTimeout { p.append(("statement_timeout", ms(statementTimeout))) }
            if let lockTimeout { p.append(("lock_timeout", ms(lockTimeout))) }
            if let idleInTransactionTimeout { p.append(("idle_in_transaction_session_timeout", ms(idleInTransactionTimeout))) }
            return p
        }
    }

    /// libpq settings every connection starts from; the connection string overrides them.
    /// TCP keepalives find a dead server or a silently dropped connection (a failover, a
    /// NAT timeout) in about a minute instead of the kernel's two hours, and
    /// `tcp_user_timeout` bounds how long unacknowledged data may wait. (Unix sockets
    /// ignore the keepalive settings.)
    static func defaultParameters(applicationName: String) -> [(String, String)] {
        [("connect_timeout", "10"), ("fallback_application_name", applicationName),
         ("keepalives", "1"), ("keepalives_idle", "30"), ("keepalives_interval", "10"), ("keepalives_count", "3"),
         ("tcp_user_timeout", "60000")]
    }

    /// Opens a connection from a libpq connection string or URI (`DATABASE_URL`).
    ///
    /// Fails with `.connectionFailed` and one readable line naming the host or socket and
    /// the server's message; passwords are never part of it.
    /// `database`, when given, replaces the database named in `conninfo`. `settings` are
    /// the session's server-side limits (see `SessionSettings`).
    public static func connect(_ conninfo: String, database: String? = nil, applicationName: String = "dispatcher",
                               settings: SessionSettings = .none) async throws -> Connection {
        let connection = try await open(conninfo, database: database, applicationName: applicationName)
        let parameters = settings.parameters
        if !parameters.isEmpty {
            do {
                // one round trip; the values are bound parameters
                var calls: SQL?
                for (name, value) in parameters {
                    let call: SQL = "set_config(\(name), \(value), false)"
                    calls = calls.map { "\($0), \(call)" } ?? call
                }
                try await connection.execute("SELECT \(calls!)")
            } catch {
                await connection.close()
                throw error
            }
        }
        return connection
    }

    private static func open(_ conninfo: String, database: String?, applicationName: String) async throws -> Connection {
        let worker = ThreadWorker(name: "pg-conn")
        do {
            return try await worker.run {
                // Defaults first: values in the connection string override them.
                let defaults = defaultParameters(applicationName: applicationName)
                var keywords = defaults.map(\.0) + ["dbname"]
                var values = defaults.map(\.1) + [conninfo]
                if let database {
                    keywords.append("dbname")
                    values.append(database)
                }
                let pg = withCStrings(keywords) { k in withCStrings(values) { v in PQconnectdbParams(k, v, 1) } }
                guard let pg else { throw PostgresError(.connectionFailed, "cannot connect to PostgreSQL: out of memory") }
                let target = describeTarget(pg)
                guard PQstatus(pg) == CONNECTION_OK else {
                    var message = oneLine(String(cString: PQerrorMessage(pg)))
                    if !message.contains("server") && !target.isEmpty { message = "\(target): " + message }
                    PQfinish(pg)
                    throw PostgresError(.connectionFailed, "cannot connect to PostgreSQL: " + redactConnectionSecrets(message))
                }
                PQsetNoticeProcessor(pg, { _, _ in }, nil)  // server notices are not ours to print
                return Connection(worker: worker, pg: pg, target: target)
            }
        } catch {
            worker.stop()
            throw error
        }
    }

    /// True once the connection is known to be unusable (server gone, socket closed).
    public var isBroken: Bool { broken.current }

    private func markBrokenIfBad() {
        guard let pg, PQstatus(pg) == CONNECTION_BAD else { return }
        broken.withLock { $0 = true }
    }

    // MARK: Statements

    /// Runs one statement and returns its rows.
    ///
    /// `prepared: true` is for statements a worker runs over and over (claims, completions,
    /// callback ingestion): the first run prepares the text as a named statement of this
    /// session, and later runs only bind and execute it, with one generic plan
    /// (`plan_cache_mode = force_generic_plan`, set for the session with its first prepared
    /// statement), so the server neither parses nor plans it again. A statement passed here
    /// must have a good plan whatever its parameters' values (see `Outbox.messageClaimMany`).
    ///
    /// A failure is a `PostgresError` naming `statement` (by default the calling function: a
    /// catalogue statement's own name) and the caller's `file:line`.
    @discardableResult
    public func query(
        _ sql: SQL, prepared: Bool = false, statement: String = #function, file: String = #fileID, line: Int = #line
    ) async throws -> QueryResult {
        let (text, binds) = sql.render()
        do {
            if prepared {
                return try await worker.run { QueryResult(try self.execPrepared(text, binds)) }
            }
            return try await worker.run { QueryResult(try self.execParams(text, binds)) }
        } catch var error as PostgresError {
            error.locate(statement: statement, file: file, line: line)
            throw error
        }
    }

    /// How many named statements this session has prepared (for tests).
    public var preparedStatementCount: Int {
        get async { (try? await worker.run { self.preparedNames.count }) ?? 0 }
    }

    /// Runs one statement and returns the number of rows it changed.
    @discardableResult
    public func execute(
        _ sql: SQL, statement: String = #function, file: String = #fileID, line: Int = #line
    ) async throws -> Int {
        try await query(sql, statement: statement, file: file, line: line).affectedRows
    }

    /// Runs a script of several statements with no parameters (migrations).
    public func executeScript(
        _ script: String, statement: String = #function, file: String = #fileID, line: Int = #line
    ) async throws {
        do {
            try await worker.run {
                guard let pg = self.pg else { throw PostgresError(.connectionClosed, "the connection is closed") }
                let result = PQexec(pg, script)
                PQclear(try self.check(result))
            }
        } catch var error as PostgresError {
            error.locate(statement: statement, file: file, line: line)
            throw error
        }
    }

    /// Sends a notification on `channel` (delivered to listeners when the transaction commits).
    public func notify(_ channel: String, payload: String = "") async throws {
        try await execute("SELECT pg_notify(\(channel), \(payload))")
    }

    /// Runs `body` in a transaction: commits when it returns, rolls back when it throws
    /// and rethrows the original error (a failed rollback never hides it). Nested calls
    /// use savepoints.
    public func withTransaction<T>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (Connection) async throws -> T
    ) async throws -> T {
        let depth = transactionDepth
        try await execute(depth == 0 ? "BEGIN" : SQL(unsafeRaw: "SAVEPOINT s\(depth)"))
        transactionDepth += 1
        do {
            let result = try await body(self)
            transactionDepth -= 1
            try await execute(depth == 0 ? "COMMIT" : SQL(unsafeRaw: "RELEASE SAVEPOINT s\(depth)"))
            return result
        } catch {
            if transactionDepth > depth { transactionDepth = depth }
            if !isBroken {
                _ = try? await execute(depth == 0 ? "ROLLBACK" : SQL(unsafeRaw: "ROLLBACK TO SAVEPOINT s\(depth)"))
            }
            throw error
        }
    }

    /// Closes the connection; later calls fail with `.connectionClosed`.
    public func close() async {
        _ = try? await worker.run {
            if let pg = self.pg { PQfinish(pg) }
            self.pg = nil
        }
    }

    /// Cheap liveness check without a round trip: if the server has sent something while
    /// the connection was idle (a termination notice, or EOF), read it; a connection whose
    /// server went away is then marked broken.
    public func checkAlive() async -> Bool {
        (try? await worker.run { () -> Bool in
            guard let pg = self.pg else { return false }
            // A terminated backend sends an error and then closes: read until nothing is left.
            var fds = pollfd(fd: PQsocket(pg), events: Int16(POLLIN), revents: 0)
            var rounds = 0
            while rounds < 8, poll(&fds, 1, 0) > 0 {
                rounds += 1
                if PQconsumeInput(pg) == 0 { break }
                // drop notifications nobody listens for on a pooled connection
                while let n = PQnotifies(pg) { PQfreemem(n) }
            }
            self.markBrokenIfBad()
            return !self.isBroken
        }) ?? false
    }

    // MARK: On the worker thread

    /// Drops the handle without closing it (its new owner closes it).
    func forgetHandle() { pg = nil }

    func withPG<T>(_ body: (OpaquePointer) throws -> T) throws -> T {
        guard let pg else { throw PostgresError(.connectionClosed, "the connection is closed") }
        return try body(pg)
    }

    func execParams(_ text: String, _ binds: [PostgresBind]) throws -> OpaquePointer {
        guard let pg else { throw PostgresError(.connectionClosed, "the connection is closed") }
        let types = binds.map { $0.type.rawValue }
        let result = withBoundValues(binds) { count, values, lengths, formats in
            PQexecParams(pg, text, count, types, values, lengths, formats, 1)
        }
        return try check(result)
    }

    /// Executes `text` as a named prepared statement, preparing it first when this session
    /// has not. The name is a hash of the text and parameter types, so a name means one
    /// statement on any server connection (a transaction-mode pooler may hand us a server
    /// connection another client prepared it on: `42P05` then means "already there").
    ///
    /// A statement this session prepared that the server does not know (`26000`: after
    /// `DISCARD ALL`, or behind PgBouncer in transaction mode before 1.21, where prepared
    /// statements do not follow the client) switches this connection to unprepared
    /// statements for good. A plan whose result type changed after DDL (`0A000`) is
    /// prepared again once. In a transaction those errors have aborted it: they are thrown,
    /// and the caller's retry runs without them.
    func execPrepared(_ text: String, _ binds: [PostgresBind]) throws -> OpaquePointer {
        guard let pg else { throw PostgresError(.connectionClosed, "the connection is closed") }
        if preparedDisabled { return try execParams(text, binds) }
        let types = binds.map { $0.type.rawValue }
        let key = PreparedKey(text: text, types: types)
        var replanned = false
        while true {
            if !planModeSet && PQtransactionStatus(pg) == PQTRANS_IDLE {
                // outside a transaction, so that no rollback undoes it
                PQclear(try check(PQexec(pg, "SET plan_cache_mode = force_generic_plan")))
                planModeSet = true
            }
            let name = try preparedName(for: key, pg)
            let result = withBoundValues(binds) { count, values, lengths, formats in
                PQexecPrepared(pg, name, count, values, lengths, formats, 1)
            }
            do {
                return try check(result)
            } catch let error as PostgresError where error.sqlState == .invalidSQLStatementName {
                preparedDisabled = true
                preparedNames.removeAll()
                if PQtransactionStatus(pg) == PQTRANS_INERROR { throw error }
                return try execParams(text, binds)
            } catch let error as PostgresError where !replanned && error.sqlState == .featureNotSupported
                                                     && error.message.contains("cached plan") {
                replanned = true
                preparedNames[key] = nil
                if PQtransactionStatus(pg) == PQTRANS_INERROR { throw error }
                PQclear(PQexec(pg, "DEALLOCATE \(name)"))
            }
        }
    }

    private func preparedName(for key: PreparedKey, _ pg: OpaquePointer) throws -> String {
        if let entry = preparedNames[key] {
            if ContinuousClock.now - entry.at < preparedMaxAge { return entry.name }
            // Outside a transaction only: a failed DEALLOCATE would abort one.
            if PQtransactionStatus(pg) != PQTRANS_IDLE { return entry.name }
            PQclear(PQexec(pg, "DEALLOCATE \(entry.name)"))
            preparedNames[key] = nil
        }
        if preparedNames.count >= Self.maxPreparedStatements {
            PQclear(try check(PQexec(pg, "DEALLOCATE ALL")))
            preparedNames.removeAll()
        }
        let name = key.name
        do {
            PQclear(try check(PQprepare(pg, name, key.text, Int32(key.types.count), key.types)))
        } catch let error as PostgresError where error.sqlState == .duplicatePreparedStatement {
            // Prepared on this server connection by another client of a pooler: the same
            // text, since the name is its hash. In a transaction the error has aborted it.
            if PQtransactionStatus(pg) == PQTRANS_INERROR {
                preparedDisabled = true
                throw error
            }
        }
        preparedNames[key] = (name, ContinuousClock.now)
        return name
    }

    /// Sets how long a prepared statement is kept before it is prepared again (tests).
    public func setPreparedStatementMaxAge(_ age: Duration) async {
        _ = try? await worker.run { self.preparedMaxAge = age }
    }

    /// Whether this connection still uses prepared statements (false after a statement it had
    /// prepared went missing: `DISCARD ALL`, a transaction-mode pooler).
    public var usesPreparedStatements: Bool {
        get async { (try? await worker.run { !self.preparedDisabled }) ?? false }
    }

    /// Lays the binds out for libpq (binary format, NULL as a nil pointer) for one call.
    private func withBoundValues(
        _ binds: [PostgresBind],
        _ body: (Int32, [UnsafePointer<CChar>?], [Int32], [Int32]) -> OpaquePointer?
    ) -> OpaquePointer? {
        let count = binds.count
        var storage: [UInt8] = []
        var offsets: [Int] = []
        offsets.reserveCapacity(count)
        for bind in binds {
            offsets.append(storage.count)
            if let bytes = bind.bytes { storage.append(contentsOf: bytes) }
        }
        storage.append(0)  // never empty, so the base address exists
        let lengths = binds.map { Int32($0.bytes?.count ?? 0) }
        let formats = [Int32](repeating: 1, count: count)
        return storage.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            let base = UnsafeRawPointer(buffer.baseAddress!)
            let values: [UnsafePointer<CChar>?] = (0..<count).map { i in
                binds[i].bytes == nil ? nil : (base + offsets[i]).assumingMemoryBound(to: CChar.self)
            }
            return body(Int32(count), values, lengths, formats)
        }
    }

    /// Turns a result into itself or a thrown `PostgresError` (clearing it).
    func check(_ result: OpaquePointer?, allowing allowed: Set<UInt32> = []) throws -> OpaquePointer {
        guard let result else {
            markBrokenIfBad()
            let message = pg.map { oneLine(String(cString: PQerrorMessage($0))) } ?? "no connection"
            throw PostgresError(isBroken ? .connectionClosed : .server, message.isEmpty ? "no result from server" : message)
        }
        let status = PQresultStatus(result)
        switch status {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY, PGRES_COPY_IN:
            return result
        default:
            if allowed.contains(status.rawValue) { return result }
            let error = serverError(result)
            PQclear(result)
            throw error
        }
    }

    func serverError(_ result: OpaquePointer) -> PostgresError {
        func field(_ code: UInt8) -> String? {
            guard let p = PQresultErrorField(result, Int32(code)) else { return nil }
            return String(cString: p)
        }
        markBrokenIfBad()
        let state = field(UInt8(ascii: "C")).map(SQLState.init(rawValue:))
        var message = field(UInt8(ascii: "M")) ?? oneLine(String(cString: PQresultErrorMessage(result)))
        if message.isEmpty, let pg { message = oneLine(String(cString: PQerrorMessage(pg))) }
        let lost = isBroken || (state?.isConnectionLoss ?? false)
        if lost { message = "the database connection was lost: " + message }
        return PostgresError(
            lost ? .connectionClosed : .server, message, sqlState: state,
            detail: field(UInt8(ascii: "D")), hint: field(UInt8(ascii: "H")), constraint: field(UInt8(ascii: "n")))
    }
}

/// A prepared statement's identity: the same text with other parameter types is another one.
struct PreparedKey: Hashable {
    var text: String
    var types: [UInt32]

    /// `dispatcher_` and 16 hex digits of FNV-1a over the text and the type oids: stable
    /// across processes and versions of the binary, so one name is one statement everywhere.
    var name: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ byte: UInt8) {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        for byte in text.utf8 { mix(byte) }
        for type in types {
            mix(0)
            for shift in stride(from: 0, to: 32, by: 8) { mix(UInt8(truncatingIfNeeded: type >> UInt32(shift))) }
        }
        let hex = String(hash, radix: 16)
        return "dispatcher_" + String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// A raw pointer handed to the worker thread that owns it.
struct UnsafeSendablePointer: @unchecked Sendable {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
}

/// `host=… port=… dbname=… user=…` for a (possibly failed) connection; never the password.
private func describeTarget(_ pg: OpaquePointer) -> String {
    func value(_ p: UnsafeMutablePointer<CChar>?) -> String? {
        guard let p else { return nil }
        let s = String(cString: p)
        return s.isEmpty ? nil : s
    }
    var parts: [String] = []
    if let host = value(PQhost(pg)) { parts.append(host.hasPrefix("/") ? "socket=\(host)" : "host=\(host)") }
    if let port = value(PQport(pg)) { parts.append("port=\(port)") }
    if let db = value(PQdb(pg)) { parts.append("dbname=\(db)") }
    if let user = value(PQuser(pg)) { parts.append("user=\(user)") }
    return parts.joined(separator: " ")
}

/// Calls `body` with a NULL-terminated array of C strings.
private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let duplicated = strings.map { strdup($0) }
    defer { duplicated.forEach { free($0) } }
    var pointers: [UnsafePointer<CChar>?] = duplicated.map { UnsafePointer($0) }
    pointers.append(nil)
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
