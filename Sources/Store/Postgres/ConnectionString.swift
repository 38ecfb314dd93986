import CLibPQ

/// Rewrites a libpq connection string or URI as a key/value string naming `database`.
/// Throws with libpq's message (passwords redacted) when the string does not parse.
public func replacingDatabase(in conninfo: String, with database: String) throws -> String {
    var errorMessage: UnsafeMutablePointer<CChar>?
    guard let options = PQconninfoParse(conninfo, &errorMessage) else {
        let message = errorMessage.map { String(cString: $0) } ?? "invalid connection string"
        if let errorMessage { PQfreemem(errorMessage) }
        throw PostgresError(.usage, "invalid DATABASE_URL: " + redactConnectionSecrets(oneLine(message)))
    }
    defer { PQconninfoFree(options) }
    var parts: [String] = []
    var i = 0
    while let keyword = options[i].keyword {
        defer { i += 1 }
        let key = String(cString: keyword)
        guard key != "dbname", let value = options[i].val else { continue }
        parts.append("\(key)=\(quoteConninfoValue(String(cString: value)))")
    }
    parts.append("dbname=\(quoteConninfoValue(database))")
    return parts.joined(separator: " ")
}

/// Quotes a value for a key/value connection string: `'it\'s'`.
func quoteConninfoValue(_ value: String) -> String {
    if !value.isEmpty && value.allSatisfy({ $0.isLetter || $0.isNumber || "_-./:@".contains($0) }) { return value }
    return "'" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
}
