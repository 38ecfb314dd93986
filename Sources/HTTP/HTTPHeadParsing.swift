/// Pieces of HTTP/1.1 message parsing shared by the server's request parser and the client's
/// response parser. Strict: lines end in CRLF, no obsolete line folding, token header names.
enum HTTPHeadParsing {
    static let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")

    /// Index of the first byte of `\r\n\r\n` in `bytes[from..<end]`, if any.
    static func findHeadEnd(_ bytes: UnsafeBufferPointer<UInt8>, from: Int, end: Int) -> Int? {
        var i = from
        while i + 3 < end {
            if bytes[i + 3] != lf { i += (bytes[i + 3] == cr) ? 1 : 4; continue }
            if bytes[i] == cr && bytes[i + 1] == lf && bytes[i + 2] == cr { return i }
            i += 1
        }
        return nil
    }

    /// Index of the first `\r\n` in `bytes[from..<end]`.
    static func findLineEnd(_ bytes: UnsafeBufferPointer<UInt8>, from: Int, end: Int) -> Int? {
        var i = from
        while i + 1 < end {
            if bytes[i] == cr && bytes[i + 1] == lf { return i }
            i += 1
        }
        return nil
    }

    static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(b)
        }
    }

    enum HeaderLines { case headers(HTTPHeaders), malformed, tooMany }

    /// Parses header lines in `bytes[from..<end]` (each ending in CRLF; `end` is where the empty
    /// line starts).
    static func parseHeaderLines(_ bytes: UnsafeBufferPointer<UInt8>, from: Int, end: Int, maxCount: Int) -> HeaderLines {
        var headers = HTTPHeaders()
        var lineStart = from
        while lineStart < end {
            guard let lineEnd = findLineEnd(bytes, from: lineStart, end: end + 2) else { return .malformed }
            guard let colon = (lineStart..<lineEnd).first(where: { bytes[$0] == UInt8(ascii: ":") }),
                  colon > lineStart else { return .malformed }
            for i in lineStart..<colon where !isTokenByte(bytes[i]) { return .malformed }
            var vStart = colon + 1, vEnd = lineEnd
            while vStart < vEnd && (bytes[vStart] == 32 || bytes[vStart] == 9) { vStart += 1 }
            while vEnd > vStart && (bytes[vEnd - 1] == 32 || bytes[vEnd - 1] == 9) { vEnd -= 1 }
            for i in vStart..<vEnd {
                let b = bytes[i]
                if (b < 32 && b != 9) || b == 127 { return .malformed }
            }
            if headers.count >= maxCount { return .tooMany }
            headers.add(string(bytes, lineStart, colon), string(bytes, vStart, vEnd))
            lineStart = lineEnd + 2
        }
        return .headers(headers)
    }

    @inline(__always)
    static func string(_ bytes: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[from..<to]), as: UTF8.self)
    }

    enum ContentLength: Equatable { case absent, length(Int), invalid }

    /// A `Content-Length` value: digits only, at most 18 of them. Repeated equal values are fine.
    static func contentLength(_ headers: HTTPHeaders) -> ContentLength {
        let values = headers.values("Content-Length")
        if values.isEmpty { return .absent }
        var result: Int?
        for value in values {
            for part in value.split(separator: ",", omittingEmptySubsequences: false) {
                let text = part.trimmingSpaces
                guard !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                      let n = Int(text) else { return .invalid }
                if let r = result, r != n { return .invalid }
                result = n
            }
        }
        guard let result else { return .invalid }
        return .length(result)
    }
}

/// Decodes a chunked body incrementally from a buffer.
struct ChunkedDecoder {
    enum State { case size, data(Int), dataEnd, trailer }
    enum Result { case needMore, done, failure(Int) }

    var state = State.size
    var body: [UInt8] = []
    private var trailerBytes = 0

    mutating func decode(_ bytes: UnsafeBufferPointer<UInt8>, offset: inout Int, end: Int, maxBody: Int) -> Result {
        while true {
            switch state {
            case .size:
                guard let lineEnd = HTTPHeadParsing.findLineEnd(bytes, from: offset, end: end) else {
                    return end - offset > 1024 ? .failure(400) : .needMore
                }
                var size = 0, digits = 0, i = offset
                while i < lineEnd, let h = FormEncoding.hexValue(bytes[i]) {
                    // counted before the multiplication: a 16th digit would overflow Int
                    digits += 1
                    if digits > 15 { return .failure(413) }
                    size = size * 16 + Int(h)
                    i += 1
                }
                while i < lineEnd && (bytes[i] == 32 || bytes[i] == 9) { i += 1 }
                guard digits > 0, i == lineEnd || bytes[i] == UInt8(ascii: ";") else { return .failure(400) }
                offset = lineEnd + 2
                if size == 0 {
                    state = .trailer
                } else {
                    if body.count + size > maxBody { return .failure(413) }
                    body.reserveCapacity(body.count + size)
                    state = .data(size)
                }
            case .data(let remaining):
                let n = min(remaining, end - offset)
                if n == 0 { return .needMore }
                body.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[offset..<(offset + n)]))
                offset += n
                state = remaining == n ? .dataEnd : .data(remaining - n)
            case .dataEnd:
                if end - offset < 2 { return .needMore }
                guard bytes[offset] == HTTPHeadParsing.cr, bytes[offset + 1] == HTTPHeadParsing.lf else { return .failure(400) }
                offset += 2
                state = .size
            case .trailer:
                guard let lineEnd = HTTPHeadParsing.findLineEnd(bytes, from: offset, end: end) else {
                    return trailerBytes + (end - offset) > 8192 ? .failure(431) : .needMore
                }
                let length = lineEnd - offset
                offset = lineEnd + 2
                if length == 0 { return .done }
                trailerBytes += length + 2
                if trailerBytes > 8192 { return .failure(431) }
            }
        }
    }
}
