import Support
import HTTP
import HTTPTesting
import Foundation
import Store
import Testing
import TestSupport
@testable import Dispatcher

/// A provider whose sends wait at a gate the test opens: a send "still draining" on demand.
final class GatedProvider: SMSProvider {
    let name: String
    /// Notified when a send reached the provider.
    let started = WakeSignal()
    private let gate = WakeSignal()
    private let callbackURLs = LockedValue<[URL]>([])

    init(name: String) { self.name = name }

    var callbackURL: URL? { callbackURLs.current.first }

    func open() { gate.notify() }

    func send(_ message: OutgoingSMS) async -> SendResult {
        if let url = message.callbackURL { callbackURLs.withLock { $0.append(url) } }
        started.notify()
        await gate.wait()
        return SendResult(outcome: .accepted(providerID: "gated-1", status: "queued"), httpStatus: 200, latency: .zero)
    }

    func status(id: String) async throws(ProviderError) -> ProviderMessage { throw .notFound }
    func list(_ filter: MessageFilter) async throws(ProviderError) -> [ProviderMessage] { [] }
}

@Suite("Worker stop order")
struct WorkerStopOrderTests {
    /// After the shutdown, the callback server keeps answering while a send drains: a
    /// callback for that very message gets 200 and is applied once the send is recorded;
    /// the services stop claims first, HTTP last.
    @Test func theCallbackServerOutlivesTheDrainingSends() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let campaign = try await insertCampaign(c)
        let ids = try await insertMessages(c, campaign: campaign, plainMessages(1))
        let provider = GatedProvider(name: "plum")
        let events = LockedValue<[ServiceGroup.Event]>([])
        var configuration = workerConfiguration(sandbox: URL(string: "http://127.0.0.1:9")!)
        configuration.accounts.removeValue(forKey: "restcomm")
        let running = RunningWorker.start(configuration, database: db, providers: ["plum": provider],
                                          observer: { event in events.withLock { $0.append(event) } }) {
            $0.reconcile = true
            $0.listen = "127.0.0.1:0"
        }
        await provider.started.wait()
        let port = try #require(running.worker.port)
        running.worker.shutdown.trigger(reason: "test")
        // the producer has stopped claiming; the send is still in flight
        #expect(await eventually { events.current.contains(.stopped("producer")) })
        #expect(!events.current.contains(.stopped("sender")))
        let url = try #require(provider.callbackURL)
        #expect(url.absoluteString.hasPrefix("http://127.0.0.1:\(port)/callbacks/plum/"))
        var callback = HTTPClientRequest(method: "POST", url: url, timeout: .seconds(10))
        callback.setForm([("sms_message_id", "gated-1"), ("status", "sent")])
        let client = HTTPClient()
        let status = try? await client.execute(callback).status
        await client.shutdown()
        #expect(status == 200)
        provider.open()
        try await running.task.value
        let stopped = events.current.compactMap { event -> String? in
            if case .stopped(let name) = event { name } else { nil }
        }
        #expect(stopped == ["producer", "sender", "completer", "prober", "rescuer", "poller", "applier", "http"])
        // recorded as accepted by the completer, then moved on by the callback
        #expect(try await states(c, ids) == [ids[0]: "sent"])
    }

    /// An invalid service configuration stops the worker at start, naming the service and field.
    @Test func anInvalidServiceConfigurationFailsAtStart() async throws {
        var configuration = DispatcherConfiguration()
        configuration.concurrency = 0
        var options = Worker.Configuration(dispatcher: configuration, conninfo: "host=/nonexistent")
        options.reconcile = false
        let worker = Worker(configuration: options, logger: .silent)
        await #expect(throws: ServiceConfigurationError(service: "sender", field: "concurrency", "must be at least 1")) {
            try await worker.start()
        }
        options.dispatcher.concurrency = 4
        options.reconcile = true
        options.dispatcher.http.idleSeconds = 0
        await #expect(throws: ServiceConfigurationError(service: "http", field: "idleTimeout", "must be more than 0")) {
            try await Worker(configuration: options, logger: .silent).start()
        }
        options.workerID = ""
        await #expect(throws: ServiceConfigurationError(service: "worker", field: "workerID", "must not be empty")) {
            try await Worker(configuration: options, logger: .silent).start()
        }
    }
}
