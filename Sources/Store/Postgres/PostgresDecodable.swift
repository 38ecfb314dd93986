public import Foundation

/// Where a value being decoded came from, for error messages.
public struct DecodingContext: Sendable {
    public var column: String
    public var type: PostgresType

    func mismatch<T>(_ swiftType: T.Type) -> PostgresError {
        PostgresError(.decoding, "column '\(column)': cannot decode \(type) as \(swiftType)")
    }

    func malformed<T>(_ swiftType: T.Type) -> PostgresError {
        PostgresError(.decoding, "column '\(column)': malformed \(type) value for \(swiftType)")
    }
}

/// A Swift value that can be read from a binary-format result column.
public protocol PostgresDecodable: Sendable {
    static func decode(from bytes: UnsafeRawBufferPointer, context: DecodingContext) throws -> Self
    /// Called for SQL NULL; only `Optional` accepts it.
    static func decodeNull(context: DecodingContext) throws -> Self
}

extension PostgresDecodable {
    public static func decodeNull(context: DecodingContext) throws -> Self {
        throw PostgresError(.decoding, "column '\(context.column)': NULL cannot be decoded as \(Self.self); use \(Self.self)?")
    }
}

extension UnsafeRawBufferPointer {
    @inline(__always)
    func readBigEndian<I: FixedWidthInteger>(_: I.Type, at offset: Int = 0) -> I {
        var value: I = 0
        withUnsafeMutableBytes(of: &value) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: self[offset..<offset + MemoryLayout<I>.size])) }
        return I(bigEndian: value)
    }
}

/// Reads any PostgreSQL integer type, widening as needed.
func decodeInteger<T>(_ bytes: UnsafeRawBufferPointer, _ context: DecodingContext, as swiftType: T.Type) throws -> Int64 {
    switch (context.type, bytes.count) {
    case (.int8, 8): return bytes.readBigEndian(Int64.self)
    case (.int4, 4): return Int64(bytes.readBigEndian(Int32.self))
    case (.int2, 2): return Int64(bytes.readBigEndian(Int16.self))
    case (.oid, 4): return Int64(bytes.readBigEndian(UInt32.self))
    case (.numeric, _):
        // sum(bigint) and friends are numeric: accept them when they hold an integer.
        let d = try decodeNumeric(bytes, context)
        guard d.rounded() == d, let v = Int64(exactly: d) else {
            throw PostgresError(.decoding, "column '\(context.column)': numeric value \(d) is not an integer \(swiftType)")
        }
        return v
    case (.int8, _), (.int4, _), (.int2, _), (.oid, _): throw context.malformed(swiftType)
    default: throw context.mismatch(swiftType)
    }
}

extension Int64 {
    public static func decode(from bytes: UnsafeRawBufferPointer, context: DecodingContext) throws -> Int64 {
        try decodeInteger(bytes, context, as: Int64.self)
    }
}

extension Int {
    public static func decode(from bytes: UnsafeRawBufferPointer, context: DecodingContext) throws -> Int {
        Int(try decodeInteger(bytes, context, as: Int.self))
    }
}

extension Int32 {
    public static func decode(from bytes: UnsafeRawBufferPointer, context: DecodingContext) throws -> Int32 {
        let v = try decodeInteger(bytes, context, as: Int32.self)
        guard let narrowed = Int32(exactly: v) else { throw PostgresError(.decoding, "column '\(context.column)': \(context.type) value out of range for Int32") }
        return narrowed
    }
}

extension Int16 {
    public static func decode(from bytes: UnsafeRawBufferPointer, context: DecodingContext) throws -> Int16 {
        let v = try decodeInteger(bytes, context, as: Int16.self)
        guard let narrowed = Int16(exactly: v) else { throw PostgresError(.decoding, "column '\(context.column)': \(context.type) value out of range for Int16") }
        return narrowed
    }
}

extension UInt8 {
    public static func decode(from bytes: UnsafeRawBufferPointer, context: DecodingContext) throws -> UInt8 {
        guard context.type == .char, bytes.count == 1 else { throw context.mismatch(UInt8.self) }
        return bytes[0]
    }
}

extension Double {
    public static func decode(from bytes: UnsafeRawBufferPointer, context: DecodingContext) throws -> Double {
        switch (context.type, bytes.count) {
        case (.float8, 8): return Double(bitPattern: bytes.readBigEndian(UInt64.self))
        case (.float4, 4): return Double(Float(bitPattern: bytes.readBigEndian(UInt32.self)))
        case (.numeric, _): return try decodeNumeric(bytes, context)
        case (.int8, _), (.int4, _), (.int2, _): return Double(try decodeInteger(bytes, context, as: Double.self))
        default: throw context.mismatch(Double.self)
        }
    }
}

/// numeric's binary form: ndigits, weight, sign, dscale, then base-10000 digits.
func decodeNumeric(_ bytes: UnsafeRawBufferPointer, _ context: DecodingContext) throws -> Double {
    guard bytes.count >= 8 else { throw context.malformed(Double.self) }
    let ndigits = Int(bytes.readBigEndian(Int16.self, at: 0))
    let weight = Int(bytes.readBigEndian(Int16.self, at: 2))
    let sign = bytes.readBigEndian(UInt16.self, at: 4)
    guard bytes.count == 8 + 2 * ndigits else { throw context.malformed(Double.self) }
    if sign == 0xC000 { return .nan }
    if sign == 0xD000 { return .infinity }
    if sign == 0xF000 { return -.infinity }
    var value = 0.0
    for i in 0..<ndigits {
        let digit = Double(bytes.readBigEndian(Int16.self, at: 8 + 2 * i))
        value += digit * pow(10_000, Double(weight - i))
    }
    return sign == 0x4000 ? -value : value
}

extension Bool {
    public static func decode(from bytes: UnsafeRawBufferPointer, context: DecodingContext) throws -> Bool {
        guard context.type == .bool else { throw context.mismatch(Bool.self) }
        guard bytes.count == 1 else { throw context.malformed(Bool.self) }
        return bytes[0] != 0
    }
}

extension String {
    public static func decode(from bytes: UnsafeRawBufferPointer, context: DecodingContext) throws -> String {
        switch context.type {
        case .text, .varchar, .bpchar, .name, .json, .char, .unknown:
            return String(decoding: bytes, as: UTF8.self)
        case .jsonb:
            guard bytes.first == 1 else { throw context.malformed(String.self) }
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes.dropFirst()), as: UTF8.self)
        case .uuid:
            return try UUID.decode(from: bytes, context: context).uuidString.lowercased()
        default:
            // Enumerated types and domains over text arrive with their own OIDs: accept
            // anything that is valid UTF-8 text, reject the binary types above.
            if [.int2, .int4, .int8, .float4, .float8, .bool, .bytea, .timestamptz, .timestamp, .date, .numeric].contains(context.type) {
                throw context.mismatch(String.self)
            }
            guard let s = String(validatingUTF8Bytes: bytes) else { throw context.mismatch(String.self) }
            return s
        }
    }
}

extension String {
    init?(validatingUTF8Bytes bytes: UnsafeRawBufferPointer) {
        var it = bytes.makeIterator()
        var codec = UTF8()
        loop: while true {
            switch codec.decode(&it) {
            case .scalarValue: continue
            case .emptyInput: break loop
            case .error: return nil
            }
        }
        self = String(decoding: bytes, as: UTF8.self)
    }
}

extension Date {
    public static func decode(from bytes: UnsafeRawBufferPointer, context: DecodingContext) throws -> Date {
        switch (context.type, bytes.count) {
        case (.timestamptz, 8), (.timestamp, 8):
            let micros = bytes.readBigEndian(Int64.self)
            if micros == .max { return .distantFuture }
            if micros == .min { return .distantPast }
            return Date(timeIntervalSince1970: postgresEpochOffsetSeconds + Double(micros) / 1_000_000)
        case (.date, 4):
            let days = bytes.readBigEndian(Int32.self)
            return Date(timeIntervalSince1970: postgresEpochOffsetSeconds + Double(days) * 86_400)
        case (.timestamptz, _), (.timestamp, _), (.date, _): throw context.malformed(Date.self)
        default: throw context.mismatch(Date.self)
        }
    }
}

extension UUID {
    public static func decode(from bytes: UnsafeRawBufferPointer, context: DecodingContext) throws -> UUID {
        guard context.type == .uuid else { throw context.mismatch(UUID.self) }
        guard bytes.count == 16 else { throw context.malformed(UUID.self) }
        var u: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &u) { $0.copyMemory(from: bytes) }
        return UUID(uuid: u)
    }
}

extension Data: PostgresDecodable {
    public static func decode(from bytes: UnsafeRawBufferPointer, context: DecodingContext) throws -> Data {
        guard context.type == .bytea else { throw context.mismatch(Data.self) }
        return Data(bytes)
    }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public static func decode(from bytes: UnsafeRawBufferPointer, context: DecodingContext) throws -> Wrapped? {
        try Wrapped.decode(from: bytes, context: context)
    }
    public static func decodeNull(context: DecodingContext) throws -> Wrapped? { nil }
}

/// One-dimensional arrays of any decodable element; `[UInt8]` reads `bytea`.
extension Array: PostgresDecodable where Element: PostgresArrayElement {
    public static func decode(from bytes: UnsafeRawBufferPointer, context: DecodingContext) throws -> [Element] {
        if Element.self == UInt8.self {
            guard context.type == .bytea else { throw context.mismatch([UInt8].self) }
            return Array<UInt8>(bytes) as! [Element]
        }
        guard bytes.count >= 12 else { throw context.mismatch([Element].self) }
        let dims = bytes.readBigEndian(Int32.self, at: 0)
        let elementType = PostgresType(rawValue: bytes.readBigEndian(UInt32.self, at: 8))
        if dims == 0 { return [] }
        guard dims == 1, bytes.count >= 20 else {
            throw PostgresError(.decoding, "column '\(context.column)': only one-dimensional arrays decode as [\(Element.self)]")
        }
        let count = Int(bytes.readBigEndian(Int32.self, at: 12))
        var offset = 20
        var result: [Element] = []
        result.reserveCapacity(count)
        let elementContext = DecodingContext(column: context.column, type: elementType)
        for _ in 0..<count {
            guard offset + 4 <= bytes.count else { throw context.malformed([Element].self) }
            let length = Int(bytes.readBigEndian(Int32.self, at: offset))
            offset += 4
            if length < 0 {
                result.append(try Element.decodeNull(context: elementContext))
                continue
            }
            guard offset + length <= bytes.count else { throw context.malformed([Element].self) }
            let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length])
            result.append(try Element.decode(from: slice, context: elementContext))
            offset += length
        }
        return result
    }
}

extension JSONB: PostgresDecodable {
    public static func decode(from bytes: UnsafeRawBufferPointer, context: DecodingContext) throws -> JSONB<Value> {
        let text: UnsafeRawBufferPointer
        switch context.type {
        case .jsonb:
            guard bytes.first == 1 else { throw context.malformed(Value.self) }
            text = UnsafeRawBufferPointer(rebasing: bytes.dropFirst())
        case .json, .text: text = bytes
        default: throw context.mismatch(Value.self)
        }
        do {
            return JSONB(try JSONDecoder().decode(Value.self, from: Data(text)))
        } catch {
            throw PostgresError(.decoding, "column '\(context.column)': JSON does not decode as \(Value.self): \(error)")
        }
    }
}
