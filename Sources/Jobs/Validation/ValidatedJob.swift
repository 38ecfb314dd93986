/// A whole job file validated in memory: for `validate`, tests and small files.
/// Large CSV campaigns should be consumed with `JobReader` instead.
public struct ValidatedJob: Sendable {
    public var file: String
    /// The campaign fields, when valid.
    public var header: CampaignHeader?
    public var messages: [ValidatedMessage]
    public var errors: [JobError]
    public var summary: JobSummary

    /// True when the campaign and every message are valid.
    public var isValid: Bool { header != nil && errors.isEmpty }

    /// Reads everything from `reader`.
    public init(reading reader: JobReader, keepMessages: Bool = true) {
        var messages: [ValidatedMessage] = []
        var errors: [JobError] = []
        while let item = reader.next() {
            switch item {
            case let .message(m): if keepMessages { messages.append(m) }
            case let .error(e): errors.append(e)
            }
        }
        self.file = reader.file
        self.header = reader.header
        self.messages = messages
        self.errors = errors
        self.summary = reader.summary
    }

    /// Loads and validates the job file at `path` (see `JobReader.init(path:campaign:options:)`).
    public static func load(path: String, campaign: CampaignSettings? = nil, options: JobOptions = JobOptions()) -> ValidatedJob {
        ValidatedJob(reading: JobReader(path: path, campaign: campaign, options: options))
    }
}
