/// One record of a CSV file, with where it came from.
public struct CSVRow: Sendable, Hashable {
    /// The decoded fields, quotes removed and doubled quotes undone.
    public var fields: [String]
    /// The physical line the record starts on (the header is line 1).
    public var line: Int
    /// For each field, the column (1-based, in Unicode scalars) where it starts on its
    /// line; a quoted field starts at its opening quote.
    public var columns: [Int]
    /// The line each field starts on: differs from `line` after a quoted newline.
    public var fieldLines: [Int]

    public init(fields: [String], line: Int, columns: [Int], fieldLines: [Int]) {
        self.fields = fields
        self.line = line
        self.columns = columns
        self.fieldLines = fieldLines
    }
}
