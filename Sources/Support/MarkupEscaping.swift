/// Text for HTML and XML documents (element content and quoted attribute values alike): the
/// five markup characters become references, and a character XML 1.0 cannot carry at all
/// (NUL and the other C0 controls but tab, LF and CR; lone surrogates' replacements; U+FFFE,
/// U+FFFF) becomes U+FFFD, so hostile input always renders as text in a well-formed document.
public enum Markup {
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                let v = scalar.value
                if v == 0x9 || v == 0xA || v == 0xD || (v >= 0x20 && v <= 0xD7FF) || (v >= 0xE000 && v <= 0xFFFD) || v >= 0x10000 {
                    out.unicodeScalars.append(scalar)
                } else {
                    out += "\u{FFFD}"
                }
            }
        }
        return out
    }
}
