// Fuzz target `http-request`: the server's incremental HTTP/1.1 request parser
// (Sources/HTTP/HTTPRequestParser.swift, HTTPHeadParsing.swift), with the request
// accessors a route uses (path, query, form body, Basic credentials).
//
// The input is the byte stream a client sends on one connection. Checks beyond "does not crash":
// - the events (requests, 100-continue, the failure status) are the same whether the stream
//   arrives at once or in small pieces, with the default limits and with small ones;
// - a request's body never exceeds the body limit, its headers never the header count limit;
// - the parser ends: each event consumes input.
@testable import HTTP

private enum Seen: Equatable {
    case request(method: String, target: String, minor: Int, headers: [String], body: [UInt8], keepAlive: Bool)
    case expectContinue
    case failure(Int)
}

private func events(_ bytes: [UInt8], limits: HTTPRequestParser.Limits, piece: Int) -> [Seen] {
    var parser = HTTPRequestParser(limits: limits)
    var seen: [Seen] = []
    var fed = 0
    while true {
        let event = parser.next()
        switch event {
        case .needMore:
            if fed == bytes.count { return seen }
            let n = min(piece, bytes.count - fed)
            bytes[fed..<(fed + n)].withUnsafeBytes { parser.append($0) }
            fed += n
        case .expectContinue:
            seen.append(.expectContinue)
        case .failure(let status):
            seen.append(.failure(status))
            if case .needMore = parser.next() {} else { fatalError("events after a failure") }
            return seen
        case .request(let r):
            if r.body.count > limits.maxBodyBytes { fatalError("body of \(r.body.count) bytes accepted") }
            if r.headers.count > limits.maxHeaderCount { fatalError("\(r.headers.count) headers accepted") }
            seen.append(.request(method: r.method, target: r.target, minor: r.versionMinor,
                                 headers: r.headers.map { "\($0.name): \($0.value)" }, body: r.body, keepAlive: r.keepAlive))
            _ = r.path
            _ = r.query
            _ = r.formFields()
            _ = r.basicCredentials
        }
        if seen.count > 2 * bytes.count + 2 { fatalError("the parser does not advance") }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let small = HTTPRequestParser.Limits(maxRequestLineBytes: 64, maxHeaderBytes: 256, maxHeaderCount: 6, maxBodyBytes: 100)
    let piece = 1 + size % 7
    for limits in [HTTPRequestParser.Limits(), small] {
        let whole = events(bytes, limits: limits, piece: max(size, 1))
        let pieces = events(bytes, limits: limits, piece: piece)
        if whole != pieces { fatalError("pieces of \(piece) bytes change the events:\n\(whole)\nvs\n\(pieces)") }
    }
    return 0
}
