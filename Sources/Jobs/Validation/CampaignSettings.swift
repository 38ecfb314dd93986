/// Campaign-level fields as written, before validation: from a JSON job file or
/// manifest, or from `submit`/`validate` command-line flags for a bare CSV.
public struct CampaignSettings: Sendable, Hashable {
    public struct Window: Sendable, Hashable {
        public var start: String
        public var end: String
        public var timeZone: String

        public init(start: String, end: String, timeZone: String) {
            self.start = start
            self.end = end
            self.timeZone = timeZone
        }
    }

    public var campaign: String?
    public var from: String?
    public var provider: String?
    public var template: String?
    public var sendAt: String?
    public var expiresAt: String?
    public var window: Window?
    /// `quiet_hours`: `us-federal` or `us-strict` (`QuietHoursPolicy`).
    public var quietHours: String?

    public init(
        campaign: String? = nil, from: String? = nil, provider: String? = nil, template: String? = nil,
        sendAt: String? = nil, expiresAt: String? = nil, window: Window? = nil
    ) {
        self.campaign = campaign
        self.from = from
        self.provider = provider
        self.template = template
        self.sendAt = sendAt
        self.expiresAt = expiresAt
        self.window = window
    }

    /// The command-line flags a bare CSV still needs (`--campaign`, `--from`,
    /// `--provider`); empty when these settings are complete enough.
    public var missingFlags: [String] {
        var missing: [String] = []
        if campaign?.isEmpty ?? true { missing.append("--campaign") }
        if from?.isEmpty ?? true { missing.append("--from") }
        if provider?.isEmpty ?? true { missing.append("--provider") }
        return missing
    }

    /// The longest campaign name accepted.
    public static let maxCampaignLength = 200
    /// Campaign names the dispatcher keeps for its own messages (`system:replies`: confirmations and HELP replies).
    public static let reservedCampaignPrefix = "system:"
}
