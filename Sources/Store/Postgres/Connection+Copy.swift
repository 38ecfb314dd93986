import CLibPQ

extension Connection {
    /// Bulk-inserts rows with `COPY table (columns) FROM STDIN (FORMAT binary)`, streaming:
    /// `body` appends rows to the writer, which sends them to the server in chunks of
    /// about 256 KiB, so memory stays flat however many rows go in. Returns the row count.
    ///
    /// Binary COPY needs each value's Swift type to match its column's type exactly
    /// (`Int64` for bigint, `Int32` for integer, `String` for text, `Date` for timestamptz).
    /// If `body` throws, the COPY is aborted and nothing it wrote is kept.
    @discardableResult
    public func copyFrom(
        isolation: isolated (any Actor)? = #isolation,
        table: String, columns: [String],
        _ body: (CopyWriter) async throws -> Void
    ) async throws -> Int {
        let statement = "COPY \(quoteIdentifier(table)) (\(columns.map(quoteIdentifier).joined(separator: ", "))) FROM STDIN (FORMAT binary)"
        try await worker.run {
            try self.withPG { pg in
                let result = try self.check(PQexec(pg, statement))
                defer { PQclear(result) }
                guard PQresultStatus(result) == PGRES_COPY_IN else {
                    throw PostgresError(.usage, "COPY did not enter copy-in mode")
                }
            }
        }
        let writer = CopyWriter(connection: self, columnCount: columns.count)
        do {
            try await body(writer)
            try await writer.finishRows()
        } catch {
            let reason = "aborted by client"
            _ = try? await worker.run { try self.endCopy(error: reason) }
            throw error
        }
        return try await worker.run { try self.endCopy(error: nil) }
    }

    /// Sends one chunk of COPY data (on the worker thread).
    func putCopyData(_ chunk: [UInt8]) async throws {
        try await worker.run {
            try self.withPG { pg in
                let ok = chunk.withUnsafeBufferPointer { buffer in
                    buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                        PQputCopyData(pg, $0, Int32(buffer.count))
                    }
                }
                if ok != 1 { throw self.lostDuringCopy(pg) }
            }
        }
    }

    private func lostDuringCopy(_ pg: OpaquePointer) -> PostgresError {
        PostgresError(.connectionClosed, "COPY failed: " + oneLine(String(cString: PQerrorMessage(pg))))
    }

    /// Ends the COPY (or aborts it with `error`) and drains its results.
    private func endCopy(error: String?) throws -> Int {
        try withPG { pg in
            guard PQputCopyEnd(pg, error) == 1 else { throw lostDuringCopy(pg) }
            var rows = 0
            var failure: PostgresError?
            while let result = PQgetResult(pg) {
                let status = PQresultStatus(result)
                if status == PGRES_COMMAND_OK {
                    rows = Int(String(cString: PQcmdTuples(result))) ?? 0
                } else if status != PGRES_COPY_IN && failure == nil {
                    failure = serverError(result)
                }
                PQclear(result)
            }
            if let failure, error == nil { throw failure }
            return rows
        }
    }
}

/// Encodes rows in PostgreSQL's binary COPY format and flushes them in chunks.
public final class CopyWriter {
    private let connection: Connection
    private let columnCount: Int
    private var buffer: [UInt8] = []
    private static let flushThreshold = 256 * 1024
    /// Rows appended so far.
    public private(set) var rowCount = 0

    init(connection: Connection, columnCount: Int) {
        self.connection = connection
        self.columnCount = columnCount
        buffer.reserveCapacity(Self.flushThreshold + 4096)
        buffer.append(contentsOf: Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00])
        appendBigEndian(Int32(0), to: &buffer)  // flags
        appendBigEndian(Int32(0), to: &buffer)  // header extension length
    }

    /// Appends one row; values in column order, `nil` optionals as NULL.
    public func append<each T: PostgresEncodable>(_ value: repeat each T) async throws {
        let start = buffer.count
        appendBigEndian(Int16(0), to: &buffer)
        var fields = 0
        for v in repeat each value {
            fields += 1
            if v.isPostgresNull {
                appendBigEndian(Int32(-1), to: &buffer)
            } else {
                let lengthAt = buffer.count
                appendBigEndian(Int32(0), to: &buffer)
                v.encode(into: &buffer)
                let length = Int32(buffer.count - lengthAt - 4).bigEndian
                withUnsafeBytes(of: length) { bytes in
                    for i in 0..<4 { buffer[lengthAt + i] = bytes[i] }
                }
            }
        }
        guard fields == columnCount else {
            buffer.removeSubrange(start...)
            throw PostgresError(.usage, "COPY row has \(fields) values for \(columnCount) columns")
        }
        let count = Int16(fields).bigEndian
        withUnsafeBytes(of: count) { bytes in
            buffer[start] = bytes[0]
            buffer[start + 1] = bytes[1]
        }
        rowCount += 1
        if buffer.count >= Self.flushThreshold { try await flush() }
    }

    func flush() async throws {
        guard !buffer.isEmpty else { return }
        let chunk = buffer
        buffer.removeAll(keepingCapacity: true)
        try await connection.putCopyData(chunk)
    }

    func finishRows() async throws {
        appendBigEndian(Int16(-1), to: &buffer)  // trailer
        try await flush()
    }
}

/// Quotes an identifier chosen by code (table and column names): `"name"`.
public func quoteIdentifier(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

import Foundation
