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
/// Like postgres-nio's `PSQLError`, it says where it happened: the statement (the catalogue
/// function that ran it, `Outbox.messageClaimMany`, or the query's caller) and the caller's
/// `file:line` (`#fileID`/`#line` defaults of `Connection.query`, `execute`, `executeScript`).
///
/// `description` is safe to log: for an error the server raised it names only the SQLSTATE,
/// the statement and the location — never the server's message, DETAIL or HINT, which may
/// quote bound values (a phone number, a message body) — and it never contains passwords.
/// Errors raised on this side (connecting, decoding, misuse) keep their own message, which
/// names no value. `debugDescription` adds the server's message and fields, for debugging.
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
    /// The server's message for server errors (may quote input: not in `description`), or
    /// this side's own.
    public var message: String
    public var detail: String?
    public var hint: String?
    public var constraint: String?
    /// The statement that failed: a catalogue statement's name, or the query's caller.
    public var statement: String?
    public var file: String
    public var line: Int

    public init(
        _ kind: Kind, _ message: String, sqlState: SQLState? = nil, detail: String? = nil,
        hint: String? = nil, constraint: String? = nil, statement: String? = nil,
        file: String = #fileID, line: Int = #line
    ) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
        self.hint = hint
        self.constraint = constraint
        self.statement = statement
        self.file = file
        self.line = line
    }

    /// True when the server raised it: its message may quote input.
    var isFromServer: Bool { sqlState != nil || kind == .server }

    public var description: String {
        var s: String
        if isFromServer {
            s = kind == .connectionClosed ? "the database connection was lost" : "database error"
        } else {
            s = message
        }
        if let sqlState { s += " (SQLSTATE \(sqlState))" }
        if let statement { s += " in \(statement) at \(file):\(line)" }
        return s
    }

    public var debugDescription: String {
        var s = "PostgresError.\(kind.rawValue): \(message)"
        if let sqlState { s += " (SQLSTATE \(sqlState))" }
        if let statement { s += " statement=\(statement)" }
        if let constraint { s += " constraint=\(constraint)" }
        if let detail { s += " detail=\(detail)" }
        if let hint { s += " hint=\(hint)" }
        return s + " [\(file):\(line)]"
    }

    /// Records where a statement failed, once (the innermost call that knows it wins).
    /// `function` is a `#function` (`messageClaimMany(_:owner:limit:...)`): its name is kept.
    mutating func locate(statement function: String, file: String, line: Int) {
        guard statement == nil else { return }
        let isSignature = function.hasSuffix(":)") || function.hasSuffix("()")
        statement = isSignature ? String(function.prefix { $0 != "(" }) : function
        self.file = file
        self.line = line
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
