import Foundation

/// What an inbound reply asks for.
public enum ReplyIntent: Sendable, Hashable {
    /// Revoke consent. `keyword` is the matched keyword, upper-cased without spaces (`STOP`, `OPTOUT`, `ALTO`).
    case optOut(keyword: String)
    /// Give consent again (`START`, `UNSTOP`, `YES`).
    case optIn(keyword: String)
    /// Send the automatic help reply (`HELP`, `INFO`).
    case help(keyword: String)
    /// Might be a revocation (or an opt-in): record it for a person to read, do not act on it.
    case review(reason: String)
    /// An ordinary reply.
    case none
}

/// Classifies inbound SMS replies into opt-out, opt-in, help, review or nothing.
///
/// **Normalisation.** The body is case-folded (Unicode, also folding diacritics and
/// width), split into words at anything that is not a letter or digit (an apostrophe
/// inside a word is kept, `’` read as `'`), so surrounding whitespace, punctuation and
/// emoji go and inner whitespace collapses. "OPT-OUT", "opt out" and "optout" are equal.
///
/// **Keywords.** A whole message equal to a keyword acts on it, whatever punctuation
/// surrounds it ("STOP?", "stop!!! 🛑"). Multi-word keywords are compared without spaces.
/// - opt-out: STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPT OUT, OPTOUT,
///   plus `extraStopWords` (e.g. ALTO, PARAR);
/// - opt-in: START, UNSTOP, YES, plus `extraStartWords`;
/// - help: HELP, INFO, plus `extraHelpWords`.
///
/// **Phrase rules** (only opt-outs; opt-in and help are acted on for exact keywords only).
/// A reply of at most `maxPhraseWords` words is an opt-out when
/// 1. it contains a strong stop word (STOP, STOPALL, UNSUBSCRIBE, REVOKE, OPTOUT / OPT OUT,
///    or a configured extra) or a weak one (CANCEL, END, QUIT), and
/// 2. every other word is a polite, filler or object word (`fillerWords`: please, me,
///    texting, messages, now, this, number, …), and
/// 3. a weak stop word comes with a messaging word (texts, messages, reminders, …):
///    "quit texting me" opts out, "cancel my appointment" does not.
///
/// A reply whose only stop words are weak ones, with no messaging word, is `.none` when it
/// has other words ("I need to cancel my appointment", "the end of the week works") and
/// `.review` when it has only filler words ("cancel please", "the end").
/// Any other reply that mentions a stop word but does not meet those rules is `.review`,
/// never acted on, with the first reason that applies:
/// - it is a question (contains `?` or `¿`): "stop by at 3?";
/// - it has a negation (don't, not, never, …): "don't stop reminding me";
/// - STOP is followed by a preposition, a time or a number: "stop by later", "stop at 3";
/// - it is longer than `maxPhraseWords`: a long message with "stop" mid-sentence;
/// - it has other words: "stop the car".
/// A reply with no stop word but a revocation cue ("remove me", "take me off", "no more",
/// "wrong number", "do not text", a misspelt stop such as "stpo") is `.review` too, as is a
/// phrase that contains an opt-in keyword other than YES ("please start again"). Anything
/// else is `.none`.
public struct ReplyClassifier: Sendable {
    public static let stopWords = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPT OUT", "OPTOUT"]
    public static let startWords = ["START", "UNSTOP", "YES"]
    public static let helpWords = ["HELP", "INFO"]
    /// Stop words that in a phrase may mean something else (the appointment, the end of a sentence).
    public static let weakStopWords: Set<String> = ["cancel", "end", "quit"]
    /// Opt-in keywords that, inside a longer reply, are ordinary words ("yes, I'll be there").
    static let plainStartWords: Set<String> = ["yes"]

    /// Words that may accompany a stop word in a phrase that opts out.
    public static let fillerWords: Set<String> = Set([
        "please", "pls", "plz", "pleas", "kindly", "thanks", "thank", "you", "thx", "ty", "hi", "hello", "ok", "okay",
        "me", "my", "i", "us", "we", "it", "this", "that", "these", "those", "the", "a", "all", "any", "every",
        "just", "now", "right", "immediately", "asap", "already", "anymore", "more", "permanently", "forever", "completely",
        "number", "phone", "wrong", "person", "from", "list", "your", "you're", "them", "sending", "send", "contacting",
        "stop", "stopall", "unsubscribe", "revoke", "optout",
        "por", "favor", "ya", "gracias",
    ]).union(messagingWords)

    /// Words naming the messages themselves.
    public static let messagingWords: Set<String> = [
        "text", "texts", "texting", "txt", "txts", "txting", "message", "messages", "messaging", "msg", "msgs",
        "sms", "reminder", "reminders", "notification", "notifications", "alert", "alerts", "subscription",
        "mensajes", "mensaje",
    ]

    static let negations: Set<String> = [
        "don't", "dont", "not", "never", "won't", "wont", "can't", "cant", "cannot", "didn't", "didnt",
        "doesn't", "doesnt", "shouldn't", "shouldnt", "wouldn't", "wouldnt", "isn't", "isnt", "without",
    ]

    static let prepositionsAfterStop: Set<String> = [
        "by", "at", "in", "on", "over", "after", "before", "until", "till", "around", "for", "to", "into", "when",
        "later", "tomorrow", "today", "tonight", "there", "here", "soon", "and", "but", "so",
    ]

    /// Revocation cues without a keyword: each a sequence of words.
    static let revocationCues: [[String]] = [
        ["remove", "me"], ["take", "me", "off"], ["no", "more"], ["leave", "me", "alone"], ["wrong", "number"],
        ["do", "not", "text"], ["don't", "text"], ["dont", "text"], ["do", "not", "contact"], ["not", "interested"],
        ["opt", "me", "out"], ["stpo"], ["stp"], ["stopp"], ["sotp"], ["unsub"], ["unsusbscribe"], ["unsubcribe"],
        ["stopping"], ["stopped"],
    ]

    private let stop: Set<String>
    private let start: Set<String>
    private let help: Set<String>
    private let strongInPhrase: Set<String>
    public let maxPhraseWords: Int

    public init(extraStopWords: [String], extraStartWords: [String] = [], extraHelpWords: [String] = [], maxPhraseWords: Int = 8) {
        func keys(_ words: [String]) -> Set<String> { Set(words.map { Self.words(in: $0).joined() }.filter { !$0.isEmpty }) }
        stop = keys(Self.stopWords + extraStopWords)
        start = keys(Self.startWords + extraStartWords)
        help = keys(Self.helpWords + extraHelpWords)
        strongInPhrase = stop.subtracting(Self.weakStopWords)
        self.maxPhraseWords = maxPhraseWords
    }

    public func classify(_ body: String) -> ReplyIntent {
        let raw = Self.words(in: body)
        guard !raw.isEmpty else { return .none }
        let whole = raw.joined()
        if stop.contains(whole) { return .optOut(keyword: whole.uppercased()) }
        if start.contains(whole) { return .optIn(keyword: whole.uppercased()) }
        if help.contains(whole) { return .help(keyword: whole.uppercased()) }

        // "opt out" / "opt-out" is one word from here on.
        var words: [String] = []
        for w in raw {
            if w == "out", words.last == "opt" { words[words.count - 1] = "optout" } else { words.append(w) }
        }
        let stopIndices = words.indices.filter { stop.contains(words[$0]) }
        guard let firstStop = stopIndices.first else {
            if let cue = Self.revocationCues.first(where: { Self.contains(words, $0) }) {
                return .review(reason: "sounds like a revocation without a keyword (\"\(cue.joined(separator: " "))\")")
            }
            if let w = words.first(where: { start.contains($0) && !Self.plainStartWords.contains($0) }) {
                return .review(reason: "mentions opt-in keyword \(w.uppercased()) in a longer reply")
            }
            return .none
        }
        let keyword = words[firstStop].uppercased()
        let question = body.contains("?") || body.contains("¿")
        let negation = words.first(where: { Self.negations.contains($0) })
        let others = words.filter { !stop.contains($0) && !Self.fillerWords.contains($0) }
        // Only CANCEL, END or QUIT, and nothing about messages: usually the appointment
        // or ordinary prose ("I need to cancel my appointment", "the end of the week").
        let strong = stopIndices.contains { strongInPhrase.contains(words[$0]) }
        if !strong && !words.contains(where: { Self.messagingWords.contains($0) }) {
            if others.isEmpty && !question && negation == nil {
                return .review(reason: "\(keyword) without a messaging word may be about the appointment")
            }
            return .none
        }
        if question {
            return .review(reason: "a question mentioning \(keyword)")
        }
        if let n = negation {
            return .review(reason: "a negation (\"\(n)\") with \(keyword)")
        }
        for i in stopIndices where i + 1 < words.count {
            let next = words[i + 1]
            if Self.prepositionsAfterStop.contains(next) || next.first?.isNumber == true {
                return .review(reason: "\(words[i].uppercased()) followed by \"\(next)\" (a place, time or number)")
            }
        }
        if words.count > maxPhraseWords {
            return .review(reason: "a long message (\(words.count) words) mentioning \(keyword)")
        }
        if !others.isEmpty {
            return .review(reason: "\(keyword) with other words: \(others.prefix(5).joined(separator: " "))")
        }
        let acted = stopIndices.first { strongInPhrase.contains(words[$0]) } ?? firstStop
        return .optOut(keyword: words[acted].uppercased())
    }

    /// The folded words of a text: case, diacritics and width folded; split at anything
    /// but letters, digits and an apostrophe inside a word.
    static func words(in text: String) -> [String] {
        let folded = text.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
        var out: [String] = []
        var current = ""
        var pendingApostrophe = false
        for ch in folded {
            if ch.isLetter || ch.isNumber {
                if pendingApostrophe { current.append("'") }
                pendingApostrophe = false
                current.append(ch)
            } else if (ch == "'" || ch == "\u{2019}") && !current.isEmpty && !pendingApostrophe {
                pendingApostrophe = true
            } else {
                if !current.isEmpty { out.append(current) }
                current = ""
                pendingApostrophe = false
            }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    private static func contains(_ words: [String], _ seq: [String]) -> Bool {
        guard words.count >= seq.count else { return false }
        return (0...(words.count - seq.count)).contains { Array(words[$0..<($0 + seq.count)]) == seq }
    }
}
