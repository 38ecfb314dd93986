import Foundation
import Store
import TestSupport
import Testing

/// Values go in as bound parameters and come back through the typed decoders unchanged.
@Suite struct TypeRoundTripTests {
    @Test func integersDoublesAndBooleans() async throws {
        let db = try await TestPostgres.database(migrated: false)
        let c = try await db.connect()
        let row = try #require(try await c.query("""
            SELECT \(Int(-42)) AS i, \(Int64.max) AS i64, \(Int32.min) AS i32, \(Int16(7)) AS i16,
                   \(3.25) AS d, \(true) AS t, \(false) AS f
            """).first)
        #expect(try row.decode(Int.self, column: "i") == -42)
        #expect(try row.decode(Int64.self, column: "i64") == Int64.max)
        #expect(try row.decode(Int32.self, column: "i32") == Int32.min)
        #expect(try row.decode(Int16.self, column: "i16") == 7)
        #expect(try row.decode(Double.self, column: "d") == 3.25)
        #expect(try row.decode(Bool.self, column: "t") == true)
        #expect(try row.decode(Bool.self, column: "f") == false)
        // int4 widens to Int, numeric reads as Double
        let widened = try #require(try await c.query("SELECT 5::int4, 12.5::numeric, (-0.0001)::numeric, 123456789.123::numeric").first)
        #expect(try widened.decode(Int.self, at: 0) == 5)
        #expect(try widened.decode(Double.self, at: 1) == 12.5)
        #expect(abs(try widened.decode(Double.self, at: 2) + 0.0001) < 1e-12)
        #expect(abs(try widened.decode(Double.self, at: 3) - 123456789.123) < 1e-6)
    }

    @Test(arguments: [
        "", "plain", "emoji 👋🏽🇺🇸 family 👨‍👩‍👧", "עברית וערבית: مرحبا بالعالم", "tab\tnew\nline\r\n",
        "'); DROP TABLE messages; --", #"back\slash \\ and \' quote"#, "$1 $2 looks like a parameter",
    ])
    func textIsStoredVerbatim(_ text: String) async throws {
        let db = try await TestPostgres.database(migrated: false)
        let c = try await db.connect()
        try await c.execute("CREATE TABLE t (v text)")
        try await c.execute("INSERT INTO t (v) VALUES (\(text))")
        #expect(try await c.query("SELECT v FROM t").scalar(String.self) == text)
        #expect(try await c.query("SELECT count(*) FROM t WHERE v = \(text)").scalar(Int.self) == 1)
    }

    @Test func megabyteText() async throws {
        let db = try await TestPostgres.database(migrated: false)
        let c = try await db.connect()
        let big = String(repeating: "0123456789abcdéf", count: 65_536)  // 1 MiB+ of UTF-8
        #expect(try await c.query("SELECT \(big)").scalar(String.self) == big)
        #expect(try await c.query("SELECT length(\(big))").scalar(Int.self) == big.count)
    }

    @Test func nullsDecodeAsNilAndRefuseNonOptionals() async throws {
        let db = try await TestPostgres.database(migrated: false)
        let c = try await db.connect()
        let none: String? = nil
        let noDate: Date? = nil
        let row = try #require(try await c.query("SELECT \(none) AS s, \(noDate) AS d, NULL::int8 AS n").first)
        #expect(try row.decode(String?.self, column: "s") == nil)
        #expect(try row.decode(Date?.self, column: "d") == nil)
        #expect(try row.decode(Int?.self, column: "n") == nil)
        let error = #expect(throws: PostgresError.self) { try row.decode(Int.self, column: "n") }
        #expect(error?.kind == .decoding)
        #expect(error?.description.contains("'n'") == true)
    }

    @Test func datesUUIDsAndBytes() async throws {
        let db = try await TestPostgres.database(migrated: false)
        let c = try await db.connect()
        let date = Date(timeIntervalSince1970: 1_795_000_000.123456)
        let uuid = UUID()
        let bytes: [UInt8] = Array(0...255)  // every byte value, NUL included
        let data = Data([0, 0xFF, 0x5C, 0x27, 0x00])
        let row = try #require(try await c.query("SELECT \(date), \(uuid), \(bytes), \(data), \(date)::date").first)
        let (d, u, b, dt) = try row.decode((Date, UUID, [UInt8], Data).self)
        #expect(abs(d.timeIntervalSince1970 - date.timeIntervalSince1970) < 0.000_001)
        #expect(u == uuid)
        #expect(b == bytes)
        #expect(dt == data)
        // timestamptz text as the server sees it is the same instant
        #expect(try await c.query("SELECT \(date) = to_timestamp(1795000000.123456)").scalar(Bool.self) == true)
    }

    @Test func arraysBindForAnyAndUnnest() async throws {
        let db = try await TestPostgres.database(migrated: false)
        let c = try await db.connect()
        try await c.execute("CREATE TABLE t (id int8, name text)")
        let ids: [Int64] = [1, 2, 3]
        let names = ["a", "b'; --", "ç"]
        #expect(try await c.execute("INSERT INTO t SELECT * FROM unnest(\(ids), \(names))") == 3)
        let found = try await c.query("SELECT name FROM t WHERE id = ANY(\(Array(ids.dropFirst()))) ORDER BY id").map { try $0.decode(String.self, at: 0) }
        #expect(found == ["b'; --", "ç"])
        let back = try #require(try await c.query("SELECT array_agg(id ORDER BY id), array_agg(name ORDER BY id) FROM t").first)
        #expect(try back.decode([Int64].self, at: 0) == ids)
        #expect(try back.decode([String].self, at: 1) == names)
        let withNulls: [String?] = ["x", nil]
        #expect(try await c.query("SELECT \(withNulls)").scalar([String?].self) == withNulls)
        let empty: [Int64] = []
        #expect(try await c.query("SELECT \(empty)").scalar([Int64].self) == [])
    }

    struct Payload: Codable, Equatable, Sendable {
        var name: String
        var tags: [String]
        var nested: [String: Int]
    }

    @Test func jsonbThroughCodable() async throws {
        let db = try await TestPostgres.database(migrated: false)
        let c = try await db.connect()
        let value = Payload(name: "Ana \"quoted\" 👋", tags: ["a", "'; DROP"], nested: ["x": 1])
        let row = try #require(try await c.query("SELECT \(JSONB(value)), \(JSONB(value)) ->> 'name'").first)
        #expect(try row.decode(JSONB<Payload>.self, at: 0).value == value)
        #expect(try row.decode(String.self, at: 1) == value.name)
    }

    @Test func decodingErrorNamesColumnAndTypes() async throws {
        let db = try await TestPostgres.database(migrated: false)
        let c = try await db.connect()
        let row = try #require(try await c.query("SELECT 1::int4 AS attempts").first)
        let error = #expect(throws: PostgresError.self) { try row.decode(Bool.self, column: "attempts") }
        #expect(error?.description == "column 'attempts': cannot decode int4 as Bool")
        let missing = #expect(throws: PostgresError.self) { try row.decode(Int.self, column: "nope") }
        #expect(missing?.description.contains("no column named 'nope'") == true)
    }

    @Test func sqlDescriptionHidesBoundValues() {
        let phone = "+12025550143"
        let sql: SQL = "SELECT * FROM messages WHERE to_number = \(phone) AND id = \(Int64(5))"
        #expect(sql.description == "SELECT * FROM messages WHERE to_number = $1 AND id = $2 [****, ****]")
        #expect(!sql.description.contains(phone))
        let fragment: SQL = "state = \("pending")"
        let composed: SQL = "SELECT 1 WHERE id = \(Int64(1)) AND \(fragment)"
        #expect(composed.render().text == "SELECT 1 WHERE id = $1 AND state = $2")
        #expect(composed.render().binds.count == 2)
    }
}
