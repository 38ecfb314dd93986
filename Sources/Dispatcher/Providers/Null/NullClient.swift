import Foundation
import Support

/// A provider that answers in-process and accepts everything: measures the worker itself
/// (`run --bench`). Never configured for real campaigns: `run` refuses it without `--bench`.
public struct NullClient: SMSProvider {
    public let name: String
    private let counter = LockedValue(0)

    public init(name: String) { self.name = name }

    public func send(_ message: OutgoingSMS) async -> SendResult {
        let n = counter.withLock { c -> Int in
            c += 1
            return c
        }
        return SendResult(outcome: .accepted(providerID: "null-\(n)-\(UUID().uuidString.prefix(8))", status: "queued"),
                          httpStatus: 200, latency: .zero)
    }

    public func status(id: String) async throws(ProviderError) -> ProviderMessage { throw .notFound }

    /// Keeps nothing, so an in-doubt message is never found (it is sent again).
    public func list(_ filter: MessageFilter) async throws(ProviderError) -> [ProviderMessage] { [] }
}
