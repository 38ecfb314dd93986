import Foundation
import Store
import TestSupport
import Testing

@Suite struct PreparedStatementTests {
    /// A fresh database with a table `t (id, v)` holding `(1, 'one')`, and a connection to it.
    func databaseWithOneRow() async throws -> (TestDatabase, Connection) {
        let db = try await TestPostgres.database(migrated: false)
        let c = try await db.connect()
        try await c.execute("CREATE TABLE t (id int8, v text)")
        try await c.execute("INSERT INTO t VALUES (1, 'one')")
        return (db, c)
    }

    @Test func aPreparedStatementIsPreparedOnceAndReturnsEachRunsOwnRows() async throws {
        let db = try await TestPostgres.database(migrated: false)
        let c = try await db.connect()
        try await c.execute("CREATE TABLE t (id int8, v text)")
        try await c.execute("INSERT INTO t SELECT i, 'v' || i FROM generate_series(1, 10) i")
        for id in [Int64(3), 7, 9] {
            let v = try await c.query("SELECT v FROM t WHERE id = \(id)", prepared: true).scalar(String.self)
            #expect(v == "v\(id)")
        }
        #expect(await c.preparedStatementCount == 1)
        // the same text with another parameter type is another statement
        let v = try await c.query("SELECT v FROM t WHERE id = \(Int32(4))", prepared: true).scalar(String.self)
        #expect(v == "v4")
        #expect(await c.preparedStatementCount == 2)
        // one generic plan per statement: no planning on later runs
        #expect(try await c.query("SHOW plan_cache_mode").scalar(String.self) == "force_generic_plan")
        // server-side: the session really holds named statements
        let named = try await c.query("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'dispatcher_%'").scalar(Int.self)
        #expect(named == 2)
    }

    @Test func aStatementWhoseResultTypeChangedIsPreparedAgain() async throws {
        let (_, c) = try await databaseWithOneRow()
        let select: SQL = "SELECT * FROM t WHERE id = \(Int64(1))"
        #expect(try await c.query(select, prepared: true).count == 1)
        // DDL that changes the statement's result type ("cached plan must not change result type")
        try await c.execute("ALTER TABLE t ADD COLUMN extra int4 DEFAULT 5")
        let wider = try await c.query(select, prepared: true)
        #expect(try wider.map { try $0.decode(Int32.self, at: 2) } == [5])
        #expect(await c.usesPreparedStatements)
        #expect(await c.preparedStatementCount == 1)
    }

    @Test func aStatementTheServerForgotSwitchesTheConnectionToUnpreparedStatements() async throws {
        let (db, c) = try await databaseWithOneRow()
        let select: SQL = "SELECT v FROM t WHERE id = \(Int64(1))"
        #expect(try await c.query(select, prepared: true).scalar(String.self) == "one")
        // DISCARD ALL drops every prepared statement, as a transaction-mode pooler's other
        // server connections never had them
        try await c.execute("DISCARD ALL")
        #expect(try await c.query(select, prepared: true).scalar(String.self) == "one")
        #expect(await c.usesPreparedStatements == false)
        #expect(try await c.query(select, prepared: true).scalar(String.self) == "one")
        #expect(try await c.query("SELECT count(*) FROM pg_prepared_statements").scalar(Int.self) == 0)
        // in a transaction the error has aborted it: it is thrown, and the retry works
        let d = try await db.connect()
        #expect(try await d.query(select, prepared: true).scalar(String.self) == "one")
        try await d.execute("DISCARD ALL")
        await #expect(throws: PostgresError.self) {
            try await d.withTransaction { tx in try await tx.query(select, prepared: true) }
        }
        let retried = try await d.withTransaction { tx in try await tx.query(select, prepared: true).scalar(String.self) }
        #expect(retried == "one")
    }

    @Test func aStatementHasTheSameNameInEverySession() async throws {
        let db = try await TestPostgres.database(migrated: false)
        let (a, b) = (try await db.connect(), try await db.connect())
        let select: SQL = "SELECT \(Int64(7)) + 1"
        #expect(try await a.query(select, prepared: true).scalar(Int64.self) == 8)
        #expect(try await b.query(select, prepared: true).scalar(Int64.self) == 8)
        let nameA = try await a.query("SELECT name FROM pg_prepared_statements").scalar(String.self)
        let nameB = try await b.query("SELECT name FROM pg_prepared_statements").scalar(String.self)
        #expect(nameA != nil && nameA == nameB)
        // other parameter types: another name
        #expect(try await a.query("SELECT \(Int32(7)) + 1", prepared: true).scalar(Int32.self) == 8)
        #expect(try await a.query("SELECT count(DISTINCT name) FROM pg_prepared_statements").scalar(Int.self) == 2)
    }

    @Test func errorsOfPreparedStatementsAreTheServersAndTheConnectionStaysUsable() async throws {
        let db = try await TestPostgres.database(migrated: false)
        let c = try await db.connect()
        // a statement that does not parse is not cached
        let bad = await #expect(throws: PostgresError.self) {
            try await c.query("SELEC \(Int64(1))", prepared: true)
        }
        #expect(bad?.sqlState == SQLState(rawValue: "42601"))
        #expect(await c.preparedStatementCount == 0)
        // a run-time error (division by zero) rolls back the transaction, not the statement
        try await c.execute("CREATE TABLE t (v int4)")
        let div: (Int32) -> SQL = { "INSERT INTO t VALUES (10 / \($0))" }
        await #expect(throws: PostgresError.self) {
            try await c.withTransaction { tx in
                try await tx.query(div(2), prepared: true)
                try await tx.query(div(0), prepared: true)
            }
        }
        #expect(try await c.query("SELECT count(*) FROM t").scalar(Int.self) == 0)
        try await c.query(div(5), prepared: true)
        #expect(try await c.query("SELECT v FROM t").scalar(Int32.self) == 2)
        #expect(await c.preparedStatementCount == 1)
    }

    @Test func anOldStatementIsPreparedAgainSoItsPlanFollowsTheStatistics() async throws {
        let db = try await TestPostgres.database(migrated: false)
        let c = try await db.connect()
        let select: SQL = "SELECT \(Int64(1)) + 1"
        let preparedAt: () async throws -> Date? = {
            try await c.query("SELECT prepare_time FROM pg_prepared_statements WHERE name LIKE 'dispatcher_%'").scalar(Date.self)
        }
        #expect(try await c.query(select, prepared: true).scalar(Int64.self) == 2)
        let first = try await preparedAt()
        #expect(try await c.query(select, prepared: true).scalar(Int64.self) == 2)
        #expect(try await preparedAt() == first)  // young (the default age is a minute): the same statement
        await c.setPreparedStatementMaxAge(.milliseconds(50))
        try await Task.sleep(for: .milliseconds(100))
        #expect(try await c.query(select, prepared: true).scalar(Int64.self) == 2)
        let second = try await preparedAt()
        #expect(first != nil && second != nil && second! > first!)
        #expect(await c.preparedStatementCount == 1)
    }

    @Test func theCacheIsBounded() async throws {
        let db = try await TestPostgres.database(migrated: false)
        let c = try await db.connect()
        for i in 0..<(Connection.maxPreparedStatements + 5) {
            let n = try await c.query(SQL(unsafeRaw: "SELECT \(i) + ") + "\(Int64(1))", prepared: true).scalar(Int64.self)
            #expect(n == Int64(i) + 1)
        }
        #expect(await c.preparedStatementCount <= Connection.maxPreparedStatements)
        let named = try await c.query("SELECT count(*) FROM pg_prepared_statements").scalar(Int.self)
        #expect(named == (await c.preparedStatementCount))
    }
}
