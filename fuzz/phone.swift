// Fuzz target `phone`: phone-number normalisation to E.164 (Sources/Jobs/Model/PhoneNumber.swift).
//
// Checks beyond "does not crash": a number that parses is `+` and 7–15 digits, not starting
// with 0; parsing its E.164 form gives the same number; a +1 number is 11 digits and its
// national form parses to the same number.
@testable import Jobs

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let number: PhoneNumber
    do {
        number = try PhoneNumber(parsing: text)
    } catch {
        _ = error.description
        return 0
    }
    let digits = number.e164.utf8.dropFirst()
    guard number.e164.hasPrefix("+"), (7...15).contains(digits.count), digits.allSatisfy({ $0 >= 48 && $0 <= 57 }),
          digits.first != UInt8(ascii: "0") else { fatalError("\(text.debugDescription) → \(number.e164)") }
    guard let again = try? PhoneNumber(parsing: number.e164), again == number else {
        fatalError("\(number.e164) does not parse to itself")
    }
    if number.e164.hasPrefix("+1") {
        guard digits.count == 11, let national = number.nanpNational,
              let third = try? PhoneNumber(parsing: national), third == number else {
            fatalError("+1 number \(number.e164): national form \(number.nanpNational ?? "nil")")
        }
    }
    return 0
}
