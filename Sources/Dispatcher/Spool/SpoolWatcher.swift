import Foundation
import Store

/// Picks up the spool directory every `interval` inside `dispatcher run`.
public final class SpoolWatcher: Sendable {
    private let directory: SpoolDirectory
    private let submitter: JobSubmitter
    private let conninfo: String
    private let interval: Duration
    private let report: @Sendable (String) -> Void

    public init(directory: SpoolDirectory, submitter: JobSubmitter, conninfo: String, interval: Duration = .seconds(2),
                report: @escaping @Sendable (String) -> Void) {
        self.directory = directory
        self.submitter = submitter
        self.conninfo = conninfo
        self.interval = interval
        self.report = report
    }

    /// Runs until cancelled; a database outage is reported and retried on the next pass.
    public func run() async throws {
        var connection: Connection?
        while !Task.isCancelled {
            do {
                if connection == nil || connection!.isBroken { connection = try await Connection.connect(conninfo, applicationName: "dispatcher-spool", settings: .command) }
                for result in try await directory.scanOnce(submitter: submitter, connection: connection!) {
                    report("spool \(result.description)")
                }
            } catch {
                report("spool \(directory.path): \(error) (will retry)")
            }
            try? await Task.sleep(for: interval)
        }
        await connection?.close()
    }
}
