/// One versioned schema change, compiled into the binary.
public struct Migration: Sendable {
    public var version: Int
    public var name: String
    public var sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
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
    ]
}
