/// One problem in a job file, placed like a compiler diagnostic.
///
/// `description` is the line an operator reads:
/// - CSV: `people.csv:7:12: invalid phone number: contains letters`
/// - JSON: `dental.json: messages[3].to: invalid phone number: too short (…)`
/// - whole file: `dental.json: cannot read the file: No such file or directory`
/// - a command-line option: `--from: invalid phone number: …`
/// JSON paths index arrays from 0, as jq does.
public struct JobError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Location: Sendable, Hashable {
        case file
        case position(line: Int, column: Int)
        case path(String)
        /// A command-line option standing in for a campaign field (`--from`).
        case option(String)
    }

    public var file: String
    public var location: Location
    /// The message's id when known (given in the file, or derived).
    public var messageID: String?
    public var message: String

    public init(file: String, location: Location, messageID: String? = nil, message: String) {
        self.file = file
        self.location = location
        self.messageID = messageID
        self.message = message
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
