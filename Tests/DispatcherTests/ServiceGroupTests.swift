import Support
import HTTP
import HTTPTesting
import Foundation
import Store
import Testing
@testable import Dispatcher

/// A service that runs until its stop request or its cancellation, as its member says.
private struct Waiting: Service {
    let name: String
    /// nil: ends on cancellation only.
    let request: Shutdown?

    func run() async throws {
        if let request { await request.wait() } else { await WakeSignal().wait() }
    }
}

@Suite("Service group")
struct ServiceGroupTests {
    /// Members stop last to first, each once the one after it ended; one that ignores its
    /// stop request is cancelled once its grace period is over, and the next is asked after it.
    @Test func stopsMembersInReverseOrderOneAfterAnother() async throws {
        let shutdown = Shutdown()
        let second = Shutdown()
        let stubborn = Shutdown()  // never watched by its service
        let events = LockedValue<[ServiceGroup.Event]>([])
        let group = ServiceGroup(
            members: [
                .init(Waiting(name: "first", request: nil), stop: .cancellation),
                .init(Waiting(name: "second", request: second), stop: .signal(second)),
                .init(Waiting(name: "third", request: nil), stop: .signal(stubborn)),
            ],
            shutdown: shutdown, gracePeriod: .milliseconds(20), logger: .silent,
            observer: { event in events.withLock { $0.append(event) } })
        let running = Task { try await group.run() }
        shutdown.trigger(reason: "test")
        try await running.value
        #expect(events.current == [.stopping("third"), .stopped("third"), .stopping("second"), .stopped("second"),
                                   .stopping("first"), .stopped("first")])
    }

    /// A failing service triggers the shutdown; the others stop in order and its error is rethrown.
    @Test func aFailureStopsTheOthersAndIsRethrown() async throws {
        struct Failing: Service {
            let name = "failing"
            struct Boom: Error {}
            func run() async throws { throw Boom() }
        }
        let shutdown = Shutdown()
        let group = ServiceGroup(members: [.init(Waiting(name: "http", request: nil), stop: .cancellation),
                                           .init(Failing(), stop: .signal(shutdown))],
                                 shutdown: shutdown, logger: .silent)
        await #expect(throws: Failing.Boom.self) { try await group.run() }
        #expect(shutdown.reason == "service failing failed")
    }
}

@Suite("Repeated error log")
struct RepeatedErrorLogTests {
    @Test func logsOncePerIntervalWithTheCountLeftOut() {
        let lines = LockedValue<[String]>([])
        let logger = Logger(label: "t", level: .debug, sink: { line in lines.withLock { $0.append(line) } })
        let log = RepeatedErrorLog(logger: logger, interval: .seconds(60))
        let start = ContinuousClock.now
        log.error("pass failed: x", now: start)
        log.error("pass failed: x", now: start + .seconds(1))
        log.error("pass failed: x", now: start + .seconds(2))
        log.error("pass failed: y", now: start + .seconds(61))
        let logged = lines.current
        #expect(logged.count == 2)
        #expect(logged.first?.hasSuffix("pass failed: x") == true)
        #expect(logged.last?.hasSuffix("pass failed: y (and 2 more since the last line)") == true)
    }

    /// The applier and the poller log a failed pass (before, they only counted it).
    @Test func theApplierAndThePollerLogTheirFailures() async throws {
        let lines = LockedValue<[String]>([])
        let logger = Logger(label: "t", level: .debug, sink: { line in lines.withLock { $0.append(line) } })
        let conninfo = "host=/nonexistent-dispatcher-test dbname=none connect_timeout=2"
        let unreachable = ConnectionPool(conninfo: conninfo, maxConnections: 1)
        let alsoUnreachable = ConnectionPool(conninfo: conninfo, maxConnections: 1)
        let applier = ReportApplier(pool: unreachable, metrics: Metrics(), logger: logger)
        let poller = StatusPoller(pool: alsoUnreachable, providers: [:], metrics: Metrics(),
                                  configuration: .init(after: 1, giveUpAfter: 10), logger: logger)
        let tasks = [Task { try await applier.run() }, Task { try await poller.run() }]
        let logged = await eventually {
            let all = lines.current
            return all.contains { $0.contains("applying stored reports failed") } && all.contains { $0.contains("status poll pass failed") }
        }
        for t in tasks { t.cancel() }
        for t in tasks { try? await t.value }
        await unreachable.close()
        await alsoUnreachable.close()
        #expect(logged, "\(lines.current)")
    }
}
