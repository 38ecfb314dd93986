import Testing
@testable import Support

/// `JSONFields`: the lenient reading of answers written by others, over the one parser.
@Suite struct JSONFieldsTests {
    @Test func numbersAndStringsReadEitherWay() throws {
        let f = try #require(JSONFields(data: Array(#"{"total":"2","ts":1330464356,"half":2.5,"whole":1.0,"gone":"null","b":true}"#.utf8)))
        #expect(f.int("total") == 2 && f.string("total") == "2")
        #expect(f.int("ts") == 1330464356 && f.string("ts") == "1330464356")
        #expect(f.int("half") == 2 && f.string("half") == "2.5")
        #expect(f.string("whole") == "1")
        #expect(f.string("gone") == nil && f.string("missing") == nil)
        #expect(f.int("b") == 1)
    }

    @Test func theDocumentationsTrailingCommasAndCommentsAreTolerated() throws {
        let text = "{\"status\": \"failure\", // the outcome\n \"error\": \"Unauthorized access\",\n \"list\": [{\"a\": \"//not a comment\",},],\n}"
        let f = try #require(JSONFields(data: Array(text.utf8)))
        #expect(f.string("status") == "failure" && f.string("error") == "Unauthorized access")
        #expect(f.array("list").map { $0.string("a") } == ["//not a comment"])
    }

    @Test func aRepeatedKeyReadsAsItsLastValue() throws {
        let f = try #require(JSONFields(data: Array(#"{"status":"queued","status":"sent"}"#.utf8)))
        #expect(f.string("status") == "sent")
    }

    @Test func onlyObjectsAreFields() {
        #expect(JSONFields(data: Array("[1]".utf8)) == nil)
        #expect(JSONFields(data: Array("not json".utf8)) == nil)
        #expect(JSONFields(data: []) == nil)
        #expect(JSONFields(data: Array(#"{"a":{"b":"c"},"n":[{"x":1},2]}"#.utf8))?.fields("a")?.string("b") == "c")
        #expect(JSONFields(data: Array(#"{"n":[{"x":1},2]}"#.utf8))?.array("n").count == 1)
    }
}
