// Fuzz target `csv`: the streaming CSV reader (Sources/Jobs/CSV).
//
// Checks beyond "does not crash":
// - the rows and errors do not depend on the chunk size the input is read in (the reader
//   claims any chunk size gives the same result), with the default limits and with small ones;
// - the reader never holds more than one row;
// - a file read without errors, written back with every field quoted, reads back the same.
@testable import Jobs

private struct Outcome: Equatable {
    var header: CSVRow?
    var rows: [CSVRow] = []
    var errors: [CSVError] = []
}

private func readAll(_ bytes: [UInt8], _ configuration: CSVReader.Configuration) -> Outcome {
    let reader = CSVReader(bytes: bytes, configuration: configuration)
    var outcome = Outcome()
    var calls = 0
    while true {
        calls += 1
        // Every call consumes at least one row (one byte) or ends the reader.
        if calls > bytes.count + 3 { fatalError("CSVReader.next() does not advance") }
        do {
            guard let row = try reader.next() else { break }
            outcome.rows.append(row)
        } catch {
            outcome.errors.append(error)
            if error.isFatal { break }
        }
    }
    if reader.statistics.peakRowsHeld > 1 { fatalError("the reader held \(reader.statistics.peakRowsHeld) rows") }
    outcome.header = reader.header
    return outcome
}

private func quoted(_ fields: [String]) -> String {
    fields.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }.joined(separator: ",")
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        var out = ""
        for c in unicodeScalars {
            if String(c) == target { out += replacement } else { out.unicodeScalars.append(c) }
        }
        return out
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let small = 1 + size % 4

    let whole = readAll(bytes, .init())
    let pieces = readAll(bytes, .init(chunkSize: small))
    if whole != pieces { fatalError("chunk size \(small) changes the result:\n\(whole)\nvs\n\(pieces)") }

    let tight = readAll(bytes, .init(maxFieldBytes: 8, maxFields: 3))
    let tightPieces = readAll(bytes, .init(chunkSize: small, maxFieldBytes: 8, maxFields: 3))
    if tight != tightPieces { fatalError("chunk size \(small) changes the result with small limits:\n\(tight)\nvs\n\(tightPieces)") }

    if whole.errors.isEmpty, let header = whole.header {
        let text = ([header.fields] + whole.rows.map(\.fields)).map(quoted).joined(separator: "\r\n")
        let again = readAll(Array(text.utf8), .init())
        if !again.errors.isEmpty || again.header?.fields != header.fields || again.rows.map(\.fields) != whole.rows.map(\.fields) {
            fatalError("written back and read again differs:\n\(whole)\nvs\n\(again)")
        }
    }
    return 0
}
