import Foundation
import Testing
@testable import Support

/// `JSONText`: compact, key-sorted JSON (what `HTTPResponse.jsonObject` sends).
@Suite struct JSONTextTests {
    func text(_ object: Any) -> String? { JSONText.write(object).map { String(decoding: $0, as: UTF8.self) } }

    @Test func keysSortedByteWiseAtEveryLevel() {
        let object: [String: Any] = ["sid": "SM1", "date_sent": NSNull(), "Body": "x", "account_sid": "AC",
                                     "nested": ["b": 1, "a": [true, false, 2.5, -3]], "num_segments": "1"]
        #expect(text(object) == #"{"Body":"x","account_sid":"AC","date_sent":null,"nested":{"a":[true,false,2.5,-3],"b":1},"num_segments":"1","sid":"SM1"}"#)
    }

    @Test func hostileStringsAreEscapedAndRoundTrip() throws {
        let hostile = "quote\" backslash\\ newline\n tab\t cr\r nul\u{0} bell\u{7} unit\u{1F} </script> é 日本 🎉 \u{7F}"
        let object: [String: Any] = ["body": hostile, hostile: "as a key"]
        let data = Data(try #require(JSONText.write(object)))
        let parsed = try #require(try JSONSerialization.jsonObject(with: data) as? [String: String])
        #expect(parsed == ["body": hostile, hostile: "as a key"])
        #expect(text(["c": "\u{0}\u{1F}"]) == #"{"c":"\u0000\u001f"}"#)
    }

    @Test func numbers() {
        #expect(text([1, -0, Int64.max, Int32.min]) == "[1,0,9223372036854775807,-2147483648]")
        #expect(text([1.0, 0.1, -2.5e-7, 1e20]) == "[1,0.1,-2.5e-07,1e+20]")
    }

    @Test func whatItCannotWriteFallsBackToJSONSerialization() {
        #expect(JSONText.write([Double.nan]) == nil)
        #expect(JSONText.write(["d": Date()]) == nil)
        #expect(JSONText.write([1: "int key"]) == nil)
    }
}
