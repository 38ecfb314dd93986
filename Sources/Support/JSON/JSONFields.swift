/// Lenient typed access to a JSON object, for answers written by others: providers send
/// numbers as strings and strings as numbers ("total":"2", "request_timestamp":1330464356),
/// repeat keys (the last counts), and their documentation's examples carry trailing commas and
/// `// comments`. Read with the one parser (`JSONParser`); anything but an object gives nil.
public struct JSONFields: Sendable {
    /// The object's members, in document order.
    public let members: [JSONMember]

    /// The fields of `value`, nil when it is not an object.
    public init?(_ value: JSONValue) {
        guard case .object(let members) = value else { return nil }
        self.members = members
    }

    /// Parses a JSON object; tolerates repeated keys, and the trailing commas (`"error":"…",}`)
    /// and `// comments` of the provider documentation's examples.
    public init?(data: [UInt8]) {
        if let value = try? JSONParser.parse(data, allowingDuplicateKeys: true) {
            self.init(value)
        } else if let value = try? JSONParser.parse(Self.withoutTrailingCommas(Self.withoutComments(data)), allowingDuplicateKeys: true) {
            self.init(value)
        } else {
            return nil
        }
    }

    /// The value of `key` (the last one when the key repeats).
    public subscript(key: String) -> JSONValue? {
        members.last(where: { $0.key == key })?.value
    }

    /// Drops `// …` to the end of the line (outside strings).
    static func withoutComments(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(data.count)
        var inString = false, escaped = false, inComment = false
        var i = 0
        while i < data.count {
            let b = data[i]
            if inComment {
                if b == 10 || b == 13 { inComment = false; out.append(b) }
            } else if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                out.append(b)
            } else if b == UInt8(ascii: "/"), i + 1 < data.count, data[i + 1] == UInt8(ascii: "/") {
                inComment = true
            } else {
                if b == UInt8(ascii: "\"") { inString = true }
                out.append(b)
            }
            i += 1
        }
        return out
    }

    /// Drops a comma that only whitespace separates from `}` or `]` (outside strings).
    static func withoutTrailingCommas(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(data.count)
        var inString = false, escaped = false
        var pendingComma: Int?
        for b in data {
            if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                out.append(b)
                continue
            }
            switch b {
            case UInt8(ascii: "\""):
                inString = true
                pendingComma = nil
            case UInt8(ascii: ","):
                pendingComma = out.count
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if let i = pendingComma { out.remove(at: i) }
                pendingComma = nil
            case 32, 9, 10, 13:
                break
            default:
                pendingComma = nil
            }
            out.append(b)
        }
        return out
    }

    /// A string, a number's text (integers as digits; `"null"` reads as no value).
    public func string(_ key: String) -> String? {
        switch self[key] {
        case .string(let s)?: s == "null" ? nil : s
        case .number(let text)?: Self.canonical(number: text)
        case .bool(let b)?: b ? "true" : "false"
        default: nil
        }
    }

    /// A number, or a string of an integer; a fractional number is truncated.
    public func int(_ key: String) -> Int? {
        switch self[key] {
        case .number(let text)?: Int(text) ?? Double(text).flatMap { Int(exactly: $0.rounded(.towardZero)) }
        case .string(let s)?: Int(s)
        case .bool(let b)?: b ? 1 : 0
        default: nil
        }
    }

    public func fields(_ key: String) -> JSONFields? {
        self[key].flatMap(JSONFields.init)
    }

    /// The objects of an array (other elements are skipped); empty when `key` is no array.
    public func array(_ key: String) -> [JSONFields] {
        guard case .array(let items)? = self[key] else { return [] }
        return items.compactMap(JSONFields.init)
    }

    /// A number as written, integral values as plain digits (`1.0`, `1e3` → `1`, `1000`).
    static func canonical(number text: String) -> String {
        if let i = Int(text) { return String(i) }
        guard let d = Double(text) else { return text }
        return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
    }
}
