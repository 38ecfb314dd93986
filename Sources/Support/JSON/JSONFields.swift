import Foundation

/// Lenient typed access to a decoded JSON object: providers send numbers as strings and strings
/// as numbers ("total":"2", "request_timestamp":1330464356).
public struct JSONFields {
    public let object: [String: Any]

    public init(_ object: [String: Any]) { self.object = object }

    /// Parses a JSON object; tolerates the trailing commas (`"error":"…",}`) and `// comments` of
    /// the provider documentation's examples.
    public init?(data: [UInt8]) {
        if let object = (try? JSONSerialization.jsonObject(with: Data(data))) as? [String: Any] {
            self.object = object
        } else if let object = (try? JSONSerialization.jsonObject(with: Data(Self.withoutTrailingCommas(Self.withoutComments(data))))) as? [String: Any] {
            self.object = object
        } else {
            return nil
        }
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

    public func string(_ key: String) -> String? {
        switch object[key] {
        case let s as String: s == "null" ? nil : s
        case let n as NSNumber: n.stringValue
        default: nil
        }
    }

    public func int(_ key: String) -> Int? {
        switch object[key] {
        case let n as NSNumber: n.intValue
        case let s as String: Int(s)
        default: nil
        }
    }

    public func fields(_ key: String) -> JSONFields? {
        (object[key] as? [String: Any]).map(JSONFields.init)
    }

    public func array(_ key: String) -> [JSONFields] {
        (object[key] as? [Any])?.compactMap { ($0 as? [String: Any]).map(JSONFields.init) } ?? []
    }
}
