import Foundation

/// Writes Foundation-style JSON objects (dictionaries with `String` keys, arrays, strings,
/// integers, finite doubles, `Bool`, `NSNull`) as compact UTF-8 JSON with keys in byte order.
///
/// `JSONSerialization`'s `.sortedKeys` compares keys as localised strings — a locale object per
/// comparison — which made it most of the sandbox's CPU per Restcomm send. Anything this does
/// not know gives nil, and the caller falls back to `JSONSerialization`.
public enum JSONText {
    public static func write(_ object: Any) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        return append(object, to: &out) ? out : nil
    }

    private static func append(_ value: Any, to out: inout [UInt8]) -> Bool {
        switch value {
        case let s as String:
            appendString(s, to: &out)
        case let b as Bool:
            out += b ? Array("true".utf8) : Array("false".utf8)
        case let i as Int:
            out += Array(String(i).utf8)
        case let i as Int64:
            out += Array(String(i).utf8)
        case let i as Int32:
            out += Array(String(i).utf8)
        case let d as Double:
            guard d.isFinite else { return false }
            out += Array((d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)).utf8)
        case is NSNull:
            out += Array("null".utf8)
        case let dictionary as [String: Any]:
            out.append(UInt8(ascii: "{"))
            var first = true
            for key in dictionary.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                appendString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                guard append(dictionary[key]!, to: &out) else { return false }
            }
            out.append(UInt8(ascii: "}"))
        case let array as [Any]:
            out.append(UInt8(ascii: "["))
            for (i, element) in array.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                guard append(element, to: &out) else { return false }
            }
            out.append(UInt8(ascii: "]"))
        default:
            return false
        }
        return true
    }

    private static let hex = Array("0123456789abcdef".utf8)

    private static func appendString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20:
                out += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
