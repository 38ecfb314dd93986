public import Jobs

/// At most `max` first sends to one recipient per rolling 24 hours, per sender number or
/// across every sender (`compliance.frequency_cap` in the configuration).
public struct FrequencyCap: Sendable, Hashable {
    public enum Scope: String, Sendable, CaseIterable {
        /// Counted per recipient and sender number.
        case sender
        /// Counted per recipient across every sender.
        case all
    }

    /// What happens to a message over the cap.
    public enum Action: String, Sendable, CaseIterable {
        /// Stays `pending` until the oldest counted send leaves the 24 hours.
        case `defer`
        /// Becomes `suppressed` with error class `frequency_cap`.
        case suppress
    }

    public var max: Int
    public var per: Scope
    public var action: Action

    public init(max: Int, per: Scope, action: Action) {
        precondition(max >= 1, "a frequency cap allows at least one message")
        self.max = max
        self.per = per
        self.action = action
    }

    /// The rolling window, in seconds.
    public static let windowSeconds = 86_400
}

/// The sending half of compliance a claim applies beyond each campaign's own window and
/// policy: the default quiet-hours policy for campaigns that name none, and the frequency cap.
public struct SendingCompliance: Sendable, Hashable {
    /// `compliance.quiet_hours`: the policy of campaigns without their own `quiet_hours`.
    public var quietHours: QuietHoursPolicy?
    /// `compliance.frequency_cap`; nil: no cap.
    public var frequencyCap: FrequencyCap?

    public init(quietHours: QuietHoursPolicy?, frequencyCap: FrequencyCap?) {
        self.quietHours = quietHours
        self.frequencyCap = frequencyCap
    }

    /// Nothing beyond the campaigns' own windows and policies.
    public static let none = SendingCompliance(quietHours: nil, frequencyCap: nil)

    /// The zone of a recipient whose area code is unknown when the campaign has no fixed
    /// window zone of its own (`"tz": "recipient"`, or no window): its hours are the
    /// policy's strictest, read in this zone.
    public static let fallbackTimeZone = "America/New_York"
}
