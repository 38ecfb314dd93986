/// A closed vocabulary the database spells as text (`messages.state`, `campaigns.status`,
/// `message_events.kind` and `source`): one Swift enum per vocabulary, its `rawValue` the SQL
/// spelling, mirrored in the schema's CHECK constraints and held to them by a test.
///
/// Interpolated into `SQL`, a word becomes a quoted string literal (`'pending'`), not a bound
/// parameter: the words are constants chosen by code, never by input, and the planner must
/// see them to use the partial indexes (`WHERE state = 'pending'`) in generic plans.
public protocol SQLVocabulary: RawRepresentable, CaseIterable, Hashable, Sendable, Codable,
    CustomStringConvertible, PostgresDecodable where RawValue == String, AllCases == [Self] {}

extension SQLVocabulary {
    /// The SQL spelling.
    public var description: String { rawValue }

    /// The word as a SQL string literal, `'pending'`.
    public var sqlLiteral: SQL { SQL(unsafeRaw: "'" + rawValue + "'") }

    public static func decode(from bytes: UnsafeRawBufferPointer, context: DecodingContext) throws -> Self {
        let text = try String.decode(from: bytes, context: context)
        guard let word = Self(rawValue: text) else {
            throw PostgresError(.decoding, "column '\(context.column)': '\(text)' is not a \(Self.self)")
        }
        return word
    }
}

extension SQL.StringInterpolation {
    /// A vocabulary word as a string literal: `state = \(MessageState.pending)` → `state = 'pending'`.
    public mutating func appendInterpolation<V: SQLVocabulary>(_ word: V) {
        appendInterpolation(word.sqlLiteral)
    }

    /// Words as a list of literals: `state IN (\(MessageState.finals))` → `state IN ('delivered', …)`.
    public mutating func appendInterpolation<V: SQLVocabulary>(_ words: [V]) {
        appendInterpolation(unsafeRaw: words.map { "'" + $0.rawValue + "'" }.joined(separator: ", "))
    }
}
