import Foundation
import Testing
import HTTPTesting
import Support
@testable import HTTP

/// The HTTP parsers on their own, fed the way a socket delivers bytes: the answer must not
/// depend on how the stream is split into reads. Cases found by fuzzing (fuzz/http-request.swift).
@Suite struct HTTPParserTests {
    enum Outcome: Equatable {
        case request(method: String, target: String, body: [UInt8])
        case failure(Int)
    }

    /// Every request of `text`, fed `piece` bytes at a time, up to the first failure.
    func parse(_ text: String, limits: HTTPRequestParser.Limits, piece: Int) -> [Outcome] {
        let bytes = Array(text.utf8)
        var parser = HTTPRequestParser(limits: limits)
        var outcomes: [Outcome] = []
        var fed = 0
        while true {
            switch parser.next() {
            case .needMore:
                if fed == bytes.count { return outcomes }
                let n = min(piece, bytes.count - fed)
                bytes[fed..<(fed + n)].withUnsafeBytes { parser.append($0) }
                fed += n
            case .expectContinue:
                continue
            case .failure(let status):
                outcomes.append(.failure(status))
                return outcomes
            case .request(let r):
                outcomes.append(.request(method: r.method, target: r.target, body: r.body))
            }
        }
    }

    func expectSameWhateverTheReads(_ text: String, limits: HTTPRequestParser.Limits, _ expected: [Outcome]) {
        for piece in [text.utf8.count, 1, 2, 3, 5, 7] {
            #expect(parse(text, limits: limits, piece: piece) == expected, "\(piece)-byte reads of \(text.debugDescription)")
        }
    }

    @Test func requestLineOfTheLongestSizeAllowedIsAcceptedWhenItsLineEndArrivesLate() {
        let limits = HTTPRequestParser.Limits(maxRequestLineBytes: 32, maxHeaderBytes: 256, maxHeaderCount: 8, maxBodyBytes: 64)
        let target = "/" + String(repeating: "a", count: 32 - "GET  HTTP/1.1".utf8.count - 1)
        let line = "GET \(target) HTTP/1.1"
        #expect(line.utf8.count == 32)
        expectSameWhateverTheReads(line + "\r\nHost: x\r\n\r\n", limits: limits, [.request(method: "GET", target: target, body: [])])
        // one byte longer is refused however it arrives
        expectSameWhateverTheReads("GET \(target)a HTTP/1.1\r\nHost: x\r\n\r\n", limits: limits, [.failure(414)])
    }

    @Test func headOfTheLargestSizeAllowedIsAcceptedWhenItsLastByteArrivesLate() {
        let limits = HTTPRequestParser.Limits(maxRequestLineBytes: 64, maxHeaderBytes: 64, maxHeaderCount: 8, maxBodyBytes: 64)
        // the head's size, the final CRLF CRLF included, may be maxHeaderBytes + 2
        let fixed = "GET / HTTP/1.1\r\nHost: x\r\nX: \r\n\r\n"
        let head = "GET / HTTP/1.1\r\nHost: x\r\nX: " + String(repeating: "v", count: 66 - fixed.utf8.count) + "\r\n\r\n"
        #expect(head.utf8.count == 66)
        expectSameWhateverTheReads(head, limits: limits, [.request(method: "GET", target: "/", body: [])])
        expectSameWhateverTheReads(head.replacingOccurrences(of: "X: ", with: "X: v"), limits: limits, [.failure(431)])
    }

    @Test func aBadRequestLineIsA400EvenWhenTheHeadIsTooLarge() {
        let limits = HTTPRequestParser.Limits(maxRequestLineBytes: 64, maxHeaderBytes: 64, maxHeaderCount: 8, maxBodyBytes: 64)
        let text = "GET /x HTTP/1.1 junk\r\nHost: x\r\nX-Long: " + String(repeating: "v", count: 80) + "\r\n\r\n"
        expectSameWhateverTheReads(text, limits: limits, [.failure(400)])
    }

    /// A chunk size of 16 hex digits or more overflowed Int and crashed the process — the
    /// worker's callback server, or the client reading a provider's answer. Found by fuzzing.
    @Test func chunkSizeOfSixteenHexDigitsIsRefusedNotACrash() {
        let limits = HTTPRequestParser.Limits()
        for size in ["ffffffffffffffff", "8000000000000000", "dd70f7ea54e47f1a49749debeec3f7f", "0000000000000000001"] {
            let text = "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\(size)\r\nabc\r\n0\r\n\r\n"
            expectSameWhateverTheReads(text, limits: limits, [.failure(413)])

            var parser = HTTPResponseParser(maxBodyBytes: 1 << 20, noBody: false)
            Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\(size)\r\nabc\r\n0\r\n\r\n".utf8).withUnsafeBytes { parser.append($0) }
            guard case .failure(let why) = parser.next() else { Issue.record("chunk size \(size) accepted"); continue }
            #expect(why == "malformed chunked body")
        }
        // fifteen digits (leading zeros here) are still read
        let fifteen = "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n000000000000003\r\nabc\r\n0\r\n\r\n"
        expectSameWhateverTheReads(fifteen, limits: limits, [.request(method: "POST", target: "/x", body: Array("abc".utf8))])
    }

    /// The client's parser searched the whole head again on every read: a head arriving a byte
    /// at a time cost time quadratic in its size (seconds for the 64 KiB allowed). Found by
    /// fuzzing (a slow target); now each byte is searched once.
    @Test func responseHeadArrivingByteByByteIsSearchedOnce() {
        // 95 header fields (the limit is 100) of 630 bytes: a head of about 60 KB
        let head = "HTTP/1.1 200 OK\r\n" + String(repeating: "X-Filler: " + String(repeating: "f", count: 618) + "\r\n", count: 95)
            + "Content-Length: 2\r\n\r\nok"
        let bytes = Array(head.utf8)
        var parser = HTTPResponseParser(maxBodyBytes: 1 << 20, noBody: false)
        var answer: HTTPClientResponse?
        reading: for i in bytes.indices {
            bytes[i..<(i + 1)].withUnsafeBytes { parser.append($0) }
            switch parser.next() {
            case .needMore: continue
            case .failure(let why): Issue.record("failed at byte \(i): \(why)")
            case .response(let r, _): answer = r
            }
            break reading
        }
        #expect(answer?.status == 200 && answer?.bodyText == "ok" && answer?.headers.count == 96)
        // each byte looked at a few times at most (searching the whole head again on every
        // read looked at about bytes² / 2: 1.8 billion here)
        #expect(parser.searchedBytes < 5 * bytes.count, "\(parser.searchedBytes) bytes searched for a \(bytes.count)-byte head")
    }
}
