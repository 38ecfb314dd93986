import Foundation
import Testing
@testable import Jobs

@Suite struct CSVReaderTests {
    // MARK: RFC 4180 corner cases

    @Test func quotedFieldsWithCommasQuotesAndNewlines() {
        let text = "to,body\n1,\"a, b\"\n2,\"she said \"\"hi\"\"\"\n3,\"line one\nline two\"\n4,plain\n"
        let (rows, errors) = readAll(text)
        #expect(errors.isEmpty)
        #expect(rows.map(\.fields) == [["1", "a, b"], ["2", "she said \"hi\""], ["3", "line one\nline two"], ["4", "plain"]])
        // Lines are physical lines: the row after a quoted newline starts on line 6.
        #expect(rows.map(\.line) == [2, 3, 4, 6])
        #expect(rows[1].columns == [1, 3])
    }

    @Test func crlfAndLF() {
        let crlf = readAll("a,b\r\n1,2\r\n3,\"x\r\ny\"\r\n")
        #expect(crlf.errors.isEmpty)
        #expect(crlf.rows.map(\.fields) == [["1", "2"], ["3", "x\r\ny"]])
        #expect(crlf.rows.map(\.line) == [2, 3])
        let mixed = readAll("a,b\n1,2\r\n3,4\n")
        #expect(mixed.rows.map(\.fields) == [["1", "2"], ["3", "4"]])
    }

    @Test func byteOrderMarkIsSkipped() throws {
        let (rows, errors) = readAll([0xEF, 0xBB, 0xBF] + Array("to,x\n1,2\n".utf8))
        #expect(errors.isEmpty)
        #expect(rows.map(\.fields) == [["1", "2"]])
        let reader = CSVReader(bytes: [0xEF, 0xBB, 0xBF] + Array("to,x\n1,2\n".utf8))
        let header = try reader.readHeader()
        #expect(header.fields == ["to", "x"])
        #expect(header.columns == [1, 4])
    }

    @Test func noTrailingNewline() {
        #expect(readAll("a,b\n1,2").rows.map(\.fields) == [["1", "2"]])
        #expect(readAll("a,b\n1,\"2\"").rows.map(\.fields) == [["1", "2"]])
        #expect(readAll("a,b\n1,").rows.map(\.fields) == [["1", ""]])
    }

    @Test func emptyFieldsAndBlankLines() {
        let (rows, errors) = readAll("a,b,c\n,,\n\"\",x,\n\n\r\n1,2,3\n\n")
        #expect(errors.isEmpty)
        #expect(rows.map(\.fields) == [["", "", ""], ["", "x", ""], ["1", "2", "3"]])
        #expect(rows.map(\.line) == [2, 3, 6])
    }

    @Test func headerNamesAreTrimmed() throws {
        let reader = CSVReader(string: " to , name\n1,2\n")
        #expect(try reader.readHeader().fields == ["to", "name"])
    }

    @Test func columnsCountCharactersNotBytes() {
        let (_, errors) = readAll("to,name\nélan,\"x\" y\n")
        #expect(errors == [CSVError(.textAfterClosingQuote, line: 2, column: 9)])
    }

    @Test func anyChunkSizeGivesTheSameResult() {
        let text = "\u{FEFF}to,body,x\r\n1,\"a, \"\"b\"\"\r\nc\",é€😀\n\n2,,\"\"\n3,plain,\"q\""
        let expected = readAll(text)
        #expect(expected.errors.isEmpty)
        #expect(expected.rows.count == 3)
        for chunk in 1...9 {
            let got = readAll(text, configuration: .init(chunkSize: chunk))
            #expect(got.rows == expected.rows, "chunk size \(chunk)")
            #expect(got.errors.isEmpty, "chunk size \(chunk)")
        }
    }

    /// Bytes that start like a byte-order mark but are not one are data, even when the mark
    /// would straddle a chunk boundary (found by fuzzing: with 1-byte chunks the reader used to
    /// stop at 1:1 with invalid UTF-8 instead of reading the row).
    @Test func partialByteOrderMarkIsDataWhateverTheChunkSize() {
        for bytes: [UInt8] in [[0xEF, 0x00, 0x01, 0x00], [0xEF, 0xBB, 0x41, 0x0A, 0x31, 0x0A], [0xEF], [0xEF, 0xBB]] {
            let expected = readAll(bytes)
            for chunk in 1...4 {
                let got = readAll(bytes, configuration: .init(chunkSize: chunk))
                #expect(got.rows == expected.rows, "\(bytes) chunk size \(chunk)")
                #expect(got.errors == expected.errors, "\(bytes) chunk size \(chunk)")
            }
        }
        #expect(readAll([0xEF, 0x00, 0x01, 0x00], configuration: .init(chunkSize: 1)).errors == [CSVError(.nulByte, line: 1, column: 2)])
    }

    /// A header with as many columns as `maxFields` and a row with more used to crash the
    /// reader (an index past the fields it keeps); found by fuzzing. With the default limits
    /// that is a 1,024-column header, so a hostile file could stop `submit` or the spool.
    @Test func rowWithMoreFieldsThanTheLimitAfterAFullHeaderIsAnError() {
        let (rows, errors) = readAll("a,b,c\n1,2,3,4\n5,6,7\n", configuration: .init(maxFields: 3))
        #expect(rows.map(\.fields) == [["5", "6", "7"]])
        #expect(errors == [CSVError(.wrongFieldCount(expected: 3, found: 4), line: 2, column: 8)])

        let header = (1...1024).map { "c\($0)" }.joined(separator: ",")
        let wide = readAll(header + "\n" + String(repeating: "x,", count: 1024) + "x\n")
        #expect(wide.rows.isEmpty)
        #expect(wide.errors.map(\.kind) == [.wrongFieldCount(expected: 1024, found: 1025)])
    }

    // MARK: Errors with positions

    @Test func unterminatedQuoteIsReportedWhereItOpens() {
        let (rows, errors) = readAll("to,body\n1,ok\n2,\"never closed\n3,x\n")
        #expect(rows.map(\.fields) == [["1", "ok"]])
        #expect(errors == [CSVError(.unterminatedQuote, line: 3, column: 3)])
        #expect(errors[0].isFatal)
        #expect(errors[0].description == "3:3: unterminated quoted field: the quote opened here is never closed")
    }

    @Test func tooManyFieldsPointsAtTheFirstExtraField() {
        let (rows, errors) = readAll("to,body\n1,a,b\n2,c\n")
        #expect(errors == [CSVError(.wrongFieldCount(expected: 2, found: 3), line: 2, column: 5)])
        #expect(rows.map(\.fields) == [["2", "c"]], "the reader recovers at the next row")
    }

    @Test func tooFewFieldsPointsAtTheEndOfTheRow() {
        let (_, errors) = readAll("to,body,x\n12,a\n")
        #expect(errors == [CSVError(.wrongFieldCount(expected: 3, found: 2), line: 2, column: 5)])
        #expect(errors[0].message == "expected 3 fields as in the header, found 2")
    }

    @Test func invalidUTF8() {
        let bytes = Array("to,body\n1,x".utf8) + [0xFF] + Array("y\n2,ok\n".utf8)
        let (rows, errors) = readAll(bytes)
        #expect(errors == [CSVError(.invalidUTF8, line: 2, column: 4)])
        #expect(rows.map(\.fields) == [["2", "ok"]])
        // Inside a quoted field, after a newline.
        let quoted = Array("to,body\n1,\"ab\nc".utf8) + [0xC3, 0x28] + Array("\"\n".utf8)
        #expect(readAll(quoted).errors == [CSVError(.invalidUTF8, line: 3, column: 2)])
        // A truncated sequence at the very end of the file.
        #expect(readAll(Array("to\n1".utf8) + [0xE2, 0x82]).errors == [CSVError(.invalidUTF8, line: 2, column: 2)])
    }

    @Test func invalidUTF8InTheHeaderIsFatal() {
        let (_, errors) = readAll([0x74, 0x6F, 0xFF] + Array("\n1\n".utf8))
        #expect(errors == [CSVError(.invalidUTF8, line: 1, column: 3)])
    }

    @Test func emptyFile() {
        #expect(readAll("").errors == [CSVError(.emptyFile, line: 1, column: 1)])
        #expect(readAll([0xEF, 0xBB, 0xBF]).errors == [CSVError(.emptyFile, line: 1, column: 1)])
        #expect(readAll("\n\n").errors == [CSVError(.emptyFile, line: 1, column: 1)])
    }

    @Test func headerOnly() {
        #expect(readAll("to,name\n").errors == [CSVError(.headerOnly, line: 1, column: 1)])
        #expect(readAll("to,name").errors == [CSVError(.headerOnly, line: 1, column: 1)])
    }

    @Test func duplicateAndEmptyHeaderNames() {
        #expect(readAll("to,name,to\n1,2,3\n").errors == [CSVError(.duplicateHeader("to"), line: 1, column: 9)])
        #expect(readAll("to,,x\n1,2,3\n").errors == [CSVError(.emptyHeader, line: 1, column: 4)])
    }

    @Test func strayQuoteInAnUnquotedField() {
        let (rows, errors) = readAll("to,body\n1,ab\"c\n2,ok\n")
        #expect(errors == [CSVError(.strayQuote, line: 2, column: 5)])
        #expect(rows.map(\.fields) == [["2", "ok"]])
    }

    @Test func nulBytesAreRejected() {
        let (rows, errors) = readAll(Array("to,body\n1,x".utf8) + [0] + Array("y\n2,\"a".utf8) + [0] + Array("\"\n3,ok\n".utf8))
        #expect(errors == [CSVError(.nulByte, line: 2, column: 4), CSVError(.nulByte, line: 3, column: 5)])
        #expect(rows.map(\.fields) == [["3", "ok"]])
    }

    @Test func overlongFieldIsAClearErrorAndTheReaderRecovers() {
        let big = String(repeating: "x", count: 5 * 1024 * 1024)
        let (rows, errors) = readAll("to,body\n1,\(big)\n2,\"\(big)\"\n3,ok\n")
        #expect(errors == [
            CSVError(.fieldTooLong(limit: 65_536), line: 2, column: 3),
            CSVError(.fieldTooLong(limit: 65_536), line: 3, column: 3),
        ])
        #expect(errors.first?.message == "field is longer than 65536 bytes")
        #expect(rows.map(\.fields) == [["3", "ok"]])
    }

    @Test func fieldAtTheLimitIsAccepted() {
        let exact = String(repeating: "y", count: 16)
        let (rows, errors) = readAll("to,body\n1,\(exact)\n2,\(exact)z\n", configuration: .init(maxFieldBytes: 16))
        #expect(rows.map(\.fields) == [["1", exact]])
        #expect(errors == [CSVError(.fieldTooLong(limit: 16), line: 3, column: 3)])
    }

    @Test func unreadableFile() {
        #expect(throws: CSVError.self) { try CSVReader(path: "/nonexistent/dir/file.csv") }
    }

    // MARK: Bounded memory

    @Test func millionRowsStreamWithOneRowHeld() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/big.csv"
        // Generate ~26 MB in 1 MB blocks.
        let handle = try { () throws -> FileHandle in
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            return try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        }()
        try handle.write(contentsOf: Data("to,name,n\n".utf8))
        var block = ""
        for i in 0..<1_000_000 {
            block += "202555\(String(i % 10_000).leftPad(4)),N\(i % 97),\(i)\n"
            if i % 40_000 == 39_999 {
                try handle.write(contentsOf: Data(block.utf8))
                block = ""
            }
        }
        try handle.write(contentsOf: Data(block.utf8))
        try handle.close()

        let reader = try CSVReader(path: path)
        var count = 0
        var last: CSVRow?
        while let row = try reader.next() {
            count += 1
            last = row
        }
        #expect(count == 1_000_000)
        #expect(last?.fields == ["2025559999", "N\(999_999 % 97)", "999999"])
        #expect(last?.line == 1_000_001)
        let stats = reader.statistics
        #expect(stats.rowsRead == 1_000_000)
        #expect(stats.peakRowsHeld == 1)
        #expect(stats.rowsHeld == 0)
        // The chunk buffer plus one small field: nowhere near the 26 MB file.
        #expect(stats.peakBufferBytes <= reader.configuration.chunkSize + 64 * 1024)
    }
}

extension String {
    func leftPad(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
