// Fuzz target `form`: application/x-www-form-urlencoded decoding and encoding
// (Sources/HTTP/FormEncoding.swift), as used for callback bodies and query strings.
//
// Checks beyond "does not crash":
// - decode → encode → decode gives the same pairs;
// - pairs cut from the input (at NUL bytes: `name NUL value NUL name …`), encoded then
//   decoded, come back exactly, and each name and value unescapes from its escape;
// - `decode` keeps the last value of a repeated name.
@testable import HTTP

private func same(_ a: [(String, String)], _ b: [(String, String)]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let text = String(decoding: bytes, as: UTF8.self)

    let pairs = FormEncoding.decodePairs(text)
    let again = FormEncoding.decodePairs(FormEncoding.encode(pairs))
    if !same(pairs, again) { fatalError("decode → encode → decode changed the pairs:\n\(pairs)\nvs\n\(again)") }
    let dictionary = FormEncoding.decode(text)
    var last: [String: String] = [:]
    for (name, value) in pairs { last[name] = value }
    if dictionary != last { fatalError("decode does not keep the last value of each name") }
    _ = FormEncoding.unescape(text, plusIsSpace: false)

    let parts = bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    var built: [(String, String)] = []
    var i = 0
    while i < parts.count {
        built.append((parts[i], i + 1 < parts.count ? parts[i + 1] : ""))
        i += 2
    }
    let decoded = FormEncoding.decodePairs(FormEncoding.encode(built))
    if !same(built, decoded) { fatalError("encode → decode changed the pairs:\n\(built)\nvs\n\(decoded)") }
    for part in parts {
        if FormEncoding.unescape(FormEncoding.escape(part)) != part { fatalError("unescape(escape(\(part.debugDescription)))") }
    }
    return 0
}
