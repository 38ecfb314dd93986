public import Foundation

/// Settings for validating job files.
public struct JobOptions: Sendable {
    /// "Now" for validation: the default `send_at`, and the instant an `expires_at`
    /// must be after. Injected so tests (and a `submit` that validates then enqueues)
    /// use one fixed instant.
    public var now: Date
    /// Messages needing more segments than this are rejected.
    public var maxSegments: Int
    /// Limits for CSV input.
    public var csv: CSVReader.Configuration
    /// The configured provider accounts. Without them (validating with no configuration), a
    /// job's `provider` must be a kind (plum, restcomm) and names the account of that name.
    public var providerAccounts: ProviderAccounts?

    public static let defaultMaxSegments = 10

    public init(now: Date = Date(), maxSegments: Int = JobOptions.defaultMaxSegments, csv: CSVReader.Configuration = .init(),
                providerAccounts: ProviderAccounts? = nil) {
        self.now = now
        self.maxSegments = maxSegments
        self.csv = csv
        self.providerAccounts = providerAccounts
    }
}
