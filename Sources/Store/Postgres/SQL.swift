/// A SQL statement with its bound values, written by string interpolation.
///
///     let sql: SQL = "SELECT id FROM messages WHERE to_number = \(phone) AND state = ANY(\(states))"
///
/// Every interpolated value becomes a `$n` parameter sent separately from the text
/// (binary format, typed), so no value is ever spliced into SQL; `nil` becomes NULL.
/// Raw text goes in only through the visibly unsafe `\(unsafeRaw: "...")`, and SQL
/// fragments compose with `\(otherSQL)`. `description` shows bound values as `****`.
public struct SQL: Sendable, ExpressibleByStringInterpolation, CustomStringConvertible {
    enum Part: Sendable {
        case text(String)
        case bind(PostgresBind)
    }

    var parts: [Part]

    public init(stringLiteral value: String) { parts = [.text(value)] }

    public init(stringInterpolation: StringInterpolation) { parts = stringInterpolation.parts }

    /// Raw SQL text with no parameters. The name is the warning: never build it from input.
    public init(unsafeRaw text: String) { parts = [.text(text)] }

    public struct StringInterpolation: StringInterpolationProtocol {
        var parts: [Part] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            parts.reserveCapacity(interpolationCount * 2 + 1)
        }

        public mutating func appendLiteral(_ literal: String) {
            if !literal.isEmpty { parts.append(.text(literal)) }
        }

        /// A bound parameter.
        public mutating func appendInterpolation<T: PostgresEncodable>(_ value: T) {
            parts.append(.bind(PostgresBind(value)))
        }

        /// A bound parameter that may be NULL.
        public mutating func appendInterpolation<T: PostgresEncodable>(_ value: T?) {
            parts.append(.bind(PostgresBind(value)))
        }

        /// A fragment of SQL with its own parameters, renumbered in place.
        public mutating func appendInterpolation(_ fragment: SQL) {
            parts += fragment.parts
        }

        /// Raw text, for identifiers and keywords chosen by code, never by input.
        public mutating func appendInterpolation(unsafeRaw text: String) {
            parts.append(.text(text))
        }
    }

    /// The statement text with `$1…$n` placeholders and the values in order.
    public func render() -> (text: String, binds: [PostgresBind]) {
        var text = ""
        var binds: [PostgresBind] = []
        for part in parts {
            switch part {
            case .text(let t): text += t
            case .bind(let b):
                binds.append(b)
                text += "$\(binds.count)"
            }
        }
        return (text, binds)
    }

    public var description: String {
        let (text, binds) = render()
        if binds.isEmpty { return text }
        return text + " [" + binds.map { _ in "****" }.joined(separator: ", ") + "]"
    }

    public static func + (lhs: SQL, rhs: SQL) -> SQL {
        var s = lhs
        s.parts += rhs.parts
        return s
    }
}

/// One bound parameter: its type and its binary value (`nil` is NULL).
public struct PostgresBind: Sendable {
    public var type: PostgresType
    public var bytes: [UInt8]?

    public init<T: PostgresEncodable>(_ value: T) {
        type = T.postgresType
        if value.isPostgresNull {
            bytes = nil
        } else {
            var buffer: [UInt8] = []
            value.encode(into: &buffer)
            bytes = buffer
        }
    }
}
