import Foundation
import Testing
@testable import HTTP

@Suite struct HTTPResponseTests {
    /// What `JSONText` cannot write goes through `JSONSerialization`, with the same header.
    @Test func jsonObjectFallsBackToJSONSerialization() {
        let response = HTTPResponse.jsonObject(["n": NSNumber(value: 3)])
        #expect(String(decoding: response.body, as: UTF8.self) == #"{"n":3}"#)
        #expect(response.headers["Content-Type"] == "application/json")
    }
}
