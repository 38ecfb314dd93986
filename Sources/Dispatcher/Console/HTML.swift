import HTTP
import Support
/// HTML that is safe by construction.
///
/// Markup comes only from string literals in the source (`StaticString`): a value from
/// anywhere else (the database, a request) can only be interpolated, and an interpolated
/// `String` is always escaped. Only another `HTML` value goes in as it is:
///
///     let row: HTML = "<td class=\"name\">\(campaign.name)</td>"   // the name is escaped
///
/// There is no initializer from a run-time `String` other than `HTML(escaping:)`.
public struct HTML: Sendable, Equatable, ExpressibleByStringInterpolation, CustomStringConvertible {
    /// The markup, ready to send.
    public private(set) var text: String

    public init(stringLiteral value: StaticString) {
        text = value.description
    }

    public init(stringInterpolation: StringInterpolation) {
        text = stringInterpolation.text
    }

    /// Text shown as text: `<`, `>`, `&`, `"` and `'` become entities.
    public init(escaping text: String) {
        self.text = Self.escape(text)
    }

    public static let empty: HTML = ""

    public var description: String { text }

    public struct StringInterpolation: StringInterpolationProtocol {
        var text = ""

        public init(literalCapacity: Int, interpolationCount: Int) {
            text.reserveCapacity(literalCapacity + interpolationCount * 16)
        }

        public mutating func appendLiteral(_ literal: StaticString) {
            text += literal.description
        }

        /// Text: escaped.
        public mutating func appendInterpolation(_ value: String) {
            text += HTML.escape(value)
        }

        /// Text that may be absent: escaped, nothing for nil.
        public mutating func appendInterpolation(_ value: String?) {
            if let value { text += HTML.escape(value) }
        }

        public mutating func appendInterpolation(_ value: Int) {
            text += String(value)
        }

        public mutating func appendInterpolation(_ value: Int64) {
            text += String(value)
        }

        /// Markup built the same way: as it is.
        public mutating func appendInterpolation(_ value: HTML) {
            text += value.text
        }

        public mutating func appendInterpolation(_ values: [HTML]) {
            for value in values { text += value.text }
        }
    }

    public static func + (lhs: HTML, rhs: HTML) -> HTML {
        var result = lhs
        result.text += rhs.text
        return result
    }

    public static func += (lhs: inout HTML, rhs: HTML) { lhs.text += rhs.text }

    /// Escapes text for element content and quoted attribute values alike (`Markup.escape`).
    public static func escape(_ text: String) -> String { Markup.escape(text) }
}

extension Array where Element == HTML {
    /// The elements one after the other.
    func joined() -> HTML {
        var result = HTML.empty
        for element in self { result += element }
        return result
    }
}
