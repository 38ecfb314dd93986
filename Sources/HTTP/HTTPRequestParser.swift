/// Incremental HTTP/1.1 request parser with limits. Feed bytes with `append`, take events with
/// `next()` until `.needMore`. After a `.failure` the connection must be closed.
struct HTTPRequestParser {
    struct Limits: Sendable {
        var maxRequestLineBytes = 8 * 1024
        var maxHeaderBytes = 16 * 1024
        var maxHeaderCount = 100
        var maxBodyBytes = 64 * 1024
    }

    enum Event {
        case request(HTTPRequest)
        /// The client sent `Expect: 100-continue` and the declared body is acceptable.
        case expectContinue
        /// The answer to give before closing: 400, 408, 413, 414, 431, 501, 505.
        case failure(status: Int)
        case needMore
    }

    private enum BodyState {
        case none
        case length(Int)
        case chunked(ChunkedDecoder)
    }

    let limits: Limits
    private var buffer: [UInt8] = []
    private var offset = 0
    private var scanFrom = 0
    private var head: HTTPRequest?
    private var bodyState = BodyState.none
    private var continuePending = false
    private var failed = false

    init(limits: Limits) { self.limits = limits }

    /// Bytes received but not yet part of a complete request.
    var hasPartialRequest: Bool { head != nil || offset < buffer.count }
    /// True once a head is parsed and its body is still arriving.
    var isReadingBody: Bool { head != nil }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if offset > 0 && (offset == buffer.count || offset >= 16 * 1024) {
            buffer.removeSubrange(0..<offset)
            scanFrom = max(0, scanFrom - offset)
            offset = 0
        }
        buffer.append(contentsOf: bytes)
    }

    mutating func next() -> Event {
        if failed { return .needMore }
        let event = buffer.withUnsafeBufferPointer { parse($0) }
        if case .failure = event { failed = true }
        return event
    }

    private mutating func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Event {
        let end = bytes.count
        if head == nil {
            // Tolerate empty lines before a request (RFC 9112 §2.2).
            while end - offset >= 2 && bytes[offset] == HTTPHeadParsing.cr && bytes[offset + 1] == HTTPHeadParsing.lf {
                offset += 2
            }
            guard let headEnd = HTTPHeadParsing.findHeadEnd(bytes, from: max(offset, scanFrom - 3), end: end) else {
                scanFrom = end
                let pending = end - offset
                let lineEnd = HTTPHeadParsing.findLineEnd(bytes, from: offset, end: min(end, offset + limits.maxRequestLineBytes + 2))
                // A line of the longest size allowed may still lack its LF: one byte of leeway.
                if lineEnd == nil && pending > limits.maxRequestLineBytes + 1 { return .failure(status: 414) }
                if let lineEnd, case .failure(let status) = parseRequestLine(bytes, from: offset, lineEnd: lineEnd) {
                    return .failure(status: status)
                }
                // A head of the largest size allowed (below) may still lack its last byte.
                if pending > limits.maxHeaderBytes + 1 { return .failure(status: 431) }
                return .needMore
            }
            // The same checks in the same order as for a head still arriving, so the answer does
            // not depend on how the bytes were split into reads.
            let lineEnd = HTTPHeadParsing.findLineEnd(bytes, from: offset, end: headEnd + 2) ?? headEnd
            if lineEnd - offset > limits.maxRequestLineBytes { return .failure(status: 414) }
            if case .failure(let status) = parseRequestLine(bytes, from: offset, lineEnd: lineEnd) { return .failure(status: status) }
            if headEnd + 4 - offset > limits.maxHeaderBytes + 2 { return .failure(status: 431) }
            switch parseHead(bytes, from: offset, end: headEnd) {
            case .failure(let status):
                return .failure(status: status)
            case .head(let request, let body):
                offset = headEnd + 4
                scanFrom = offset
                head = request
                bodyState = body
                if case .length(0) = body { return finish(body: []) }
                if continuePending { continuePending = false; return .expectContinue }
            }
        }
        switch bodyState {
        case .none:
            return finish(body: [])
        case .length(let n):
            guard end - offset >= n else { return .needMore }
            let body = Array(UnsafeBufferPointer(rebasing: bytes[offset..<(offset + n)]))
            offset += n
            return finish(body: body)
        case .chunked(var decoder):
            let result = decoder.decode(bytes, offset: &offset, end: end, maxBody: limits.maxBodyBytes)
            bodyState = .chunked(decoder)
            switch result {
            case .needMore: return .needMore
            case .failure(let status): return .failure(status: status)
            case .done: return finish(body: decoder.body)
            }
        }
    }

    private mutating func finish(body: [UInt8]) -> Event {
        var request = head!
        request.body = body
        head = nil
        bodyState = .none
        scanFrom = offset
        return .request(request)
    }

    private enum HeadResult {
        case head(HTTPRequest, BodyState)
        case failure(Int)
    }

    private enum RequestLine {
        case line(method: String, target: String, minor: Int)
        case failure(Int)
    }

    /// METHOD SP TARGET SP HTTP/1.x
    private func parseRequestLine(_ bytes: UnsafeBufferPointer<UInt8>, from: Int, lineEnd: Int) -> RequestLine {
        var i = from
        while i < lineEnd && HTTPHeadParsing.isTokenByte(bytes[i]) { i += 1 }
        guard i > from, i < lineEnd, bytes[i] == 32 else { return .failure(400) }
        let method = HTTPHeadParsing.string(bytes, from, i)
        let targetStart = i + 1
        var j = targetStart
        while j < lineEnd && bytes[j] > 32 && bytes[j] < 127 { j += 1 }
        guard j > targetStart, j < lineEnd, bytes[j] == 32 else { return .failure(400) }
        guard bytes[targetStart] == UInt8(ascii: "/") || (bytes[targetStart] == UInt8(ascii: "*") && j == targetStart + 1) else {
            return .failure(400)
        }
        let target = HTTPHeadParsing.string(bytes, targetStart, j)
        let version = UnsafeBufferPointer(rebasing: bytes[(j + 1)..<lineEnd])
        guard version.count == 8, version.starts(with: "HTTP/".utf8), version[6] == UInt8(ascii: "."),
              (48...57).contains(version[5]), (48...57).contains(version[7]) else { return .failure(400) }
        guard version[5] == UInt8(ascii: "1") else { return .failure(505) }
        let minor = Int(version[7] - 48)

        return .line(method: method, target: target, minor: minor)
    }

    private mutating func parseHead(_ bytes: UnsafeBufferPointer<UInt8>, from: Int, end: Int) -> HeadResult {
        let lineEnd = HTTPHeadParsing.findLineEnd(bytes, from: from, end: end + 2) ?? end
        if lineEnd - from > limits.maxRequestLineBytes { return .failure(414) }
        let method: String, target: String, minor: Int
        switch parseRequestLine(bytes, from: from, lineEnd: lineEnd) {
        case .failure(let status): return .failure(status)
        case .line(let m, let t, let v): (method, target, minor) = (m, t, v)
        }

        let headers: HTTPHeaders
        switch HTTPHeadParsing.parseHeaderLines(bytes, from: lineEnd + 2, end: end, maxCount: limits.maxHeaderCount) {
        case .headers(let h): headers = h
        case .malformed: return .failure(400)
        case .tooMany: return .failure(431)
        }
        if minor >= 1 && headers.values("Host").count != 1 { return .failure(400) }

        let keepAlive: Bool
        if headers.hasToken("close", in: "Connection") {
            keepAlive = false
        } else {
            keepAlive = minor >= 1 || headers.hasToken("keep-alive", in: "Connection")
        }
        var request = HTTPRequest(method: method, target: target, versionMinor: minor, headers: headers, keepAlive: keepAlive)
        request.body = []

        let body: BodyState
        let length = HTTPHeadParsing.contentLength(headers)
        if headers.contains("Transfer-Encoding") {
            // Both framings at once is how request smuggling starts: refuse.
            guard length == .absent, minor >= 1 else { return .failure(400) }
            let codings = headers.values("Transfer-Encoding").joined(separator: ",").split(separator: ",").map { $0.trimmingSpaces }
            guard codings.count == 1, HTTPHeaders.equalsIgnoringCase(codings[0], "chunked") else { return .failure(501) }
            body = .chunked(ChunkedDecoder())
        } else {
            switch length {
            case .absent: body = .length(0)
            case .invalid: return .failure(400)
            case .length(let n):
                if n > limits.maxBodyBytes { return .failure(413) }
                body = .length(n)
            }
        }
        if let expect = headers["Expect"] {
            guard HTTPHeaders.equalsIgnoringCase(expect.trimmingSpaces, "100-continue") else { return .failure(417) }
            continuePending = true
        } else {
            continuePending = false
        }
        return .head(request, body)
    }
}
