import Foundation
import Support

/// A tolerant reader of Plum's XML answers (`queue.xml`, `status.xml`, `messages.xml`, …), for a
/// provider that answers XML although the client asked for JSON. It gives the envelope in the
/// shape the JSON answer has, so the client reads both alike:
///
///     <queue><status>success</status><error/><result><sms_messages><sms_message>…
///     → ["status": "success", "error": "", "result": ["sms_messages": [[…]]]]
///
/// Leaves are strings; an element whose children all are `<x>` and whose own name is `xs`
/// (`sms_messages` of `sms_message`) is an array; any other element with children is an object.
/// Attributes, comments, processing instructions and doctypes are skipped; entities and CDATA are
/// decoded. The provider's documentation has a leaf it never closes
/// (`<result_url>http://…<result_url>`): an element that is still open when its parent closes is
/// dropped and its children, if any, go to the parent — the rest of the item survives.
enum PlumXML {
    /// The envelope as `JSONFields`, or nil when the body is not an XML document with a `<status>`.
    static func envelope(_ data: [UInt8]) -> JSONFields? {
        guard let root = parse(data), let fields = JSONFields(value(root)), case .string? = fields["status"] else { return nil }
        return fields
    }

    final class Element {
        let name: String
        var text = ""
        var children: [Element] = []
        init(name: String) { self.name = name }
    }

    /// The element as JSON: a string, an array or an object (a repeated child name: the last
    /// counts, as `JSONFields` reads it).
    static func value(_ element: Element) -> JSONValue {
        guard let first = element.children.first else { return .string(element.text) }
        if element.name == first.name + "s", element.children.allSatisfy({ $0.name == first.name }) {
            return .array(element.children.map { value($0) })
        }
        return .object(element.children.map { JSONMember(key: $0.name, value: value($0)) })
    }

    /// The document's root element; nil when there is none.
    static func parse(_ data: [UInt8]) -> Element? {
        let text = String(decoding: data, as: UTF8.self)
        var stack: [Element] = []
        var root: Element?
        var i = text.startIndex
        while i < text.endIndex {
            guard let open = text[i...].firstIndex(of: "<") else {
                stack.last?.text += decodeEntities(text[i...])
                break
            }
            if open > i { stack.last?.text += decodeEntities(text[i..<open]) }
            let rest = text[open...]
            if rest.hasPrefix("<!--") {
                guard let end = rest.range(of: "-->") else { break }
                i = end.upperBound
                continue
            }
            if rest.hasPrefix("<![CDATA[") {
                guard let end = rest.range(of: "]]>") else { break }
                stack.last?.text += rest[rest.index(open, offsetBy: 9)..<end.lowerBound]
                i = end.upperBound
                continue
            }
            guard let close = rest.firstIndex(of: ">") else { break }
            i = text.index(after: close)
            var tag = rest[rest.index(after: open)..<close]
            if tag.hasPrefix("?") || tag.hasPrefix("!") { continue }
            if tag.hasPrefix("/") {
                let name = tag.dropFirst().trimmingCharacters(in: .whitespacesAndNewlines)
                // Close the innermost open element of that name; ones opened inside it and never
                // closed are dropped, their children kept. A close tag nothing opened is ignored.
                guard let index = stack.lastIndex(where: { $0.name == name }) else { continue }
                while stack.count > index + 1 {
                    let unclosed = stack.removeLast()
                    stack[stack.count - 1].children += unclosed.children
                }
                let element = stack.removeLast()
                if let parent = stack.last { parent.children.append(element) } else if root == nil { root = element }
                continue
            }
            let selfClosing = tag.hasSuffix("/")
            if selfClosing { tag = tag.dropLast() }
            let name = String(tag.prefix { !$0.isWhitespace })
            guard !name.isEmpty else { continue }
            let element = Element(name: name)
            if selfClosing {
                if let parent = stack.last { parent.children.append(element) } else if root == nil { root = element }
            } else {
                stack.append(element)
            }
        }
        // A document cut short: close what is open, dropping unclosed leaves as above.
        while stack.count > 1 {
            let unclosed = stack.removeLast()
            stack[stack.count - 1].children += unclosed.children
        }
        return root ?? stack.first
    }

    private static func decodeEntities(_ text: Substring) -> String {
        guard text.contains("&") else { return String(text) }
        var out = ""
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            if c == "&", let semicolon = text[i...].prefix(12).firstIndex(of: ";") {
                let entity = text[text.index(after: i)..<semicolon]
                var replacement: String?
                switch entity {
                case "amp": replacement = "&"
                case "lt": replacement = "<"
                case "gt": replacement = ">"
                case "quot": replacement = "\""
                case "apos": replacement = "'"
                default:
                    if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                        replacement = UInt32(entity.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init).map { String(Character($0)) }
                    } else if entity.hasPrefix("#") {
                        replacement = UInt32(entity.dropFirst()).flatMap(Unicode.Scalar.init).map { String(Character($0)) }
                    }
                }
                if let replacement {
                    out += replacement
                    i = text.index(after: semicolon)
                    continue
                }
            }
            out.append(c)
            i = text.index(after: i)
        }
        return out
    }
}
