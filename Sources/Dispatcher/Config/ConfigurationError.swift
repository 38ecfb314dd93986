/// A configuration file the worker cannot use: one readable line naming the file and the
/// JSON path (`providers.plum.timeout_s`) or the line and column of a syntax error.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The file named by `--config` cannot be read.
        case unreadable
        /// Syntax or content errors.
        case invalid
    }

    public var kind: Kind
    public var file: String
    public var path: String?
    public var message: String

    public init(_ kind: Kind = .invalid, file: String, path: String? = nil, _ message: String) {
        self.kind = kind
        self.file = file
        self.path = path
        self.message = message
    }

    public var description: String {
        "\(file): " + (path.map { "\($0): " } ?? "") + message
    }
}
