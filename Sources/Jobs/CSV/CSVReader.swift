#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A streaming RFC 4180 CSV reader that works on bytes.
///
/// It reads its input in fixed-size chunks and hands out one record at a time, so a
/// file of any length is read in bounded memory: the chunk buffer, one field being
/// assembled (at most `maxFieldBytes`) and the one row being returned. `statistics`
/// counts what it holds so tests can check that bound.
///
/// Accepted: a header row, quoted fields with embedded commas, doubled quotes and line
/// breaks, LF or CRLF line ends (a lone CR also ends a line), an optional UTF-8
/// byte-order mark, a final line with or without a line end. Blank lines between rows
/// are skipped. Header names are trimmed of surrounding spaces and must be unique.
///
/// Errors carry a 1-based line and column (see `CSVError`). A row-level error (wrong
/// field count, stray quote, invalid UTF-8, NUL, an over-long field) is thrown after
/// the reader has consumed that whole row, so the caller may report it and call
/// `next()` again. After a fatal error (`CSVError.isFatal`) `next()` returns nil.
///
/// Not `Sendable`: a reader owns a file descriptor and a cursor and is meant to be
/// used by one task from start to end. The rows it returns are `Sendable`.
public final class CSVReader {
    public struct Configuration: Sendable, Hashable {
        /// Bytes read from the file at a time.
        public var chunkSize: Int
        /// The longest field accepted, in bytes (after removing quotes).
        public var maxFieldBytes: Int
        /// The most fields a row may have; more are counted but not kept.
        public var maxFields: Int
        /// The largest CSV file read, in bytes: a larger one is refused before any row.
        public var maxFileBytes: Int

        public static let defaultMaxFileBytes = 1 << 30

        public init(chunkSize: Int = 64 * 1024, maxFieldBytes: Int = 64 * 1024, maxFields: Int = 1024,
                    maxFileBytes: Int = Configuration.defaultMaxFileBytes) {
            self.chunkSize = max(1, chunkSize)
            self.maxFieldBytes = max(1, maxFieldBytes)
            self.maxFields = max(1, maxFields)
            self.maxFileBytes = max(1, maxFileBytes)
        }
    }

    /// What the reader has read and the most it has held at once.
    public struct Statistics: Sendable, Hashable {
        /// Data rows handed out or reported as errors (the header is not counted).
        public var rowsRead = 0
        /// Rows assembled inside the reader and not yet handed out, right now.
        public var rowsHeld = 0
        /// The largest `rowsHeld` has ever been.
        public var peakRowsHeld = 0
        /// The largest the reader's own byte buffers (chunk + field) have been.
        public var peakBufferBytes = 0
    }

    private enum Source {
        case file(Int32)
        case memory([UInt8], offset: Int)
        case exhausted
    }

    public let configuration: Configuration
    public private(set) var statistics = Statistics()
    /// The header row, once read (by `readHeader()` or the first `next()`).
    public private(set) var header: CSVRow?

    private var source: Source
    private var buffer: [UInt8]
    private var pos = 0
    private var end = 0
    private var atStart = true
    private var finished = false
    private var line = 1
    private var column = 1
    private var field: [UInt8] = []
    /// Bytes read from the file so far (a file that grows past the cap is cut off).
    private var bytesRead = 0

    /// Opens a file for reading. Throws `.unreadable` (at line 0) when it cannot.
    /// Only a regular file is read (never a FIFO, a device or a directory: opening one does
    /// not block), and only up to `maxFileBytes`, checked before reading and while reading.
    public init(path: String, configuration: Configuration = Configuration()) throws(CSVError) {
        let fd: Int32
        switch openRegularFile(path, maxBytes: configuration.maxFileBytes) {
        case .success(let opened): fd = opened
        case .failure(.unreadable(let reason)): throw CSVError(.unreadable(reason), line: 0, column: 0)
        case .failure(.notRegular): throw CSVError(.notARegularFile, line: 0, column: 0)
        case .failure(.tooLarge): throw CSVError(.fileTooLarge(limit: configuration.maxFileBytes), line: 0, column: 0)
        }
        self.configuration = configuration
        self.source = .file(fd)
        self.buffer = [UInt8](repeating: 0, count: configuration.chunkSize)
        field.reserveCapacity(min(configuration.maxFieldBytes, 4096))
    }

    /// Reads CSV held in memory (tests, small inputs), still chunk by chunk.
    public init(bytes: [UInt8], configuration: Configuration = Configuration()) {
        self.configuration = configuration
        self.source = .memory(bytes, offset: 0)
        self.buffer = [UInt8](repeating: 0, count: configuration.chunkSize)
        field.reserveCapacity(min(configuration.maxFieldBytes, 4096))
    }

    public convenience init(string: String, configuration: Configuration = Configuration()) {
        self.init(bytes: Array(string.utf8), configuration: configuration)
    }

    deinit {
        if case let .file(fd) = source { _ = close(fd) }
    }

    // MARK: Rows

    /// Reads and checks the header row (idempotent).
    @discardableResult
    public func readHeader() throws(CSVError) -> CSVRow {
        if let header { return header }
        if finished { throw CSVError(.emptyFile, line: 1, column: 1) }
        let record = try readRecordOrFinish()
        guard let record else {
            finish()
            throw CSVError(.emptyFile, line: 1, column: 1)
        }
        if let error = record.error {
            finish()
            throw error
        }
        var row = record.row
        var seen = Set<String>()
        for i in row.fields.indices {
            let name = row.fields[i].trimmingASCIISpaces()
            row.fields[i] = name
            if name.isEmpty {
                finish()
                throw CSVError(.emptyHeader, line: row.fieldLines[i], column: row.columns[i])
            }
            if !seen.insert(name).inserted {
                finish()
                throw CSVError(.duplicateHeader(name), line: row.fieldLines[i], column: row.columns[i])
            }
        }
        if record.fieldCount > row.fields.count {
            finish()
            throw CSVError(.wrongFieldCount(expected: configuration.maxFields, found: record.fieldCount), line: row.line, column: 1)
        }
        header = row
        return row
    }

    /// The next record; a malformed one ends the reader before its error is thrown.
    private func readRecordOrFinish() throws(CSVError) -> Record? {
        do {
            return try readRecord()
        } catch {
            finish()
            throw error
        }
    }

    /// The next data row; nil at the end of the file or after a fatal error.
    public func next() throws(CSVError) -> CSVRow? {
        if finished { return nil }
        let header = try readHeader()
        if finished { return nil }
        let record = try readRecordOrFinish()
        guard let record else {
            finish()
            if statistics.rowsRead == 0 { throw CSVError(.headerOnly, line: 1, column: 1) }
            return nil
        }
        statistics.rowsRead += 1
        statistics.rowsHeld = 0
        if let error = record.error { throw error }
        let expected = header.fields.count
        if record.fieldCount != expected {
            let kind = CSVError.Kind.wrongFieldCount(expected: expected, found: record.fieldCount)
            // At the first field too many, when it was kept (fields past `maxFields` are not).
            if record.fieldCount > expected, expected < record.row.fieldLines.count {
                throw CSVError(kind, line: record.row.fieldLines[expected], column: record.row.columns[expected])
            }
            throw CSVError(kind, line: record.endLine, column: record.endColumn)
        }
        return record.row
    }

    private func finish() {
        finished = true
        if case let .file(fd) = source { _ = close(fd) }
        source = .exhausted
    }

    // MARK: Records

    private struct Record {
        var row: CSVRow
        /// Fields in the row, including any beyond `maxFields` that were not kept.
        var fieldCount: Int
        /// The first row-level error, reported once the row has been read to its end.
        var error: CSVError?
        var endLine: Int
        var endColumn: Int
    }

    private static let comma = UInt8(ascii: ",")
    private static let quote = UInt8(ascii: "\"")
    private static let lf = UInt8(ascii: "\n")
    private static let cr = UInt8(ascii: "\r")

    /// Reads one record up to and including its line end; nil at the end of input.
    private func readRecord() throws(CSVError) -> Record? {
        if atStart {
            atStart = false
            try skipByteOrderMark()
        }
        // Blank lines between records are skipped.
        while let b = try peek() {
            if b == Self.lf {
                pos += 1; newLine()
            } else if b == Self.cr {
                pos += 1
                if try peek() == Self.lf { pos += 1 }
                newLine()
            } else {
                break
            }
        }
        guard try peek() != nil else { return nil }

        statistics.rowsHeld = 1
        statistics.peakRowsHeld = max(statistics.peakRowsHeld, statistics.rowsHeld)
        var row = CSVRow(fields: [], line: line, columns: [], fieldLines: [])
        var fieldCount = 0
        var error: CSVError?
        func note(_ kind: CSVError.Kind, _ l: Int, _ c: Int) {
            if error == nil { error = CSVError(kind, line: l, column: c) }
        }

        while true {
            field.removeAll(keepingCapacity: true)
            let fieldLine = line, fieldColumn = column
            var tooLong = false
            var highBits: UInt8 = 0
            var quoted = false
            if try peek() == Self.quote {
                quoted = true
                pos += 1; column += 1
                quotedLoop: while true {
                    let stop = try scan(&tooLong, &highBits, quoted: true, fieldLine: fieldLine, fieldColumn: fieldColumn, note: note)
                    if !stop {
                        throw CSVError(.unterminatedQuote, line: fieldLine, column: fieldColumn)
                    }
                    let b = buffer[pos]
                    pos += 1
                    switch b {
                    case Self.quote:
                        column += 1
                        if try peek() == Self.quote {
                            pos += 1; column += 1
                            append(Self.quote, &tooLong, fieldLine, fieldColumn, note)
                        } else {
                            break quotedLoop
                        }
                    case Self.lf:
                        append(Self.lf, &tooLong, fieldLine, fieldColumn, note)
                        newLine()
                    default: // NUL
                        note(.nulByte, line, column)
                        column += 1
                    }
                }
                if let b = try peek(), b != Self.comma, b != Self.lf, b != Self.cr {
                    note(.textAfterClosingQuote, line, column)
                }
            }
            // Unquoted content (or, leniently, text after a closing quote).
            while true {
                _ = try scan(&tooLong, &highBits, quoted: false, fieldLine: fieldLine, fieldColumn: fieldColumn, note: note)
                guard let b = try peek() else { break }
                if b == Self.quote {
                    if !quoted { note(.strayQuote, line, column) }
                    pos += 1; column += 1
                    append(Self.quote, &tooLong, fieldLine, fieldColumn, note)
                } else if b == 0 {
                    note(.nulByte, line, column)
                    pos += 1; column += 1
                } else {
                    break
                }
            }

            fieldCount += 1
            if fieldCount <= configuration.maxFields {
                let text: String
                if highBits & 0x80 == 0 {
                    text = String(decoding: field, as: UTF8.self)
                } else if let position = firstInvalidUTF8(startLine: fieldLine, startColumn: fieldColumn + (quoted ? 1 : 0)) {
                    note(.invalidUTF8, position.line, position.column)
                    text = ""
                } else {
                    text = String(decoding: field, as: UTF8.self)
                }
                row.fields.append(text)
                row.columns.append(fieldColumn)
                row.fieldLines.append(fieldLine)
            }

            let endLine = line, endColumn = column
            let terminator = try peek()
            if terminator == Self.comma {
                pos += 1; column += 1
                continue
            }
            if terminator == Self.cr {
                pos += 1
                if try peek() == Self.lf { pos += 1 }
                newLine()
            } else if terminator == Self.lf {
                pos += 1
                newLine()
            }
            return Record(row: row, fieldCount: fieldCount, error: error, endLine: endLine, endColumn: endColumn)
        }
    }

    /// Consumes ordinary field bytes up to the next special byte, appending them to the
    /// field. Specials are `"` `\n` NUL inside quotes, and `"` `,` `\r` `\n` NUL outside.
    /// Returns false when the input ended before a special byte was found.
    private func scan(
        _ tooLong: inout Bool, _ highBits: inout UInt8, quoted: Bool,
        fieldLine: Int, fieldColumn: Int, note: (CSVError.Kind, Int, Int) -> Void
    ) throws(CSVError) -> Bool {
        while true {
            if pos == end {
                if try !refill() { return false }
            }
            let start = pos
            var columns = 0
            var bits: UInt8 = 0
            let stop: Int = buffer.withUnsafeBufferPointer { p in
                var i = start
                let limit = end
                if quoted {
                    while i < limit {
                        let b = p[i]
                        if b == Self.quote || b == Self.lf || b == 0 { break }
                        bits |= b
                        if b & 0xC0 != 0x80 { columns += 1 }
                        i += 1
                    }
                } else {
                    while i < limit {
                        let b = p[i]
                        if b == Self.comma || b == Self.lf || b == Self.cr || b == Self.quote || b == 0 { break }
                        bits |= b
                        if b & 0xC0 != 0x80 { columns += 1 }
                        i += 1
                    }
                }
                return i
            }
            if stop > start {
                if !tooLong && field.count + (stop - start) <= configuration.maxFieldBytes {
                    field.append(contentsOf: buffer[start..<stop])
                    statistics.peakBufferBytes = max(statistics.peakBufferBytes, buffer.capacity + field.capacity)
                } else if !tooLong {
                    tooLong = true
                    note(.fieldTooLong(limit: configuration.maxFieldBytes), fieldLine, fieldColumn)
                }
            }
            highBits |= bits
            column += columns
            pos = stop
            if stop < end { return true }
        }
    }

    private func append(_ byte: UInt8, _ tooLong: inout Bool, _ fieldLine: Int, _ fieldColumn: Int, _ note: (CSVError.Kind, Int, Int) -> Void) {
        if tooLong { return }
        if field.count < configuration.maxFieldBytes {
            field.append(byte)
        } else {
            tooLong = true
            note(.fieldTooLong(limit: configuration.maxFieldBytes), fieldLine, fieldColumn)
        }
    }

    /// Where the first invalid UTF-8 sequence of the current field is, or nil if valid.
    private func firstInvalidUTF8(startLine: Int, startColumn: Int) -> (line: Int, column: Int)? {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = field.makeIterator()
        var l = startLine, c = startColumn
        while true {
            switch parser.parseScalar(from: &iterator) {
            case let .valid(scalar):
                if scalar.count == 1 && scalar.first == Self.lf { l += 1; c = 1 } else { c += 1 }
            case .emptyInput:
                return nil
            case .error:
                return (l, c)
            }
        }
    }

    // MARK: Input

    private func newLine() {
        line += 1
        column = 1
    }

    private func peek() throws(CSVError) -> UInt8? {
        if pos == end {
            guard try refill() else { return nil }
        }
        return buffer[pos]
    }

    private func skipByteOrderMark() throws(CSVError) {
        guard try peek() == 0xEF else { return }
        // The mark may straddle a chunk boundary only with absurdly small chunks; read
        // it byte by byte so any chunk size works.
        let mark: [UInt8] = [0xEF, 0xBB, 0xBF]
        var consumed: [UInt8] = []
        while consumed.count < 3, let b = try peek(), b == mark[consumed.count] {
            consumed.append(b)
            pos += 1
        }
        if consumed.count != 3 && !consumed.isEmpty {
            // Not a byte-order mark: it is data (and invalid UTF-8). Put it back in front of
            // the unread bytes: everything before `pos` in the buffer is part of it, but its
            // first bytes may have been in an earlier chunk.
            buffer.replaceSubrange(0..<pos, with: consumed)
            end += consumed.count - pos
            pos = 0
        }
    }

    /// Replaces the buffer with the next chunk; false at the end of input.
    private func refill() throws(CSVError) -> Bool {
        pos = 0
        end = 0
        switch source {
        case .exhausted:
            return false
        case let .memory(bytes, offset):
            let n = min(configuration.chunkSize, bytes.count - offset)
            if n <= 0 {
                source = .exhausted
                return false
            }
            buffer.withUnsafeMutableBufferPointer { dst in
                bytes.withUnsafeBufferPointer { src in
                    dst.baseAddress!.update(from: src.baseAddress! + offset, count: n)
                }
            }
            source = .memory(bytes, offset: offset + n)
            end = n
        case let .file(fd):
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 {
                    if errno == EINTR { continue }
                    let reason = String(cString: strerror(errno))
                    finish()
                    throw CSVError(.unreadable(reason), line: line, column: column)
                }
                if n == 0 {
                    _ = close(fd)
                    source = .exhausted
                    return false
                }
                bytesRead += n
                if bytesRead > configuration.maxFileBytes {
                    finish()
                    throw CSVError(.fileTooLarge(limit: configuration.maxFileBytes), line: line, column: column)
                }
                end = n
                break
            }
        }
        statistics.peakBufferBytes = max(statistics.peakBufferBytes, buffer.capacity + field.capacity)
        return true
    }
}

extension String {
    /// The string without leading and trailing spaces and tabs.
    func trimmingASCIISpaces() -> String {
        let utf8 = self.utf8
        guard let first = utf8.firstIndex(where: { $0 != 0x20 && $0 != 0x09 }) else { return "" }
        let last = utf8.lastIndex(where: { $0 != 0x20 && $0 != 0x09 })!
        return String(self[first...last])
    }
}
