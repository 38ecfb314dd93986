/// One problem in a job file, placed like a compiler diagnostic.
///
/// `description` is the line an operator reads:
/// - CSV: `people.csv:7:12: invalid phone number: contains letters`
/// - JSON: `dental.json: messages[3].to: invalid phone number: too short (…)`
/// - whole file: `dental.json: cannot read the file: No such file or directory`
/// - a command-line option: `--from: invalid phone number: …`
/// JSON paths index arrays from 0, as jq does.
///
/// Text quoted from a file (an id, a key, a value) never carries control characters out:
/// they are shown escaped (`\u{0}`), so an error prints as one line on a terminal and is
/// stored as it reads (a NUL, which PostgreSQL cannot store, included).
public struct JobError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Location: Sendable, Hashable {
        case file
        case position(line: Int, column: Int)
        case path(String)
        /// A command-line option standing in for a campaign field (`--from`).
        case option(String)
    }

    public var file: String
    public var location: Location {
        didSet { if location.hasControlCharacters { location = location.escaped } }
    }
    /// The message's id when known (given in the file, or derived).
    public var messageID: String? {
        didSet { if let id = messageID, id.hasControlCharacters { messageID = id.escapingControlCharacters } }
    }
    public var message: String {
        didSet { if message.hasControlCharacters { message = message.escapingControlCharacters } }
    }

    public init(file: String, location: Location, messageID: String? = nil, message: String) {
        self.file = file
        self.location = location.escaped
        self.messageID = messageID?.escapingControlCharacters
        self.message = message.escapingControlCharacters
    }

    public var description: String {
        switch location {
        case .file: "\(file): \(message)"
        case let .position(line, column): "\(file):\(line):\(column): \(message)"
        case let .path(path): "\(file): \(path): \(message)"
        case let .option(name): "\(name): \(message)"
        }
    }
}

extension JobError.Location {
    var hasControlCharacters: Bool {
        switch self {
        case .file, .position: false
        case let .path(text), let .option(text): text.hasControlCharacters
        }
    }

    var escaped: Self {
        switch self {
        case .file, .position: self
        case let .path(text): .path(text.escapingControlCharacters)
        case let .option(text): .option(text.escapingControlCharacters)
        }
    }
}

extension String {
    var hasControlCharacters: Bool {
        unicodeScalars.contains { $0.properties.generalCategory == .control }
    }

    /// Control characters (NUL, line ends, escape…) as `\u{HEX}`; the rest as it is.
    var escapingControlCharacters: String {
        guard hasControlCharacters else { return self }
        var out = ""
        for scalar in unicodeScalars {
            if scalar.properties.generalCategory == .control {
                out += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
