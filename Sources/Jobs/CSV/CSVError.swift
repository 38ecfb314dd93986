/// A problem found while reading a CSV file, with its 1-based position.
///
/// Lines count physical lines (the header is line 1; a newline inside a quoted field
/// starts a new line). Columns count Unicode scalars from the start of the line, so a
/// column points at the same character an editor shows.
public struct CSVError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The file has no bytes (or only a byte-order mark).
        case emptyFile
        /// The file has a header row and nothing else.
        case headerOnly
        /// A quoted field is never closed; reported where its opening quote is.
        case unterminatedQuote
        /// A `"` inside a field that did not start with a quote.
        case strayQuote
        /// Something other than `,` or a line end right after a closing quote.
        case textAfterClosingQuote
        /// A data row with more or fewer fields than the header.
        case wrongFieldCount(expected: Int, found: Int)
        /// Bytes that are not UTF-8.
        case invalidUTF8
        /// A NUL byte, which no SMS body or database text column can carry.
        case nulByte
        /// A field longer than the reader's limit, in bytes.
        case fieldTooLong(limit: Int)
        /// The header names the same column twice.
        case duplicateHeader(String)
        /// A header cell that is empty.
        case emptyHeader
        /// The file could not be opened or read.
        case unreadable(String)
        /// The path names a FIFO, a device, a directory or a socket.
        case notARegularFile
        /// The file is larger than the reader's limit, in bytes.
        case fileTooLarge(limit: Int)
    }

    public var kind: Kind
    public var line: Int
    public var column: Int

    public init(_ kind: Kind, line: Int, column: Int) {
        self.kind = kind
        self.line = line
        self.column = column
    }

    /// True when the reader cannot go on after this error (the rest of the file has no
    /// reliable row boundaries, or there is nothing more to read). Other errors affect
    /// one row only: the reader has skipped to the end of that row and can continue.
    public var isFatal: Bool {
        switch kind {
        case .emptyFile, .headerOnly, .unterminatedQuote, .unreadable, .notARegularFile, .fileTooLarge, .duplicateHeader, .emptyHeader: true
        default: false
        }
    }

    /// The message without its position.
    public var message: String {
        switch kind {
        case .emptyFile: "the file is empty: a header row with a 'to' column is required"
        case .headerOnly: "the file has a header row but no data rows"
        case .unterminatedQuote: "unterminated quoted field: the quote opened here is never closed"
        case .strayQuote: "stray '\"' inside an unquoted field (quote the whole field and double the quote: \"\"\"\")"
        case .textAfterClosingQuote: "unexpected text after a closing quote (expected ',' or end of line)"
        case let .wrongFieldCount(expected, found): "expected \(expected) field\(expected == 1 ? "" : "s") as in the header, found \(found)"
        case .invalidUTF8: "invalid UTF-8 (the file must be UTF-8 encoded)"
        case .nulByte: "NUL byte in the data"
        case let .fieldTooLong(limit): "field is longer than \(limit) bytes"
        case let .duplicateHeader(name): "duplicate column name '\(name)' in the header"
        case .emptyHeader: "empty column name in the header"
        case let .unreadable(reason): "cannot read the file: \(reason)"
        case .notARegularFile: "not a regular file (a FIFO, device, directory or socket is never read)"
        case let .fileTooLarge(limit): "the file is larger than \(limit) bytes"
        }
    }

    public var description: String { "\(line):\(column): \(message)" }
}
