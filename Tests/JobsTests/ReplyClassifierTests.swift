import Foundation
import Testing
@testable import Jobs

/// What a reply should come out as; `.review` with a fragment of the reason.
enum Expected: Sendable, CustomStringConvertible {
    case optOut(String), optIn(String), help(String), review(String), none

    func matches(_ intent: ReplyIntent) -> Bool {
        switch (self, intent) {
        case let (.optOut(a), .optOut(b)), let (.optIn(a), .optIn(b)), let (.help(a), .help(b)): a == b
        case let (.review(fragment), .review(reason)): reason.contains(fragment)
        case (.none, .none): true
        default: false
        }
    }

    var description: String {
        switch self {
        case let .optOut(k): "optOut(\(k))"
        case let .optIn(k): "optIn(\(k))"
        case let .help(k): "help(\(k))"
        case let .review(r): "review(…\(r)…)"
        case .none: "none"
        }
    }
}

@Suite struct ReplyClassifierTests {
    let classifier = ReplyClassifier(extraStopWords: ["ALTO", "PARAR"], extraStartWords: ["COMENZAR"], extraHelpWords: ["AYUDA"])

    static let table: [(String, Expected)] = [
        // Exact keywords, any case, surrounding whitespace, punctuation and emoji.
        ("STOP", .optOut("STOP")),
        ("stop", .optOut("STOP")),
        ("  Stop  ", .optOut("STOP")),
        ("stop.", .optOut("STOP")),
        ("STOP!!", .optOut("STOP")),
        ("STOP?", .optOut("STOP")),
        ("\"Stop\"", .optOut("STOP")),
        ("🛑 stop 🛑", .optOut("STOP")),
        ("sToP 😡", .optOut("STOP")),
        ("Ｓｔｏｐ", .optOut("STOP")),
        ("STOPALL", .optOut("STOPALL")),
        ("stop all", .optOut("STOPALL")),
        ("Unsubscribe", .optOut("UNSUBSCRIBE")),
        ("cancel", .optOut("CANCEL")),
        ("END", .optOut("END")),
        ("quit.", .optOut("QUIT")),
        ("Revoke", .optOut("REVOKE")),
        ("opt out", .optOut("OPTOUT")),
        ("OPT-OUT", .optOut("OPTOUT")),
        ("optout", .optOut("OPTOUT")),
        ("Opt   Out!", .optOut("OPTOUT")),
        // Spanish extras from configuration.
        ("ALTO", .optOut("ALTO")),
        ("parar", .optOut("PARAR")),
        ("¡Alto!", .optOut("ALTO")),
        ("alto por favor", .optOut("ALTO")),
        ("Ya no quiero mensajes, alto", .review("other words")),
        // Phrases whose clear intent is a revocation.
        ("please stop texting me", .optOut("STOP")),
        ("Stop texting me!!!", .optOut("STOP")),
        ("unsubscribe me", .optOut("UNSUBSCRIBE")),
        ("Please unsubscribe me from this list", .optOut("UNSUBSCRIBE")),
        ("stop sending me these reminders please", .optOut("STOP")),
        ("STOP STOP STOP", .optOut("STOP")),
        ("Stop please", .optOut("STOP")),
        ("stop now", .optOut("STOP")),
        ("Stop it. Wrong number", .optOut("STOP")),
        ("stop all messages", .optOut("STOP")),
        ("Please opt me out... opt out", .review("other words: opt out")),
        ("quit texting me", .optOut("QUIT")),
        ("cancel these text reminders", .optOut("CANCEL")),
        ("End all messages to this number", .review("other words: to")),
        ("Hi, please stop messaging this number. Thanks", .optOut("STOP")),
        ("Stop. Thank you", .optOut("STOP")),
        ("STOP 🙄🙄", .optOut("STOP")),
        // Might be a revocation: recorded for review, not acted on.
        ("stop by at 3?", .review("question")),
        ("Can I stop by at 3", .review("\"by\"")),
        ("I'll stop by later", .review("\"by\"")),
        ("don't stop reminding me", .review("negation")),
        ("Please don’t stop the reminders, they help", .review("negation")),
        ("Do not stop", .review("negation")),
        ("Should I stop taking my meds before the visit?", .review("question")),
        ("stop at the front desk", .review("\"at\"")),
        ("stop 3pm", .review("\"3pm\"")),
        ("Can you stop", .review("other words")),
        ("stop the car", .review("other words")),
        ("I need to cancel my appointment", .none),
        ("Cancel appt", .none),
        ("cancel please", .review("appointment")),
        ("the end", .review("appointment")),
        ("I want to quit", .none),
        ("The end of the week works for me", .none),
        ("Can I cancel?", .none),
        ("I will stop taking the medication the doctor told me about last time we spoke", .review("long message")),
        ("Thanks for the reminder, I will be there, I just need to stop at the pharmacy first", .review("\"at\"")),
        ("Stop texting me or I'll call my lawyer", .review("other words")),
        // Revocation cues without a keyword.
        ("Remove me from your list", .review("without a keyword")),
        ("no more texts please", .review("without a keyword")),
        ("Wrong number", .review("without a keyword")),
        ("Take me off this list", .review("without a keyword")),
        ("stpo", .review("without a keyword")),
        ("Do not text this number", .review("without a keyword")),
        // Opt-in and help.
        ("START", .optIn("START")),
        ("Unstop", .optIn("UNSTOP")),
        ("yes", .optIn("YES")),
        ("Yes!", .optIn("YES")),
        ("comenzar", .optIn("COMENZAR")),
        ("please start again", .review("opt-in")),
        ("Yes I will be there", .none),
        ("yes please", .none),
        ("HELP", .help("HELP")),
        ("info?", .help("INFO")),
        ("Ayuda", .help("AYUDA")),
        // Ordinary replies.
        ("See you Tuesday!", .none),
        ("What time is my appointment?", .none),
        ("I need help rescheduling", .none),
        ("Thank you 🙏", .none),
        ("Can I come at 4 instead", .none),
        ("The weekend works better for me", .none),
        ("unstoppable", .none),
        ("🛑", .none),
        ("", .none),
        ("   ...   ", .none),
    ]

    @Test func tableHasEnoughOfBothKinds() {
        #expect(Self.table.count >= 60)
        let acted = Self.table.filter { if case .optOut = $0.1 { true } else { false } }.count
        let review = Self.table.filter { if case .review = $0.1 { true } else { false } }.count
        #expect(acted >= 30 && review >= 25)
    }

    @Test(arguments: table)
    func classifies(body: String, expected: Expected) {
        let intent = classifier.classify(body)
        #expect(expected.matches(intent), "\(body.debugDescription) → \(intent), expected \(expected)")
    }

    @Test func extrasAreOnlyActiveWhenConfigured() {
        let plain = ReplyClassifier(extraStopWords: [])
        #expect(plain.classify("ALTO") == .none)
        #expect(plain.classify("STOP") == .optOut(keyword: "STOP"))
        // A configured multi-word keyword matches with or without the space.
        let multi = ReplyClassifier(extraStopWords: ["no mas"])
        #expect(multi.classify("No más!") == .optOut(keyword: "NOMAS"))
        #expect(multi.classify("nomas") == .optOut(keyword: "NOMAS"))
    }

    @Test func phraseLengthIsConfigurable() {
        let short = ReplyClassifier(extraStopWords: [], maxPhraseWords: 2)
        #expect(short.classify("stop texting") == .optOut(keyword: "STOP"))
        if case .review(let reason) = short.classify("please stop texting me") {
            #expect(reason.contains("long message"))
        } else {
            Issue.record("expected review")
        }
    }

    @Test func normalisation() {
        #expect(ReplyClassifier.words(in: "  OPT-OUT!! 🛑 don’t  Stop ") == ["opt", "out", "don't", "stop"])
        #expect(ReplyClassifier.words(in: "'stop'") == ["stop"])
        #expect(ReplyClassifier.words(in: "PARÁR") == ["parar"])
    }
}
