import Foundation
@testable import Jobs

/// Reads every row and error of a CSV text, the way a caller would.
func readAll(_ bytes: [UInt8], configuration: CSVReader.Configuration = .init()) -> (rows: [CSVRow], errors: [CSVError]) {
    let reader = CSVReader(bytes: bytes, configuration: configuration)
    var rows: [CSVRow] = []
    var errors: [CSVError] = []
    while true {
        do {
            guard let row = try reader.next() else { break }
            rows.append(row)
        } catch {
            errors.append(error)
            if error.isFatal { break }
        }
    }
    return (rows, errors)
}

func readAll(_ text: String, configuration: CSVReader.Configuration = .init()) -> (rows: [CSVRow], errors: [CSVError]) {
    readAll(Array(text.utf8), configuration: configuration)
}

/// A fresh temporary directory for one test.
func makeTemporaryDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("jobs-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func write(_ text: String, to path: String) throws {
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
}

/// A fixed "now" for validation: 2026-11-20T12:00:00Z.
let fixedNow = Date(timeIntervalSince1970: 1_795_176_000)

func date(_ iso: String) -> Date {
    try! Timestamp.parse(iso)
}
