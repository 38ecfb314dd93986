/// A message body with `{{name}}` placeholders, parsed once and rendered per row.
///
/// Syntax:
/// - `{{name}}` or `{{ name }}` is replaced by the row's variable `name`. Names are
///   letters, digits, `_`, `-` and `.`.
/// - A backslash right before `{{` makes it literal: `\{{` renders as `{{`. Nothing
///   else is special: a lone `{`, `}`, `}}` or backslash renders as written.
/// - An unclosed `{{` or an invalid name is a parse error.
/// Rendering fails for a variable that is missing or empty (whitespace only) in the
/// row, and for a body that renders empty or whitespace only.
public struct MessageTemplate: Sendable, Hashable {
    public enum Part: Sendable, Hashable {
        case text(String)
        case variable(String)
    }

    public let source: String
    public let parts: [Part]

    /// The distinct variable names, in order of first use.
    public var variables: [String] {
        var seen = Set<String>()
        return parts.compactMap { part in
            if case let .variable(name) = part, seen.insert(name).inserted { return name }
            return nil
        }
    }

    public init(parsing source: String) throws(TemplateError) {
        self.source = source
        var parts: [Part] = []
        var text = ""
        let scalars = Array(source.unicodeScalars)
        var i = 0
        func isOpen(_ at: Int) -> Bool {
            at + 1 < scalars.count && scalars[at] == "{" && scalars[at + 1] == "{"
        }
        while i < scalars.count {
            if scalars[i] == "\\" && isOpen(i + 1) {
                text += "{{"
                i += 3
                continue
            }
            guard isOpen(i) else {
                text.unicodeScalars.append(scalars[i])
                i += 1
                continue
            }
            let openedAt = i
            var j = i + 2
            while j + 1 < scalars.count && !(scalars[j] == "}" && scalars[j + 1] == "}") { j += 1 }
            guard j + 1 < scalars.count else { throw .unclosedPlaceholder(offset: openedAt + 1) }
            var name = ""
            name.unicodeScalars.append(contentsOf: scalars[(i + 2)..<j])
            name = name.trimmingASCIISpaces()
            guard !name.isEmpty else { throw .emptyPlaceholder(offset: openedAt + 1) }
            let valid = name.unicodeScalars.allSatisfy {
                $0.properties.isAlphabetic || ("0"..."9").contains($0) || "_-.".unicodeScalars.contains($0)
            }
            guard valid else { throw .invalidName(name, offset: openedAt + 1) }
            if !text.isEmpty { parts.append(.text(text)); text = "" }
            parts.append(.variable(name))
            i = j + 2
        }
        if !text.isEmpty { parts.append(.text(text)) }
        self.parts = parts
    }

    /// Fills the placeholders from `variables`.
    public func render(_ variables: [String: String]) throws(TemplateError) -> String {
        var out = ""
        for part in parts {
            switch part {
            case let .text(text):
                out += text
            case let .variable(name):
                guard let value = variables[name] else { throw .missingVariable(name) }
                guard !value.isBlank else { throw .emptyVariable(name) }
                out += value
            }
        }
        guard !out.isBlank else { throw .emptyBody }
        return out
    }
}

public enum TemplateError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `offset` is the 1-based character position in the template.
    case unclosedPlaceholder(offset: Int)
    case emptyPlaceholder(offset: Int)
    case invalidName(String, offset: Int)
    case missingVariable(String)
    case emptyVariable(String)
    case emptyBody

    public var description: String {
        switch self {
        case let .unclosedPlaceholder(offset): "unclosed '{{' at character \(offset) of the template (write \\{{ for a literal {{)"
        case let .emptyPlaceholder(offset): "empty placeholder '{{}}' at character \(offset) of the template"
        case let .invalidName(name, offset): "invalid variable name '\(name)' at character \(offset) of the template"
        case let .missingVariable(name): "missing variable '\(name)' for the template"
        case let .emptyVariable(name): "variable '\(name)' is empty"
        case .emptyBody: "the message body is empty"
        }
    }
}

extension String {
    /// True when empty or only whitespace and line breaks.
    var isBlank: Bool { unicodeScalars.allSatisfy { $0.properties.isWhitespace } }
}
