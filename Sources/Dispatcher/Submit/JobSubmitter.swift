public import Foundation
public import Jobs
public import Store

/// Validates job files and enqueues them: `dispatcher submit` and the spool directory.
///
/// All files of one submission go in one transaction. By default any invalid row (or
/// campaign field) rolls everything back; with `skipInvalid` the valid rows go in and
/// the rejected ones are recorded in `job_rejections`. Files stream: a million-row CSV
/// is read, checked and copied in bounded memory.
public struct JobSubmitter: Sendable {
    /// One file to submit, with campaign fields from flags for a bare CSV.
    /// A file and the campaign flags a bare CSV is read under (`JobInput.pair`).
    public typealias Input = JobInput

    public struct FileOutcome: Sendable {
        public var file: String
        public var campaign: String?
        /// Set when the file's campaign was written (or would have been, before a rollback).
        public var result: CampaignEnqueuer.Result?
        /// The first `maxErrorsKept` errors, in file order.
        public var errors: [JobError] = []
        public var errorCount = 0
        /// The campaign itself was invalid: nothing of this file can go in.
        public var campaignInvalid = false
    }

    public struct Outcome: Sendable {
        public var files: [FileOutcome]
        /// True when the transaction committed (with `skipInvalid`, possibly minus rows).
        public var committed: Bool
        public var hasErrors: Bool { files.contains { $0.errorCount > 0 } }
    }

    public var options: JobOptions
    public var skipInvalid: Bool
    public var optOutScope: OptOutScope
    public var maxErrorsKept = 10_000

    /// Every setting explicit: `options.providerAccounts` routes campaigns to accounts.
    public init(options: JobOptions, skipInvalid: Bool, optOutScope: OptOutScope) {
        self.options = options
        self.skipInvalid = skipInvalid
        self.optOutScope = optOutScope
    }

    /// What a configuration decides for submitting: its provider accounts and sender numbers
    /// (which account a campaign goes through) and its opt-out scope.
    public init(configuration: DispatcherConfiguration, skipInvalid: Bool = false, now: Date = Date(),
                maxSegments: Int = JobOptions.defaultMaxSegments) {
        self.init(options: JobOptions(now: now, maxSegments: maxSegments, providerAccounts: configuration.providerAccounts),
                  skipInvalid: skipInvalid, optOutScope: configuration.optOutScope)
    }

    /// Validates and enqueues `inputs` on `connection` in one transaction.
    public func submit(_ inputs: [Input], on connection: Connection) async throws -> Outcome {
        var outcomes: [FileOutcome] = []
        do {
            try await connection.withTransaction { tx in
                for input in inputs {
                    outcomes.append(try await submitOne(input, on: tx))
                }
                let blocking = outcomes.contains { $0.campaignInvalid || (!skipInvalid && $0.errorCount > 0) }
                if blocking { throw Rollback() }
            }
            return Outcome(files: outcomes, committed: true)
        } catch is Rollback {
            return Outcome(files: outcomes, committed: false)
        }
    }

    private struct Rollback: Error {}

    private func submitOne(_ input: Input, on connection: Connection) async throws -> FileOutcome {
        let reader = JobReader(path: input.path, campaign: input.settings, options: options)
        var outcome = FileOutcome(file: input.path, campaign: reader.header?.campaign)
        var enqueuer: CampaignEnqueuer?
        if let header = reader.header {
            enqueuer = try await CampaignEnqueuer(
                connection: connection, header: header, sourceFile: URL(fileURLWithPath: input.path).lastPathComponent,
                optOutScope: optOutScope)
        } else {
            outcome.campaignInvalid = true
        }
        while let item = reader.next() {
            switch item {
            case .message(let message):
                try await enqueuer?.add(message)
            case .error(let error):
                outcome.errorCount += 1
                if outcome.errors.count < maxErrorsKept { outcome.errors.append(error) }
                if skipInvalid { try await enqueuer?.reject(error) }
            }
        }
        if reader.header == nil { outcome.campaignInvalid = true }
        outcome.result = try await enqueuer?.finish()
        return outcome
    }
}
