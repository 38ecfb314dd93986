/// One versioned schema change, compiled into the binary.
public struct Migration: Sendable {
    public var version: Int
    public var name: String
    public var sql: String
    /// Run in the same transaction right after `sql`: fills tables from compiled-in data
    /// with bound parameters (migration 9's quiet-hours tables).
    public var load: (@Sendable (Connection) async throws -> Void)?

    public init(version: Int, name: String, sql: String, load: (@Sendable (Connection) async throws -> Void)? = nil) {
        self.version = version
        self.name = name
        self.sql = sql
        self.load = load
    }
}

extension Migration {
    /// Every migration in order. Append new ones; never edit one that has shipped.
    public static let all: [Migration] = [
        Migration(version: 1, name: "outbox", sql: migration0001Outbox),
        Migration(version: 2, name: "callbacks", sql: migration0002Callbacks),
        Migration(version: 3, name: "expiry index", sql: migration0003ExpiryIndex),
        Migration(version: 4, name: "leaner writes", sql: migration0004LeanerWrites),
        Migration(version: 5, name: "replay bounds", sql: migration0005ReplayBounds),
        Migration(version: 6, name: "in-doubt horizon and provider outages", sql: migration0006InDoubtAndOutages),
        Migration(version: 7, name: "campaign report views", sql: migration0007CampaignReportViews),
        Migration(version: 8, name: "inbound compliance", sql: migration0008InboundCompliance),
        Migration(version: 9, name: "quiet hours and frequency caps", sql: migration0009QuietHoursAndCaps,
                  load: QuietHoursTables.load),
        Migration(version: 10, name: "provider texts without recipients' numbers", sql: migration0010ScrubbedProviderTexts,
                  load: ScrubbedProviderTexts.load),
    ]
}
