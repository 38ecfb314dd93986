/// One message as written in a job file (a CSV row or a JSON `messages` element),
/// before validation. Empty CSV cells are absent values.
struct MessageInput {
    enum Field: Hashable {
        case row, id, to, body, sendAt, expiresAt, from
        case variable(String)
        /// The set of variables as a whole (JSON `vars`), for a missing variable.
        case variables
    }

    var id: String?
    var to: String?
    var body: String?
    var sendAt: String?
    var expiresAt: String?
    var from: String?
    var variables: [String: String]
    var source: ValidatedMessage.Source
    /// Places an error about one field.
    var locate: Locator

    enum Locator {
        /// A CSV row: each named column's (line, column), the row's first line.
        case csv(line: Int, fields: [String: (line: Int, column: Int)])
        /// A JSON `messages[index]`.
        case json(index: Int)

        func location(_ field: Field) -> JobError.Location {
            switch self {
            case let .csv(line, fields):
                let name: String? = switch field {
                case .row, .variables: nil
                case .id: "id"
                case .to: "to"
                case .body: "body"
                case .sendAt: "send_at"
                case .expiresAt: "expires_at"
                case .from: "from"
                case let .variable(v): v
                }
                if let name, let at = fields[name] { return .position(line: at.line, column: at.column) }
                return .position(line: line, column: 1)
            case let .json(index):
                let base = "messages[\(index)]"
                return switch field {
                case .row: .path(base)
                case .id: .path(base + ".id")
                case .to: .path(base + ".to")
                case .body: .path(base + ".body")
                case .sendAt: .path(base + ".send_at")
                case .expiresAt: .path(base + ".expires_at")
                case .from: .path(base + ".from")
                case let .variable(v): .path(base + ".vars." + v)
                case .variables: .path(base + ".vars")
                }
            }
        }
    }
}
