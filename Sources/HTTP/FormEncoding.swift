/// `application/x-www-form-urlencoded` and query strings.
public enum FormEncoding {
    /// Encodes pairs in order: unreserved bytes stay, space becomes `+`, the rest `%XX`.
    public static func encode(_ pairs: [(String, String)]) -> String {
        var out = ""
        for (i, (name, value)) in pairs.enumerated() {
            if i > 0 { out += "&" }
            out += escape(name)
            out += "="
            out += escape(value)
        }
        return out
    }

    public static func escape(_ s: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(s.utf8.count)
        let hex = Array("0123456789ABCDEF".utf8)
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"):
                bytes.append(b)
            case UInt8(ascii: " "):
                bytes.append(UInt8(ascii: "+"))
            default:
                bytes.append(UInt8(ascii: "%"))
                bytes.append(hex[Int(b >> 4)])
                bytes.append(hex[Int(b & 15)])
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Decodes pairs in order. Malformed escapes are kept literally; invalid UTF-8 is replaced.
    public static func decodePairs<S: StringProtocol>(_ s: S) -> [(String, String)] {
        var result: [(String, String)] = []
        for part in s.split(separator: "&", omittingEmptySubsequences: true) {
            if let eq = part.firstIndex(of: "=") {
                result.append((unescape(part[..<eq]), unescape(part[part.index(after: eq)...])))
            } else {
                result.append((unescape(part), ""))
            }
        }
        return result
    }

    /// Decodes into a dictionary; for repeated names the last value wins.
    public static func decode<S: StringProtocol>(_ s: S) -> [String: String] {
        var result: [String: String] = [:]
        for (name, value) in decodePairs(s) { result[name] = value }
        return result
    }

    /// Why a form body cannot be taken as text.
    public enum TextError: Error, Sendable, Equatable, CustomStringConvertible {
        /// A NUL byte, raw or `%00`, in a name or value.
        case nul
        /// Bytes, raw or percent-escaped, that are not UTF-8.
        case invalidUTF8

        public var description: String {
            switch self {
            case .nul: "form fields must not contain NUL"
            case .invalidUTF8: "form fields must be UTF-8"
            }
        }
    }

    /// Decodes a form body into a dictionary (last value wins), refusing a body whose bytes or
    /// decoded names and values are not UTF-8 or contain NUL, which no field may carry on.
    public static func decodeText(_ body: [UInt8]) throws(TextError) -> [String: String] {
        var result: [String: String] = [:]
        for part in body.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let eq = part.firstIndex(of: UInt8(ascii: "="))
            let name = try text(unescapeBytes(part[..<(eq ?? part.endIndex)], plusIsSpace: true))
            let value = try eq.map { i throws(TextError) in try text(unescapeBytes(part[(i + 1)...], plusIsSpace: true)) } ?? ""
            result[name] = value
        }
        return result
    }

    private static func text(_ bytes: [UInt8]) throws(TextError) -> String {
        if bytes.contains(0) { throw .nul }
        guard let s = String(validating: bytes, as: UTF8.self) else { throw .invalidUTF8 }
        return s
    }

    /// Percent-decoding; `plusIsSpace` for form bodies and query strings (not for path segments).
    public static func unescape<S: StringProtocol>(_ s: S, plusIsSpace: Bool = true) -> String {
        let utf8 = Array(s.utf8)
        guard utf8.contains(where: { $0 == UInt8(ascii: "%") || (plusIsSpace && $0 == UInt8(ascii: "+")) }) else {
            return String(s)
        }
        return String(decoding: unescapeBytes(utf8[...], plusIsSpace: plusIsSpace), as: UTF8.self)
    }

    /// Percent-decoding to bytes; malformed escapes are kept literally.
    static func unescapeBytes(_ utf8: ArraySlice<UInt8>, plusIsSpace: Bool) -> [UInt8] {
        let utf8 = Array(utf8)
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count)
        var i = 0
        while i < utf8.count {
            let b = utf8[i]
            if b == UInt8(ascii: "+") && plusIsSpace {
                out.append(UInt8(ascii: " "))
            } else if b == UInt8(ascii: "%"), i + 2 < utf8.count, let h = hexValue(utf8[i + 1]), let l = hexValue(utf8[i + 2]) {
                out.append(h << 4 | l)
                i += 2
            } else {
                out.append(b)
            }
            i += 1
        }
        return out
    }

    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
