import Foundation
import Store
import TestSupport
import Testing

/// Store errors say which statement failed and where it was called, and their `description`
/// (what logs and the CLI print) never carries what the server said about the row.
@Suite struct StoreErrorTests {
    @Test func aCatalogueStatementsErrorNamesItAndItsCallSiteOnly() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        // rate > 0 is a CHECK: the server's DETAIL quotes the failing row, key included
        let error = await #expect(throws: PostgresError.self) {
            try await RateLimits.rateLimitConfigure(c, key: "sender:+15550001234", rate: -1, burst: 1)
        }
        let e = try #require(error)
        #expect(e.sqlState == .checkViolation)
        #expect(e.statement == "rateLimitConfigure")
        #expect(e.file.hasSuffix("RateLimits.swift"), "\(e.file)")
        #expect(e.file != "Store/Connection.swift")
        // description: SQLSTATE, statement, location; no server text, no value
        #expect(e.description.hasPrefix("database error (SQLSTATE 23514) in rateLimitConfigure at Store/"), "\(e.description)")
        #expect(!e.description.contains("+15550001234"))
        #expect(!e.description.contains("violates"))
        #expect(!e.description.contains("rate_limits_rate_check"))
        // debugDescription: the detail for whoever debugs it
        #expect(e.debugDescription.contains("violates check constraint"))
        #expect(e.debugDescription.contains("+15550001234"))
        #expect(e.debugDescription.contains("statement=rateLimitConfigure"))
        await c.close()
    }

    @Test func anAdHocQueryPointsAtItsCaller() async throws {
        let db = try await TestPostgres.database(migrated: false)
        let c = try await db.connect()
        let line = #line + 1
        let error = await #expect(throws: PostgresError.self) { try await c.execute("SELECT 1 / \(Int32(0))") }
        let e = try #require(error)
        #expect(e.sqlState == SQLState(rawValue: "22012"))
        #expect(e.file == #fileID)
        #expect(e.line == line)
        #expect(e.statement == "anAdHocQueryPointsAtItsCaller")
        #expect(!e.description.contains("division"))
        #expect(e.debugDescription.contains("division by zero"))
        // an error of this side keeps its own message (it names no value)
        let row = try #require(try await c.query("SELECT 1 AS n").first)
        let decoding = #expect(throws: PostgresError.self) { try row.decode(String.self, column: "missing") }
        #expect(decoding?.description.contains("no column named 'missing'") == true)
        await c.close()
    }

    @Test func aFailedMigrationNamesIt() async throws {
        let db = try await TestPostgres.database(migrated: false)
        let c = try await db.connect()
        let broken = Migrator(migrations: [Migration(version: 1, name: "broken", sql: "SELECT 'secret-value'::int")])
        let error = await #expect(throws: PostgresError.self) { try await broken.migrate(c) }
        #expect(error?.statement == "migration 1 (broken)")
        #expect(error?.description.contains("secret-value") == false)
        #expect(error?.debugDescription.contains("secret-value") == true)
        await c.close()
    }
}
