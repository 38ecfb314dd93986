import Foundation
import FoundationXML
import Testing
import Support

/// `Markup.escape`: the one escaping of HTML pages and Plum's XML reply documents.
@Suite struct MarkupTests {
    @Test func markupCharactersBecomeReferences() {
        #expect(Markup.escape(#"<script>alert("x") & 'y'</script>"#)
                == "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;")
        #expect(Markup.escape("plain text, ünïcode and 😀") == "plain text, ünïcode and 😀")
    }

    @Test func charactersXMLCannotCarryBecomeTheReplacementCharacter() {
        #expect(Markup.escape("a\u{0}b\u{1B}c\u{FFFF}d") == "a\u{FFFD}b\u{FFFD}c\u{FFFD}d")
        #expect(Markup.escape("tab\tnewline\ncr\r") == "tab\tnewline\ncr\r")
    }

    /// Whatever the input, the escaped text inside an element parses back to itself (less
    /// the characters XML cannot carry).
    @Test(arguments: ["<reply>", "]]>", "&amp;", "\u{0}\u{7}", "\"'<>&", "a\u{FFFE}b"])
    func escapedTextParsesAsAWellFormedDocument(_ hostile: String) throws {
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><reply><sms_message>\(Markup.escape(hostile))</sms_message></reply>"
        let document = try XMLDocument(data: Data(xml.utf8))
        let text = try #require(document.rootElement()?.elements(forName: "sms_message").first?.stringValue)
        #expect(text == Markup.escape(hostile).replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
                    .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
                    .replacingOccurrences(of: "&amp;", with: "&"))
    }
}
