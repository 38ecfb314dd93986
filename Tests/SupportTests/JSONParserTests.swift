import Testing
@testable import Support

/// `JSONParser` on its own (the job files' messages built from it are pinned in JobsTests).
@Suite struct JSONParserTests {
    @Test func keysKeepTheirOrderAndNumbersTheirText() throws {
        let value = try JSONParser.parse(#"{"b": 1.50, "a": [true, null, "x"]}"#)
        #expect(value == .object([JSONMember(key: "b", value: .number("1.50")),
                                  JSONMember(key: "a", value: .array([.bool(true), .null, .string("x")]))]))
        #expect(value["a"]?.typeName == "an array")
    }

    @Test func aRepeatedKeyIsAnErrorUnlessAllowed() throws {
        #expect(throws: JSONParser.SyntaxError(message: "duplicate key 'a'", line: 2, column: 2)) {
            try JSONParser.parse("{\"a\": 1,\n \"a\": 2}")
        }
        let lenient = try JSONParser.parse(Array(#"{"a": 1, "a": 2}"#.utf8), allowingDuplicateKeys: true)
        #expect(lenient == .object([JSONMember(key: "a", value: .number("1")), JSONMember(key: "a", value: .number("2"))]))
    }
}
