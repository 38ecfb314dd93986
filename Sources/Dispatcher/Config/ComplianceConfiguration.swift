public import Jobs

/// `compliance`: extra keywords, and the texts sent back to inbound SMS, per sender number.
///
/// ```json
/// "compliance": {
///   "stop_words": ["ALTO", "PARAR"], "start_words": ["INICIO"],
///   "default": {"brand": "Acme Clinic", "help_contact": "555-0100"},
///   "senders": {"2435678910": {"brand": "Acme Dental", "stop_confirmation": "…", "help_reply": "…"}}
/// }
/// ```
/// A sender's texts fall back field by field to `default`'s, then to the built-in texts
/// (`defaultStopConfirmation` and the others), which name the brand (or the sender number)
/// and fit one GSM-7 segment whenever `brand` and `help_contact` are GSM-7 and at most
/// `maxBrandLength` / `maxHelpContactLength` characters long.
public struct ComplianceConfiguration: Sendable, Equatable {
    /// The texts of one sender number (or of `default`); nil fields fall back.
    public struct Texts: Sendable, Equatable {
        /// The program or brand the messages come from ("Acme Clinic").
        public var brand: String?
        /// Where to get help: a phone number, an address or a URL.
        public var helpContact: String?
        /// Sent once per opt-out an inbound STOP creates.
        public var stopConfirmation: String?
        /// Sent when START, UNSTOP or YES removes an opt-out an inbound STOP made.
        public var startConfirmation: String?
        /// Sent for every HELP or INFO.
        public var helpReply: String?
        public init() {}
    }

    public static let maxBrandLength = 40
    public static let maxHelpContactLength = 30
    /// A configured text's limit, in characters (about four segments).
    public static let maxTextLength = 600
    public static let maxKeywordLength = 32

    /// Added to `ReplyClassifier.stopWords` (e.g. "ALTO", "PARAR").
    public var stopWords: [String] = []
    /// Added to `ReplyClassifier.startWords`.
    public var startWords: [String] = []
    public var defaults = Texts()
    /// By E.164 sender number.
    public var senders: [String: Texts] = [:]

    public init() {}

    /// The classifier with the configured extra keywords.
    public var classifier: ReplyClassifier { ReplyClassifier(extraStopWords: stopWords, extraStartWords: startWords) }

    /// The brand a sender's texts name: its own, the default's, else the sender number itself.
    public func brand(sender: String) -> String {
        senders[sender]?.brand ?? defaults.brand ?? sender
    }

    func helpContact(sender: String) -> String? {
        senders[sender]?.helpContact ?? defaults.helpContact
    }

    public func stopConfirmation(sender: String) -> String {
        senders[sender]?.stopConfirmation ?? defaults.stopConfirmation ?? Self.defaultStopConfirmation(brand: brand(sender: sender))
    }

    public func startConfirmation(sender: String) -> String {
        senders[sender]?.startConfirmation ?? defaults.startConfirmation ?? Self.defaultStartConfirmation(brand: brand(sender: sender))
    }

    public func helpReply(sender: String) -> String {
        senders[sender]?.helpReply ?? defaults.helpReply
            ?? Self.defaultHelpReply(brand: brand(sender: sender), helpContact: helpContact(sender: sender))
    }

    public static func defaultStopConfirmation(brand: String) -> String {
        "\(brand): You are unsubscribed and will get no more messages from us. Reply START to resubscribe."
    }

    public static func defaultStartConfirmation(brand: String) -> String {
        "\(brand): You are resubscribed and will get messages again. Reply STOP to opt out."
    }

    public static func defaultHelpReply(brand: String, helpContact: String?) -> String {
        "\(brand) appointment reminders." + (helpContact.map { " Help: \($0)." } ?? "")
            + " Msg & data rates may apply. Reply STOP to opt out."
    }
}
