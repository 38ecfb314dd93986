/// Incremental HTTP/1.1 response parser for the socket client: skips 1xx answers, reads bodies
/// framed by Content-Length, chunked encoding, or the end of the connection.
struct HTTPResponseParser {
    enum Event {
        case response(HTTPClientResponse, keepAlive: Bool)
        case failure(String)
        case needMore
    }

    private enum BodyState {
        case length(Int)
        case chunked(ChunkedDecoder)
        case untilClose
    }

    private let maxHeaderBytes = 64 * 1024
    let maxBodyBytes: Int
    let maxHeaderCount: Int
    let maxInformational: Int
    /// True for an answer to HEAD: no body whatever the headers say.
    let noBody: Bool
    /// Informational (1xx) answers skipped so far.
    private var informational = 0
    /// Whether any byte of an answer arrived (the buffer drops skipped 1xx answers).
    private(set) var receivedAnything = false
    private var buffer: [UInt8] = []
    private var offset = 0
    /// Where the search for the end of the head resumes: bytes before it were searched already.
    private var scanFrom = 0
    /// Bytes looked at while searching for the end of heads, in all (each about once).
    private(set) var searchedBytes = 0
    private var head: (status: Int, headers: HTTPHeaders, keepAlive: Bool)?
    private var bodyState = BodyState.length(0)

    init(maxBodyBytes: Int, noBody: Bool, maxHeaderCount: Int = 100, maxInformational: Int = 10) {
        self.maxBodyBytes = maxBodyBytes
        self.noBody = noBody
        self.maxHeaderCount = maxHeaderCount
        self.maxInformational = maxInformational
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if bytes.count > 0 { receivedAnything = true }
        if head == nil && offset > 0 {  // skipped 1xx answers: drop them
            buffer.removeSubrange(0..<offset)
            scanFrom = max(0, scanFrom - offset)
            offset = 0
        }
        buffer.append(contentsOf: bytes)
    }

    mutating func next() -> Event {
        buffer.withUnsafeBufferPointer { parse($0, atEOF: false) }
    }

    /// The connection ended: a body framed by the close completes; anything else is cut short.
    mutating func finishAtEOF() -> Event {
        buffer.withUnsafeBufferPointer { parse($0, atEOF: true) }
    }

    private mutating func parse(_ bytes: UnsafeBufferPointer<UInt8>, atEOF: Bool) -> Event {
        let end = bytes.count
        while head == nil {
            let from = max(offset, scanFrom - 3)
            let found = HTTPHeadParsing.findHeadEnd(bytes, from: from, end: end)
            searchedBytes += (found.map { $0 + 4 } ?? end) - from
            guard let headEnd = found else {
                scanFrom = end
                if end - offset > maxHeaderBytes { return .failure("response head too large") }
                return atEOF ? .failure("connection closed before a complete answer") : .needMore
            }
            guard let lineEnd = HTTPHeadParsing.findLineEnd(bytes, from: offset, end: headEnd + 2) else {
                return .failure("malformed status line")
            }
            let line = UnsafeBufferPointer(rebasing: bytes[offset..<lineEnd])
            guard line.count >= 12, line.starts(with: "HTTP/1.".utf8), line[8] == 32,
                  let status = Int(HTTPHeadParsing.string(bytes, offset + 9, offset + 12)) else {
                return .failure("malformed status line")
            }
            let minor = Int(line[7]) - 48
            let headers: HTTPHeaders
            switch HTTPHeadParsing.parseHeaderLines(bytes, from: lineEnd + 2, end: headEnd, maxCount: maxHeaderCount) {
            case .headers(let parsed): headers = parsed
            case .tooMany: return .failure("more than \(maxHeaderCount) header fields")
            case .malformed: return .failure("malformed response headers")
            }
            offset = headEnd + 4
            if status >= 100 && status < 200 {  // 100 Continue and friends
                informational += 1
                if informational > maxInformational { return .failure("more than \(maxInformational) informational (1xx) answers") }
                continue
            }
            var keepAlive = minor >= 1 ? !headers.hasToken("close", in: "Connection") : headers.hasToken("keep-alive", in: "Connection")
            if noBody || status == 204 || status == 304 {
                bodyState = .length(0)
            } else if headers.hasToken("chunked", in: "Transfer-Encoding") {
                bodyState = .chunked(ChunkedDecoder())
            } else {
                switch HTTPHeadParsing.contentLength(headers) {
                case .length(let n):
                    if n > maxBodyBytes { return .failure("response body too large") }
                    bodyState = .length(n)
                case .absent:
                    bodyState = .untilClose
                    keepAlive = false
                case .invalid:
                    return .failure("invalid Content-Length")
                }
            }
            head = (status, headers, keepAlive)
        }
        switch bodyState {
        case .length(let n):
            guard end - offset >= n else {
                return atEOF ? .failure("connection closed in the middle of the body") : .needMore
            }
            return finish(Array(UnsafeBufferPointer(rebasing: bytes[offset..<(offset + n)])), consumed: offset + n)
        case .chunked(var decoder):
            let result = decoder.decode(bytes, offset: &offset, end: end, maxBody: maxBodyBytes)
            bodyState = .chunked(decoder)
            switch result {
            case .needMore: return atEOF ? .failure("connection closed in the middle of the body") : .needMore
            case .failure: return .failure("malformed chunked body")
            case .done: return finish(decoder.body, consumed: offset)
            }
        case .untilClose:
            if end - offset > maxBodyBytes { return .failure("response body too large") }
            guard atEOF else { return .needMore }
            return finish(Array(UnsafeBufferPointer(rebasing: bytes[offset..<end])), consumed: end)
        }
    }

    private mutating func finish(_ body: [UInt8], consumed: Int) -> Event {
        let (status, headers, keepAlive) = head!
        // Bytes after a complete answer to a request we did not pipeline: the connection is not reusable.
        let clean = consumed == buffer.count
        return .response(HTTPClientResponse(status: status, headers: headers, body: body), keepAlive: keepAlive && clean)
    }
}
