// Fuzz target `json`: the strict JSON parser (Sources/Support/JSON).
//
// Checks beyond "does not crash":
// - an error's line and column are 1-based;
// - a parsed value, written back as JSON (once with UTF-8 as is, once with every non-ASCII
//   character as \u escapes, surrogate pairs included), parses to the same value.
@testable import Support

private func render(_ value: JSONValue, asciiOnly: Bool, into out: inout String) {
    switch value {
    case .null: out += "null"
    case .bool(let b): out += b ? "true" : "false"
    case .number(let n): out += n
    case .string(let s): renderString(s, asciiOnly: asciiOnly, into: &out)
    case .array(let items):
        out += "["
        for (i, item) in items.enumerated() {
            if i > 0 { out += "," }
            render(item, asciiOnly: asciiOnly, into: &out)
        }
        out += "]"
    case .object(let members):
        out += "{"
        for (i, member) in members.enumerated() {
            if i > 0 { out += ", " }
            renderString(member.key, asciiOnly: asciiOnly, into: &out)
            out += ":"
            render(member.value, asciiOnly: asciiOnly, into: &out)
        }
        out += "}"
    }
}

private func hex4(_ unit: UInt16) -> String {
    let digits = Array("0123456789abcdef")
    return "\\u" + String([digits[Int(unit >> 12)], digits[Int(unit >> 8 & 15)], digits[Int(unit >> 4 & 15)], digits[Int(unit & 15)]])
}

private func renderString(_ s: String, asciiOnly: Bool, into out: inout String) {
    out += "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 || (asciiOnly && scalar.value > 0x7E) {
                for unit in String(scalar).utf16 { out += hex4(unit) }
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    out += "\""
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let value: JSONValue
    do {
        value = try JSONParser.parse(bytes)
    } catch {
        if error.line < 1 || error.column < 1 { fatalError("error position \(error.line):\(error.column)") }
        _ = error.description
        return 0
    }
    for asciiOnly in [false, true] {
        var text = ""
        render(value, asciiOnly: asciiOnly, into: &text)
        let again: JSONValue
        do { again = try JSONParser.parse(text) } catch { fatalError("rendered JSON does not parse: \(error)\n\(text)") }
        if again != value { fatalError("rendered JSON parses to another value:\n\(value)\nvs\n\(again)") }
    }
    return 0
}
