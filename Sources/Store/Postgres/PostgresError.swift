/// A five-character SQLSTATE code from the server, with names for the ones the code branches on.
public struct SQLState: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let uniqueViolation = SQLState(rawValue: "23505")
    public static let foreignKeyViolation = SQLState(rawValue: "23503")
    public static let checkViolation = SQLState(rawValue: "23514")
    public static let notNullViolation = SQLState(rawValue: "23502")
    public static let serializationFailure = SQLState(rawValue: "40001")
    public static let deadlockDetected = SQLState(rawValue: "40P01")
    public static let queryCanceled = SQLState(rawValue: "57014")
    /// `lock_timeout` ran out (or NOWAIT found the lock taken).
    public static let lockNotAvailable = SQLState(rawValue: "55P03")
    public static let adminShutdown = SQLState(rawValue: "57P01")
    public static let undefinedTable = SQLState(rawValue: "42P01")
    public static let invalidPassword = SQLState(rawValue: "28P01")
    public static let invalidSQLStatementName = SQLState(rawValue: "26000")
    public static let featureNotSupported = SQLState(rawValue: "0A000")
    public static let duplicatePreparedStatement = SQLState(rawValue: "42P05")

    /// Class 08 (connection exception) and class 57P (operator intervention) end the connection.
    public var isConnectionLoss: Bool { rawValue.hasPrefix("08") || rawValue.hasPrefix("57P") }
    /// Errors after which the same transaction, retried, may succeed.
    public var isTransient: Bool { self == .serializationFailure || self == .deadlockDetected }

    public var description: String { rawValue }
}

/// The one error type of the Store module.
///
/// `description` is safe to log: it never contains bound values, passwords or the
/// server's DETAIL line (which may quote row values). `debugDescription` adds the detail.
public struct PostgresError: Error, CustomStringConvertible, CustomDebugStringConvertible, Sendable {
    public enum Kind: String, Sendable {
        /// The connection could not be opened (host down, wrong password, bad URL).
        case connectionFailed
        /// The connection was lost or is unusable.
        case connectionClosed
        /// The server answered with an error (see `sqlState`).
        case server
        /// A value could not be decoded into the requested Swift type.
        case decoding
        /// The client was used wrongly (a bug in the caller).
        case usage
    }

    public var kind: Kind
    public var sqlState: SQLState?
    public var message: String
    public var detail: String?
    public var hint: String?
    public var constraint: String?
    public var file: String
    public var line: Int

    public init(
        _ kind: Kind, _ message: String, sqlState: SQLState? = nil, detail: String? = nil,
        hint: String? = nil, constraint: String? = nil, file: String = #fileID, line: Int = #line
    ) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
        self.hint = hint
        self.constraint = constraint
        self.file = file
        self.line = line
    }

    public var description: String {
        var s = message
        if let sqlState { s += " (SQLSTATE \(sqlState))" }
        return s
    }

    public var debugDescription: String {
        var s = "PostgresError.\(kind.rawValue): \(description)"
        if let constraint { s += " constraint=\(constraint)" }
        if let detail { s += " detail=\(detail)" }
        if let hint { s += " hint=\(hint)" }
        return s + " [\(file):\(line)]"
    }

    /// True for errors that mean the database could not be reached or was lost.
    public var isUnavailable: Bool {
        kind == .connectionFailed || kind == .connectionClosed || (sqlState?.isConnectionLoss ?? false)
    }
}

/// Collapses libpq's multi-line messages into one readable line.
func oneLine(_ text: String) -> String {
    text.split(whereSeparator: { $0 == "\n" || $0 == "\t" || $0 == "\r" })
        .map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty }
        .joined(separator: " ")
}

/// Removes passwords from a connection string or URI (and from messages that echo one).
public func redactConnectionSecrets(_ text: String) -> String {
    var out = text
    // URI form: scheme://user:password@host
    if let re = try? Regex(#"(://[^:/@\s]*:)[^@\s]*@"#) {
        out = out.replacing(re) { m in "\(m.output[1].substring ?? "")****@" }
    }
    // key=value form and URI query: password=...
    if let re = try? Regex(#"(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]*)"#) {
        out = out.replacing(re) { m in "\(m.output[1].substring ?? "")****" }
    }
    return out
}

import Foundation
