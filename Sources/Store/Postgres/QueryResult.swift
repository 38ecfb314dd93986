import CLibPQ

/// The rows of one statement's result, read in binary format. Owns the libpq result.
///
/// A finished `PGresult` no longer touches its connection, so reading it from any
/// thread is safe; the class is immutable after creation.
public final class QueryResult: @unchecked Sendable, RandomAccessCollection {
    let result: OpaquePointer
    /// Column names in order.
    public let columns: [String]
    let columnTypes: [PostgresType]
    let columnIndex: [String: Int]
    /// Rows changed by INSERT/UPDATE/DELETE/COPY, or returned by SELECT.
    public let affectedRows: Int

    init(_ result: OpaquePointer) {
        self.result = result
        let n = Int(PQnfields(result))
        var names: [String] = []
        var types: [PostgresType] = []
        var index: [String: Int] = [:]
        for i in 0..<n {
            let name = String(cString: PQfname(result, Int32(i)))
            names.append(name)
            types.append(PostgresType(rawValue: PQftype(result, Int32(i))))
            if index[name] == nil { index[name] = i }
        }
        columns = names
        columnTypes = types
        columnIndex = index
        affectedRows = Int(String(cString: PQcmdTuples(result))) ?? Int(PQntuples(result))
    }

    deinit { PQclear(result) }

    public var startIndex: Int { 0 }
    public var endIndex: Int { Int(PQntuples(result)) }
    public subscript(position: Int) -> Row { Row(result: self, index: position) }

    /// Decodes the only row's first column; nil when there is no row.
    public func scalar<T: PostgresDecodable>(_: T.Type = T.self) throws -> T? {
        guard let row = first else { return nil }
        return try row.decode(T.self, at: 0)
    }
}

/// One row of a `QueryResult`.
public struct Row: Sendable {
    let result: QueryResult
    let index: Int

    /// Decodes column `column` (0-based) as `T`.
    public func decode<T: PostgresDecodable>(_: T.Type = T.self, at column: Int) throws -> T {
        guard column >= 0, column < result.columns.count else {
            throw PostgresError(.decoding, "column \(column) is out of range: the row has \(result.columns.count) columns")
        }
        let context = DecodingContext(column: result.columns[column], type: result.columnTypes[column])
        let r = Int32(index), c = Int32(column)
        if PQgetisnull(result.result, r, c) == 1 { return try T.decodeNull(context: context) }
        let length = Int(PQgetlength(result.result, r, c))
        guard let base = PQgetvalue(result.result, r, c) else { return try T.decodeNull(context: context) }
        return try T.decode(from: UnsafeRawBufferPointer(start: base, count: length), context: context)
    }

    /// Decodes the column named `name` as `T`.
    public func decode<T: PostgresDecodable>(_: T.Type = T.self, column name: String) throws -> T {
        guard let i = result.columnIndex[name] else {
            throw PostgresError(.decoding, "no column named '\(name)' (columns: \(result.columns.joined(separator: ", ")))")
        }
        return try decode(T.self, at: i)
    }

    /// Decodes the leading columns as a tuple: `let (id, state) = try row.decode((Int64, String).self)`.
    public func decode<each T: PostgresDecodable>(_: (repeat each T).Type) throws -> (repeat each T) {
        var column = 0
        func next<U: PostgresDecodable>(_: U.Type) throws -> U {
            defer { column += 1 }
            return try decode(U.self, at: column)
        }
        return (repeat try next((each T).self))
    }

    public subscript<T: PostgresDecodable>(_ name: String, as _: T.Type = T.self) -> T {
        get throws { try decode(T.self, column: name) }
    }
}
