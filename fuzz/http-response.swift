// Fuzz target `http-response`: the socket client's incremental HTTP/1.1 response parser
// (Sources/HTTP/HTTPResponseParser.swift, HTTPHeadParsing.swift).
//
// The input is what a server sends before closing the connection; it is parsed as the answer
// to a GET and to a HEAD. Checks beyond "does not crash":
// - the answer (status, headers, body) is the same whether the bytes arrive at once or in
//   small pieces, and whether or not the end of the connection is needed to complete it;
// - a body never exceeds the limit; a HEAD answer has no body; 1xx answers are skipped.
@testable import HTTP

private enum Outcome: Equatable {
    case response(status: Int, headers: [String], body: [UInt8])
    case failure
}

private func parse(_ bytes: [UInt8], noBody: Bool, maxBody: Int, piece: Int) -> Outcome {
    var parser = HTTPResponseParser(maxBodyBytes: maxBody, noBody: noBody)
    var fed = 0
    var event = parser.next()
    while true {
        switch event {
        case .needMore:
            if fed == bytes.count {
                event = parser.finishAtEOF()
                if case .needMore = event { fatalError("needMore at the end of the connection") }
                continue
            }
            let n = min(piece, bytes.count - fed)
            bytes[fed..<(fed + n)].withUnsafeBytes { parser.append($0) }
            fed += n
            event = parser.next()
        case .failure:
            return .failure
        case .response(let r, _):
            if r.body.count > maxBody { fatalError("body of \(r.body.count) bytes accepted") }
            if noBody && !r.body.isEmpty { fatalError("a body in the answer to HEAD") }
            if (100..<200).contains(r.status) { fatalError("interim answer \(r.status) returned") }
            return .response(status: r.status, headers: r.headers.map { "\($0.name): \($0.value)" }, body: r.body)
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let piece = 1 + size % 7
    for noBody in [false, true] {
        for maxBody in [1 << 20, 64] {
            let whole = parse(bytes, noBody: noBody, maxBody: maxBody, piece: max(size, 1))
            let pieces = parse(bytes, noBody: noBody, maxBody: maxBody, piece: piece)
            if whole != pieces {
                fatalError("pieces of \(piece) bytes change the answer (HEAD: \(noBody), limit \(maxBody)):\n\(whole)\nvs\n\(pieces)")
            }
        }
    }
    return 0
}
