import Foundation
import Store

/// Picks up the spool directory every `interval` inside `dispatcher run`.
public final class SpoolWatcher: Service {
    public struct Configuration: Sendable {
        /// Between scans of the directory. Default 2 s.
        public var interval: Duration = .seconds(2)
        public init() {}

        public func validate() throws(ServiceConfigurationError) {
            guard interval > .zero else { throw ServiceConfigurationError(service: "spool", field: "interval", "must be more than 0") }
        }
    }

    public let name = "spool"
    private let directory: SpoolDirectory
    private let submitter: JobSubmitter
    private let conninfo: String
    private let configuration: Configuration
    private let report: @Sendable (String) -> Void

    public init(configuration: Configuration = Configuration(), directory: SpoolDirectory, submitter: JobSubmitter, conninfo: String,
                report: @escaping @Sendable (String) -> Void) {
        self.directory = directory
        self.submitter = submitter
        self.conninfo = conninfo
        self.configuration = configuration
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
            try? await Task.sleep(for: configuration.interval)
        }
        await connection?.close()
    }
}
