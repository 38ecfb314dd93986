public import Foundation

/// A Swift value that can be sent to PostgreSQL as a typed, binary-format parameter.
public protocol PostgresEncodable: Sendable {
    /// The PostgreSQL type the value is sent as.
    static var postgresType: PostgresType { get }
    /// Appends the value in PostgreSQL's binary wire format. Not called for NULL.
    func encode(into buffer: inout [UInt8])
    /// True when the value is SQL NULL (only `Optional.none`).
    var isPostgresNull: Bool { get }
}

/// A value that can be an element of a bound array (`= ANY($1)`, `unnest($1)`).
public protocol PostgresArrayElement: PostgresEncodable, PostgresDecodable {
    static var postgresArrayType: PostgresType { get }
}

extension PostgresEncodable {
    public var isPostgresNull: Bool { false }
}

@inline(__always)
func appendBigEndian<I: FixedWidthInteger>(_ value: I, to buffer: inout [UInt8]) {
    withUnsafeBytes(of: value.bigEndian) { buffer.append(contentsOf: $0) }
}

extension Int64: PostgresArrayElement {
    public static var postgresType: PostgresType { .int8 }
    public static var postgresArrayType: PostgresType { .int8Array }
    public func encode(into buffer: inout [UInt8]) { appendBigEndian(self, to: &buffer) }
}

extension Int: PostgresArrayElement {
    public static var postgresType: PostgresType { .int8 }
    public static var postgresArrayType: PostgresType { .int8Array }
    public func encode(into buffer: inout [UInt8]) { appendBigEndian(Int64(self), to: &buffer) }
}

extension Int32: PostgresArrayElement {
    public static var postgresType: PostgresType { .int4 }
    public static var postgresArrayType: PostgresType { .int4Array }
    public func encode(into buffer: inout [UInt8]) { appendBigEndian(self, to: &buffer) }
}

extension Int16: PostgresArrayElement {
    public static var postgresType: PostgresType { .int2 }
    public static var postgresArrayType: PostgresType { .int2Array }
    public func encode(into buffer: inout [UInt8]) { appendBigEndian(self, to: &buffer) }
}

extension Double: PostgresArrayElement {
    public static var postgresType: PostgresType { .float8 }
    public static var postgresArrayType: PostgresType { .float8Array }
    public func encode(into buffer: inout [UInt8]) { appendBigEndian(bitPattern, to: &buffer) }
}

extension Bool: PostgresArrayElement {
    public static var postgresType: PostgresType { .bool }
    public static var postgresArrayType: PostgresType { .boolArray }
    public func encode(into buffer: inout [UInt8]) { buffer.append(self ? 1 : 0) }
}

extension String: PostgresArrayElement {
    public static var postgresType: PostgresType { .text }
    public static var postgresArrayType: PostgresType { .textArray }
    public func encode(into buffer: inout [UInt8]) { buffer.append(contentsOf: utf8) }
}

extension Substring: PostgresEncodable {
    public static var postgresType: PostgresType { .text }
    public func encode(into buffer: inout [UInt8]) { buffer.append(contentsOf: utf8) }
}

/// Microseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01 UTC).
let postgresEpochOffsetSeconds: Double = 946_684_800

extension Date: PostgresArrayElement {
    public static var postgresType: PostgresType { .timestamptz }
    public static var postgresArrayType: PostgresType { .timestamptzArray }
    public func encode(into buffer: inout [UInt8]) {
        let micros = ((timeIntervalSince1970 - postgresEpochOffsetSeconds) * 1_000_000).rounded()
        appendBigEndian(Int64(micros), to: &buffer)
    }
}

extension UUID: PostgresArrayElement {
    public static var postgresType: PostgresType { .uuid }
    public static var postgresArrayType: PostgresType { .uuidArray }
    public func encode(into buffer: inout [UInt8]) {
        withUnsafeBytes(of: uuid) { buffer.append(contentsOf: $0) }
    }
}

extension Data: PostgresEncodable {
    public static var postgresType: PostgresType { .bytea }
    public func encode(into buffer: inout [UInt8]) { buffer.append(contentsOf: self) }
}

/// `UInt8` is only ever bound inside `[UInt8]`, which is sent as `bytea`.
extension UInt8: PostgresArrayElement {
    public static var postgresType: PostgresType { .char }
    public static var postgresArrayType: PostgresType { .bytea }
    public func encode(into buffer: inout [UInt8]) { buffer.append(self) }
}

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public static var postgresType: PostgresType { Wrapped.postgresType }
    public var isPostgresNull: Bool { self == nil }
    public func encode(into buffer: inout [UInt8]) { self?.encode(into: &buffer) }
}

extension Optional: PostgresArrayElement where Wrapped: PostgresArrayElement {
    public static var postgresArrayType: PostgresType { Wrapped.postgresArrayType }
}

/// Arrays bind as one-dimensional PostgreSQL arrays; `[UInt8]` binds as `bytea`.
extension Array: PostgresEncodable where Element: PostgresArrayElement {
    public static var postgresType: PostgresType { Element.postgresArrayType }

    public func encode(into buffer: inout [UInt8]) {
        if Element.self == UInt8.self {
            withUnsafeBytes { buffer.append(contentsOf: $0) }
            return
        }
        appendBigEndian(Int32(1), to: &buffer)  // dimensions
        appendBigEndian(Int32(contains(where: \.isPostgresNull) ? 1 : 0), to: &buffer)
        appendBigEndian(Int32(bitPattern: Element.postgresType.rawValue), to: &buffer)
        appendBigEndian(Int32(count), to: &buffer)
        appendBigEndian(Int32(1), to: &buffer)  // lower bound
        var scratch: [UInt8] = []
        for element in self {
            if element.isPostgresNull {
                appendBigEndian(Int32(-1), to: &buffer)
                continue
            }
            scratch.removeAll(keepingCapacity: true)
            element.encode(into: &scratch)
            appendBigEndian(Int32(scratch.count), to: &buffer)
            buffer.append(contentsOf: scratch)
        }
    }
}

/// A `jsonb` value carried through `Codable`.
public struct JSONB<Value: Codable & Sendable>: Sendable {
    public var value: Value
    public init(_ value: Value) { self.value = value }
}

extension JSONB: PostgresEncodable {
    public static var postgresType: PostgresType { .jsonb }
    public func encode(into buffer: inout [UInt8]) {
        buffer.append(1)  // jsonb binary format version
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        buffer.append(contentsOf: (try? encoder.encode(value)) ?? Data("null".utf8))
    }
}
