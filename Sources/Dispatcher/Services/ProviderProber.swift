import Foundation
public import Store
public import Support

/// Closes the circuit breaker: for each provider account marked unavailable (`rate_limits`),
/// one probe — a message-list GET through the provider's client, never a send — per probe
/// interval, across all workers (`rateLimitProbeClaimMany` hands each due probe to one of them).
/// The interval starts at `breaker.probe_after_s` and doubles up to `breaker.max_probe_interval_s`.
/// A probe that gets any answer but a 5xx or a transport failure makes the account available
/// again, and claims resume. Logs once per transition; the gauge
/// `dispatcher_provider_unavailable{provider}` is 1 while it is marked.
public struct ProviderProber: Service {
    public struct Configuration: Sendable {
        /// Between passes, ±20 % jitter. Default 1 s.
        public var interval: Duration = .seconds(1)
        /// Longest interval between probes of one account, seconds (`breaker.max_probe_interval_s`). Default 60.
        public var maxProbeIntervalSeconds = 60.0
        public init() {}

        public func validate() throws(ServiceConfigurationError) {
            guard interval > .zero else { throw ServiceConfigurationError(service: "prober", field: "interval", "must be more than 0") }
            guard maxProbeIntervalSeconds > 0 else {
                throw ServiceConfigurationError(service: "prober", field: "maxProbeIntervalSeconds", "must be more than 0")
            }
        }
    }

    public let name = "prober"
    public var configuration: Configuration
    public var providers: [String: any SMSProvider]
    public var pool: ConnectionPool
    /// Its request to stop: the pass under way finishes, no other starts.
    public var shutdown: Shutdown
    public var logger: Logger
    public var metrics: Metrics

    public init(configuration: Configuration = Configuration(), providers: [String: any SMSProvider], pool: ConnectionPool,
                shutdown: Shutdown, logger: Logger, metrics: Metrics) {
        self.configuration = configuration
        self.providers = providers
        self.pool = pool
        self.shutdown = shutdown
        self.logger = logger
        self.metrics = metrics
        metrics.describe("dispatcher_provider_unavailable", type: "gauge",
                         "1 while the provider account is marked unavailable (circuit breaker open)")
    }

    public func run() async throws {
        for name in providers.keys { metrics.set("dispatcher_provider_unavailable", ["provider": name], to: 0) }
        while !shutdown.isTriggered && !Task.isCancelled {
            do {
                try await pass()
            } catch {
                logger.error("provider probe pass failed: \(error)")
            }
            await shutdown.sleep(for: configuration.interval * Double.random(in: 0.8...1.2))
        }
    }

    /// One round: update the gauge, run the probes that are due.
    public func pass() async throws {
        let (marked, due) = try await pool.withConnection { c in
            (try await RateLimits.rateLimitUnavailableList(c),
             try await RateLimits.rateLimitProbeClaimMany(c, keys: providers.keys.map(RateLimits.providerKey),
                                                        maxIntervalSeconds: configuration.maxProbeIntervalSeconds))
        }
        let unavailable = Set(marked.map(\.key))
        for name in providers.keys {
            metrics.set("dispatcher_provider_unavailable", ["provider": name],
                        to: unavailable.contains(RateLimits.providerKey(name)) ? 1 : 0)
        }
        for key in due {
            let name = String(key.dropFirst("provider:".count))
            guard let provider = providers[name] else { continue }
            if await Self.probe(provider) {
                let since = try await pool.withConnection { try await RateLimits.rateLimitMarkAvailable($0, key: key) }
                if let since {
                    let seconds = Int(Date().timeIntervalSince(since))
                    logger.warning("provider account \(name) available again after \(seconds) s: sending resumes")
                    metrics.set("dispatcher_provider_unavailable", ["provider": name], to: 0)
                }
            } else {
                metrics.increment("dispatcher_provider_probes_failed_total", ["provider": name])
            }
        }
    }

    /// A list request for the last minute, one item: true when the provider answered it.
    static func probe(_ provider: any SMSProvider) async -> Bool {
        let now = Date()
        do throws(ProviderError) {
            _ = try await provider.list(MessageFilter(start: now.addingTimeInterval(-60), end: now, pageSize: 1, maxResults: 1))
            return true
        } catch .transport {
            return false
        } catch .rejected(let failure) {
            return ![.http5xx, .serverError, .serviceUnavailable].contains(failure.code)
        } catch {
            return true  // it answered
        }
    }
}
