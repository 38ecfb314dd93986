import Support
import Foundation
import Jobs

extension ConfigReader {
    /// The keys of `compliance` this half reads (the replies to inbound SMS).
    static let replyComplianceKeys: Set<String> = ["stop_words", "start_words", "default", "senders"]

    /// Reads the reply half of `compliance` (see `ComplianceConfiguration`) from its members;
    /// the others are left to their readers.
    func compliance(_ members: [JSONMember]) throws(ConfigurationError) -> ComplianceConfiguration {
        var c = ComplianceConfiguration()
        for m in members where Self.replyComplianceKeys.contains(m.key) {
            switch m.key {
            case "stop_words": c.stopWords = try keywords(m.value, "compliance.stop_words")
            case "start_words": c.startWords = try keywords(m.value, "compliance.start_words")
            case "default": c.defaults = try complianceTexts(m.value, "compliance.default")
            default:
                guard case .object(let entries) = m.value else { throw fail("compliance.senders", "must be an object, not \(m.value.typeName)") }
                for e in entries {
                    let path = "compliance.senders.\(e.key)"
                    let number: PhoneNumber
                    do { number = try PhoneNumber(parsing: e.key) } catch { throw fail(path, "not a phone number: \(error)") }
                    c.senders[number.e164] = try complianceTexts(e.value, path)
                }
            }
        }
        // a word cannot both revoke and give consent, or be both and HELP
        let stop = Set(c.stopWords.map(Self.keywordKey)), start = Set(c.startWords.map(Self.keywordKey))
        let builtInStop = Set(ReplyClassifier.stopWords.map(Self.keywordKey))
        let builtInStart = Set(ReplyClassifier.startWords.map(Self.keywordKey)), help = Set(ReplyClassifier.helpWords.map(Self.keywordKey))
        if let w = stop.intersection(start.union(builtInStart).union(help)).sorted().first {
            throw fail("compliance.stop_words", "'\(w)' is also an opt-in or help keyword")
        }
        if let w = start.intersection(builtInStop.union(help)).sorted().first {
            throw fail("compliance.start_words", "'\(w)' is also an opt-out or help keyword")
        }
        return c
    }

    /// A keyword as the classifier compares it: folded letters and digits, no spaces.
    static func keywordKey(_ word: String) -> String {
        word.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
            .filter { $0.isLetter || $0.isNumber }
    }

    func keywords(_ value: JSONValue, _ path: String) throws(ConfigurationError) -> [String] {
        guard case .array(let items) = value else { throw fail(path, "must be an array of words, not \(value.typeName)") }
        var out: [String] = []
        for (i, item) in items.enumerated() {
            let word = try string(item, "\(path)[\(i)]")
            guard !Self.keywordKey(word).isEmpty else { throw fail("\(path)[\(i)]", "must contain a letter or digit") }
            guard word.count <= ComplianceConfiguration.maxKeywordLength else {
                throw fail("\(path)[\(i)]", "is longer than \(ComplianceConfiguration.maxKeywordLength) characters")
            }
            guard word.allSatisfy({ $0.isLetter || $0.isNumber || $0 == " " || $0 == "-" }) else {
                throw fail("\(path)[\(i)]", "may hold only letters, digits, spaces and '-'")
            }
            out.append(word)
        }
        return out
    }

    func complianceTexts(_ value: JSONValue, _ path: String) throws(ConfigurationError) -> ComplianceConfiguration.Texts {
        var t = ComplianceConfiguration.Texts()
        for m in try object(value, path, allowed: ["brand", "help_contact", "stop_confirmation", "start_confirmation", "help_reply"]) {
            let p = "\(path).\(m.key)"
            let s = try string(m.value, p).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !s.isEmpty else { throw fail(p, "must not be empty") }
            guard !s.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && $0 != "\n" }) else {
                throw fail(p, "must not contain control characters")
            }
            let limit = m.key == "brand" ? ComplianceConfiguration.maxBrandLength
                : m.key == "help_contact" ? ComplianceConfiguration.maxHelpContactLength : ComplianceConfiguration.maxTextLength
            guard s.count <= limit else { throw fail(p, "is \(s.count) characters long; at most \(limit)") }
            switch m.key {
            case "brand": t.brand = s
            case "help_contact": t.helpContact = s
            case "stop_confirmation": t.stopConfirmation = s
            case "start_confirmation": t.startConfirmation = s
            default: t.helpReply = s
            }
        }
        return t
    }
}
