import Foundation
import HTTPTesting
import Store
@testable import Dispatcher
import TestSupport
import Support

/// One message for `insertMessages`.
struct TestMessage {
    var externalID: String? = nil
    var to: String
    var body: String = "Your appointment is tomorrow at 10:30."
    var segments: Int = 1
    var nextAttemptAt: Date? = nil
    var expiresAt: Date? = nil
}

/// Inserts a campaign with plain SQL (the worker's tests do not depend on `submit`).
@discardableResult
func insertCampaign(_ connection: Connection, name: String = "c-\(UUID().uuidString.prefix(8))", provider: String = "plum",
                    from: String = "+12435678910", status: String = "active") async throws -> Int64 {
    let rows = try await connection.query("""
        INSERT INTO campaigns (name, provider, from_number, status)
        VALUES (\(name), \(provider), \(from), \(status))
        RETURNING id
        """)
    return try rows.scalar(Int64.self)!
}

/// Inserts messages and their bodies into a campaign; returns their ids in order.
@discardableResult
func insertMessages(_ connection: Connection, campaign: Int64, provider: String = "plum", from: String = "+12435678910",
                    _ messages: [TestMessage]) async throws -> [Int64] {
    let ids = messages.enumerated().map { $0.element.externalID ?? "m\($0.offset)" }
    let rows = try await connection.query("""
        WITH input AS (
            SELECT * FROM unnest(\(ids), \(messages.map(\.to)), \(messages.map(\.body)), \(messages.map { Int32($0.segments) }),
                                 \(messages.map(\.nextAttemptAt)), \(messages.map(\.expiresAt)))
                   AS i(external_id, to_number, body, segments, next_attempt_at, expires_at)
        ),
        inserted AS (
            INSERT INTO messages (campaign_id, external_id, provider, from_number, to_number, segments, due_at,
                                  next_attempt_at, expires_at)
            SELECT \(campaign), external_id, \(provider), \(from), to_number, segments,
                   coalesce(next_attempt_at, now()), coalesce(next_attempt_at, now()), expires_at
              FROM input
            RETURNING id, external_id
        ),
        bodies AS (
            INSERT INTO message_bodies (message_id, body)
            SELECT inserted.id, input.body FROM inserted JOIN input USING (external_id)
        )
        SELECT id FROM inserted ORDER BY id
        """)
    return try rows.map { try $0.decode(Int64.self, at: 0) }
}

/// `count` ordinary messages to distinct recipients (+1 555 01x xxxx, delivered by the sandbox).
func plainMessages(_ count: Int, body: String = "Reminder: appointment tomorrow.") -> [TestMessage] {
    (0..<count).map { TestMessage(to: String(format: "+1555%07d", $0 + 1), body: "\(body) #\($0)") }
}

/// Message states by id.
func states(_ connection: Connection, _ ids: [Int64]) async throws -> [Int64: String] {
    let rows = try await connection.query("SELECT id, state FROM messages WHERE id = ANY(\(ids))")
    var result: [Int64: String] = [:]
    for row in rows { result[try row["id"]] = try row["state"] }
    return result
}

/// Counts per state over the whole database.
func stateCounts(_ connection: Connection) async throws -> [String: Int] {
    let rows = try await connection.query("SELECT state, count(*) FROM messages GROUP BY state")
    var result: [String: Int] = [:]
    for row in rows { result[try row.decode(String.self, at: 0)] = try row.decode(Int.self, at: 1) }
    return result
}

/// A worker configuration pointing at an in-process sandbox, fast enough for tests.
func workerConfiguration(sandbox: URL, rate: Double = 10_000, concurrency: Int = 8) -> DispatcherConfiguration {
    var configuration = DispatcherConfiguration()
    configuration.accounts = ["plum": .sandboxPlum(baseURL: sandbox), "restcomm": .sandboxRestcomm(baseURL: sandbox)]
    configuration.defaultSenderRate = RateLimit(perSecond: rate, burst: rate)
    configuration.concurrency = concurrency
    configuration.retry.baseDelaySeconds = 0.1
    configuration.retry.maxDelaySeconds = 0.4
    return configuration
}

/// A worker running in the background of a test: the send side only unless `reconcile`
/// (the callback server, applier and poller) is turned on through `configure`.
struct RunningWorker {
    let worker: Worker
    let task: Task<Void, any Error>

    static func start(_ configuration: DispatcherConfiguration, database: TestDatabase, conninfo: String? = nil,
                      workerID: String = "test-worker", untilIdle: Bool = false, providers: [String: any SMSProvider]? = nil,
                      observer: @escaping @Sendable (ServiceGroup.Event) -> Void = { _ in },
                      configure: (inout Worker.Configuration) -> Void = { _ in }) -> RunningWorker {
        var options = Worker.Configuration(dispatcher: configuration, conninfo: conninfo ?? database.conninfo)
        options.workerID = workerID
        options.untilIdle = untilIdle
        options.providers = providers
        options.reconcile = false
        options.claimPollInterval = .milliseconds(200)
        options.rescueInterval = .milliseconds(200)
        options.gracePeriod = .seconds(10)
        configure(&options)
        let worker = Worker(configuration: options, logger: Logger(label: workerID, level: .error), observer: observer)
        return RunningWorker(worker: worker, task: Task { try await worker.run() })
    }

    /// Waits for the worker to end by itself (until-idle), stopping it after `timeout`.
    /// True when it ended by itself.
    @discardableResult
    func finish(timeout: Duration = .seconds(30)) async throws -> Bool {
        let ended = await eventually(timeout: timeout) { worker.shutdown.isTriggered }
        worker.shutdown.trigger(reason: "test over")
        try await task.value
        return ended
    }

    /// Graceful stop now.
    func stop() async throws {
        worker.shutdown.trigger(reason: "test over")
        try await task.value
    }
}

/// For a failing test's message: the events of every message tried more than once or put in
/// doubt, one line each (id, time, kind, transition, HTTP status, detail).
func retriedTimelines(_ connection: Connection) async throws -> String {
    let rows = try await connection.query("""
        SELECT e.message_id, to_char(e.at, 'HH24:MI:SS.MS') AS at, e.kind, coalesce(e.from_state, '') AS f,
               coalesce(e.to_state, '') AS t, coalesce(e.http_status::text, '') AS h, coalesce(e.detail, '') AS d
          FROM message_events e
         WHERE e.message_id IN (SELECT message_id FROM message_events WHERE kind = 'attempt' GROUP BY message_id HAVING count(*) > 1
                                UNION SELECT message_id FROM message_events WHERE to_state = 'in_doubt')
         ORDER BY e.message_id, e.id
        """)
    return try rows.map { r in
        let parts: [String] = [try r["at"], try r["kind"], "\(try r["f"] as String)→\(try r["t"] as String)", try r["h"], try r["d"]]
        return "\(try r["message_id"] as Int64) " + parts.joined(separator: " | ")
    }.joined(separator: "\n")
}
