// Fuzz target `callback-key`: the `ID.TOKEN` key of a callback URL
// (Sources/Store/Outbox/CallbackKey.swift).
//
// Checks beyond "does not crash":
// - a parsed key has a positive id and a 16–64 character URL-safe token, and its description
//   parses back to the same key;
// - a key built from the input (an id of at most 18 digits, a token from the URL-safe
//   alphabet), written as its description, parses back to itself.
@testable import Store

private let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let key = CallbackKey(String(decoding: bytes, as: UTF8.self)) {
        if key.messageID <= 0 || !(16...64).contains(key.token.utf8.count)
            || !key.token.utf8.allSatisfy({ alphabet.contains($0) }) {
            fatalError("accepted \(key)")
        }
        if CallbackKey(key.description) != key { fatalError("\(key) does not parse back") }
    }

    guard size >= 8 else { return 0 }
    var raw: UInt64 = 0
    for b in bytes[0..<8] { raw = raw << 8 | UInt64(b) }
    let id = Int64(raw % 999_999_999_999_999_999) + 1
    var token = bytes[8...].map { alphabet[Int($0 & 63)] }
    while token.count < 16 { token.append(alphabet[token.count]) }
    let key = CallbackKey(messageID: id, token: String(decoding: token.prefix(64), as: UTF8.self))
    if CallbackKey(key.description) != key { fatalError("\(key.description) does not parse back") }
    return 0
}
