public import Foundation

/// The validated campaign-level fields of a job.
public struct CampaignHeader: Sendable, Hashable {
    public var campaign: String
    /// The default sender; a message may name its own `from`.
    public var from: PhoneNumber
    /// The kind of the account it goes through (its wire format).
    public var kind: ProviderKind
    /// The provider account the campaign goes through (a configured `providers` key;
    /// without a configuration, the kind's name).
    public var account: String
    /// The default body template; a message may give an explicit `body` instead.
    public var template: MessageTemplate?
    /// The default `send_at`; nil means "now" (`JobOptions.now`).
    public var sendAt: Date?
    /// The default `expires_at`; nil means the message never expires.
    public var expiresAt: Date?
    public var window: SendWindow?
    /// A window with `"tz": "recipient"`: applied at claim time in each recipient's zone(s);
    /// `window` is then nil.
    public var recipientWindow: CampaignWindow?
    /// `quiet_hours`; nil: the configuration's default (`compliance.quiet_hours`).
    public var quietHours: QuietHoursPolicy?

    public init(
        campaign: String, from: PhoneNumber, kind: ProviderKind, account: String? = nil, template: MessageTemplate? = nil,
        sendAt: Date? = nil, expiresAt: Date? = nil, window: SendWindow? = nil
    ) {
        self.campaign = campaign
        self.from = from
        self.kind = kind
        self.account = account ?? kind.rawValue
        self.template = template
        self.sendAt = sendAt
        self.expiresAt = expiresAt
        self.window = window
    }
}

/// Campaign fields as far as they are valid: the message validator uses what is known
/// and stays quiet about what already has a header error.
struct CampaignDefaults: Sendable {
    enum Field: Sendable, Hashable {
        case campaign, from, provider, template, sendAt, expiresAt, window, windowStart, windowEnd, windowTimeZone, quietHours

        var jsonPath: String {
            switch self {
            case .campaign: "campaign"
            case .from: "from"
            case .provider: "provider"
            case .template: "template"
            case .sendAt: "send_at"
            case .expiresAt: "expires_at"
            case .window: "window"
            case .windowStart: "window.start"
            case .windowEnd: "window.end"
            case .windowTimeZone: "window.tz"
            case .quietHours: "quiet_hours"
            }
        }

        var flag: String {
            switch self {
            case .campaign: "--campaign"
            case .from: "--from"
            case .provider: "--provider"
            case .template: "--template"
            case .sendAt: "--send-at"
            case .expiresAt: "--expires-at"
            case .window, .windowStart, .windowEnd, .windowTimeZone: "--window"
            case .quietHours: "--quiet-hours"
            }
        }
    }

    var campaign: String?
    var from: PhoneNumber?
    var kind: ProviderKind?
    /// The provider account (see `ProviderAccounts`).
    var account: String?
    /// How per-message senders are checked against the campaign's account.
    var providerAccounts: ProviderAccounts?
    var template: MessageTemplate?
    /// The raw `send_at` text, part of a derived message id.
    var sendAtText: String?
    var sendAt: Date?
    var expiresAt: Date?
    var window: SendWindow?
    var recipientWindow: CampaignWindow?
    var quietHours: QuietHoursPolicy?
    /// False when a field had an error: messages cannot be fully valid.
    var fromFailed = false
    var templateFailed = false
    var providerFailed = false
    /// True when any campaign field had an error.
    var failed = false

    var header: CampaignHeader? {
        guard !failed, let campaign, let from, let kind else { return nil }
        var header = CampaignHeader(campaign: campaign, from: from, kind: kind, account: account, template: template,
                                    sendAt: sendAt, expiresAt: expiresAt, window: window)
        header.recipientWindow = recipientWindow
        header.quietHours = quietHours
        return header
    }

    /// Validates the settings; each error is placed with `locate`.
    static func resolve(
        _ s: CampaignSettings, file: String, options: JobOptions, locate: (Field) -> JobError.Location
    ) -> (CampaignDefaults, [JobError]) {
        let now = options.now
        var d = CampaignDefaults()
        var errors: [JobError] = []
        func fail(_ field: Field, _ message: String) {
            errors.append(JobError(file: file, location: locate(field), message: message))
        }
        if let campaign = s.campaign?.trimmingASCIISpaces(), !campaign.isEmpty {
            if campaign.unicodeScalars.count > CampaignSettings.maxCampaignLength {
                fail(.campaign, "campaign name is longer than \(CampaignSettings.maxCampaignLength) characters")
            } else if campaign.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                fail(.campaign, "campaign name contains control characters")
            } else if campaign.lowercased().hasPrefix(CampaignSettings.reservedCampaignPrefix) {
                fail(.campaign, "campaign names starting with '\(CampaignSettings.reservedCampaignPrefix)' are the dispatcher's own (system:replies)")
            } else {
                d.campaign = campaign
            }
        } else {
            fail(.campaign, "campaign name is required")
        }
        d.providerAccounts = options.providerAccounts
        // the sender decides the account when one owns it (its own errors come next)
        let sender = s.from.flatMap { try? PhoneNumber(parsing: $0) }
        if let provider = s.provider, !provider.isEmpty {
            if let accounts = options.providerAccounts {
                // a configured account or a kind, and it must agree with the sender's account
                switch accounts.account(for: provider, sender: sender?.e164 ?? "") {
                case .success(let (name, kind)):
                    d.kind = kind
                    d.account = name
                case .failure(let error):
                    // an unusable sender number is the `from` error given below
                    if let kind = accounts.accounts[provider] ?? ProviderKind(jobName: provider), sender == nil {
                        d.kind = kind
                    } else {
                        d.providerFailed = true
                        fail(.provider, error.description)
                    }
                }
            } else if let p = ProviderKind(jobName: provider) {
                d.kind = p
                d.account = p.rawValue
            } else {
                d.providerFailed = true
                fail(.provider, "unknown provider '\(provider)' (expected plum or restcomm)")
            }
        } else {
            d.providerFailed = true
            fail(.provider, "provider is required (plum or restcomm)")
        }
        if let from = s.from, !from.isEmpty {
            do {
                d.from = try PhoneNumber(parsing: from)
            } catch {
                d.fromFailed = true
                fail(.from, "invalid sender number: \(error)")
            }
        } else {
            d.fromFailed = true
            fail(.from, "sender number 'from' is required")
        }
        if let template = s.template, template.utf8.contains(0) {
            d.templateFailed = true
            fail(.template, "the template contains a NUL character, which no message can carry")
        } else if let template = s.template {
            do {
                d.template = try MessageTemplate(parsing: template)
            } catch {
                d.templateFailed = true
                fail(.template, "\(error)")
            }
        }
        if let text = s.sendAt, !text.isEmpty {
            do {
                d.sendAt = try Timestamp.parse(text)
                d.sendAtText = text
            } catch {
                fail(.sendAt, "send_at: \(error)")
            }
        }
        if let text = s.expiresAt, !text.isEmpty {
            do {
                let expires = try Timestamp.parse(text)
                d.expiresAt = expires
                if expires <= now {
                    d.expiresAt = nil
                    fail(.expiresAt, "expires_at \(Timestamp.format(expires)) is already past (now is \(Timestamp.format(now)))")
                } else if let sendAt = d.sendAt, expires < sendAt {
                    d.expiresAt = nil
                    fail(.expiresAt, "expires_at \(Timestamp.format(expires)) is before send_at \(Timestamp.format(sendAt))")
                }
            } catch {
                fail(.expiresAt, "expires_at: \(error)")
            }
        }
        if let w = s.window {
            do {
                if w.timeZone == "recipient" {
                    d.recipientWindow = try CampaignWindow(start: w.start, end: w.end, timeZone: w.timeZone)
                } else {
                    d.window = try SendWindow(start: w.start, end: w.end, timeZone: w.timeZone)
                }
            } catch {
                let field: Field = switch error {
                case let .invalidTime(name, _): name == "start" ? .windowStart : .windowEnd
                case .unknownTimeZone: .windowTimeZone
                case .emptyWindow: .window
                }
                fail(field, "\(error)")
            }
        }
        if let q = s.quietHours {
            if let policy = QuietHoursPolicy(rawValue: q) {
                d.quietHours = policy
            } else {
                fail(.quietHours, "quiet_hours must be \"us-federal\" or \"us-strict\"")
            }
        }
        d.failed = !errors.isEmpty
        return (d, errors)
    }
}
