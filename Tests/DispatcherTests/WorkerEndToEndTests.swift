import Foundation
import Store
import HTTPTesting
import Testing
import TestSupport
@testable import Dispatcher
import Sandbox

/// The worker against the sandbox over real HTTP and a real PostgreSQL.
@Suite("Worker end to end")
struct WorkerEndToEndTests {
    @Test func everyMessageIsAcceptedExactlyOnce() async throws {
        let db = try await TestPostgres.database()
        let sandbox = try SandboxFixture.start()
        let c = try await db.connect()
        let campaign = try await insertCampaign(c)
        let ids = try await insertMessages(c, campaign: campaign, plainMessages(60))
        let running = RunningWorker.start(workerConfiguration(sandbox: sandbox.base), database: db, untilIdle: true)
        #expect(try await running.finish())
        #expect(try await stateCounts(c) == ["accepted": 60])
        let stats = await sandbox.sandbox.stats()
        #expect(stats.accepted == 60)
        #expect(stats.duplicates == 0)
        let rows = try await c.query("""
            SELECT count(*) FILTER (WHERE attempts = 1) AS once,
                   count(DISTINCT provider_message_id) AS ids,
                   count(*) FILTER (WHERE accepted_at IS NOT NULL AND lease_owner IS NULL) AS settled
              FROM messages WHERE id = ANY(\(ids))
            """)
        #expect(try rows[0]["once", as: Int.self] == 60)
        #expect(try rows[0]["ids", as: Int.self] == 60)
        #expect(try rows[0]["settled", as: Int.self] == 60)
        // One claimed row and one attempt row per message; the attempt carries its HTTP
        // status, latency and the transition to accepted.
        let events = try await c.query("""
            SELECT kind, count(*) FILTER (WHERE http_status = 200 AND latency_ms IS NOT NULL
                                            AND from_state = 'sending' AND to_state = 'accepted') AS with_http, count(*) AS n
              FROM message_events GROUP BY kind ORDER BY kind
            """)
        let byKind = Dictionary(uniqueKeysWithValues: try events.map { (try $0.decode(String.self, at: 0), (try $0.decode(Int.self, at: 1), try $0.decode(Int.self, at: 2))) })
        #expect(byKind["attempt"]?.1 == 60)
        #expect(byKind["attempt"]?.0 == 60)
        #expect(byKind["claimed"]?.1 == 60)
        #expect(byKind.count == 2)
        await c.close()
        await sandbox.stop()
    }

    /// The lease runs from before the claim statement (the database's `now()` is its start),
    /// not from when its answer arrived: a claim answered after its lease ran out (here held
    /// back by a relay; a worker frozen or starved at that moment is the same) must send
    /// nothing under it, since another worker may have taken the messages over. They go back
    /// to pending and are sent under a later claim.
    @Test func aClaimAnsweredAfterItsLeaseRanOutSendsNothingUnderIt() async throws {
        let db = try await TestPostgres.database()
        let sandbox = try SandboxFixture.start { $0.callbacks = false }
        let c = try await db.connect()
        let campaign = try await insertCampaign(c)
        try await insertMessages(c, campaign: campaign, plainMessages(3, body: "Held back:"))
        try await c.execute("UPDATE campaigns SET status = 'paused'")
        var configuration = workerConfiguration(sandbox: sandbox.base)
        configuration.leaseSeconds = 4
        configuration.accounts["plum"]?.timeoutSeconds = 1
        configuration.inDoubt.horizonSeconds = 1
        configuration.inDoubt.lookupEverySeconds = 0.5
        let relay = try HoldingRelay(server: db.conninfo)
        defer { relay.stop() }
        let running = RunningWorker.start(configuration, database: db, conninfo: relay.conninfo(db.conninfo))
        let claimStatements: SQL = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%1. Due rows%' AND datname = current_database()"
        #expect(try await eventually { try await c.query(claimStatements).scalar(Int.self)! > 0 })
        // the next claim takes the messages in the database; its answer (carrying their
        // bodies) waits in the relay until the lease has run out
        relay.hold(whenAnswerContains: "Held back:")
        try await c.execute("UPDATE campaigns SET status = 'active'")
        #expect(try await eventually { try await stateCounts(c) == ["sending": 3] })
        try await Task.sleep(for: .seconds(configuration.leaseSeconds + 1))
        #expect(relay.holds == 1)
        relay.release()
        #expect(try await eventually(timeout: .seconds(60)) { try await stateCounts(c) == ["accepted": 3] })
        try await running.stop()
        // every request started within the lease of the claim before it, less the request's
        // timeout and a second: the first claim's messages went back unsent
        let timeout = try #require(configuration.accounts["plum"]?.timeoutSeconds)
        let late = try await c.query("""
            SELECT count(*) FROM message_events a
             WHERE a.kind = 'attempt'
               AND a.at > (SELECT max(e.at) FROM message_events e
                            WHERE e.message_id = a.message_id AND e.kind = 'claimed' AND e.id < a.id)
                          + make_interval(secs => \(configuration.leaseSeconds - timeout - 1))
            """).scalar(Int.self)
        #expect(late == 0)
        #expect(try await c.query("SELECT count(*) FROM message_events WHERE kind = 'claimed'").scalar(Int.self)! > 3)
        let stats = await sandbox.sandbox.stats()
        #expect(stats.accepted == 3 && stats.duplicates == 0)
        await c.close()
        await sandbox.stop()
    }

    @Test func transientErrorsAreRetriedWithBackoffUntilAccepted() async throws {
        let db = try await TestPostgres.database()
        let sandbox = try SandboxFixture.start { $0.serverErrorRate = 0.5; $0.seed = 7 }
        let c = try await db.connect()
        let campaign = try await insertCampaign(c)
        try await insertMessages(c, campaign: campaign, plainMessages(20))
        var configuration = workerConfiguration(sandbox: sandbox.base)
        configuration.retry.maxAttempts = 20
        configuration.retry.baseDelaySeconds = 0.2
        configuration.retry.maxDelaySeconds = 0.8
        let running = RunningWorker.start(configuration, database: db)
        #expect(try await eventually { try await stateCounts(c) == ["accepted": 20] })
        try await running.stop()
        let stats = await sandbox.sandbox.stats()
        #expect(stats.serverErrors > 0)
        #expect(stats.accepted == 20 && stats.duplicates == 0)
        // Attempts count every send the sandbox decided; retried ones waited at least the base
        // delay between attempts. (`requests` may count more: five server errors in a row open
        // the circuit breaker, whose probe is a request too.)
        let attempts = try await c.query("SELECT sum(attempts) FROM messages").scalar(Int.self)
        let sends = stats.accepted + stats.serverErrors
        let timelines = attempts == sends ? "" : try await retriedTimelines(c)
        #expect(attempts == sends, "\(stats)\n\(timelines)")
        #expect(stats.requests >= sends)
        let gaps = try await c.query("""
            SELECT extract(epoch FROM at - lag(at) OVER (PARTITION BY message_id ORDER BY id))::float8 AS gap,
                   http_status
              FROM message_events WHERE kind = 'attempt'
            """)
        let measured = try gaps.compactMap { try $0["gap", as: Double?.self] }
        #expect(!measured.isEmpty)
        #expect(measured.allSatisfy { $0 >= 0.2 - 0.01 })
        let retried = try await c.query("SELECT count(*) FROM message_events WHERE kind = 'attempt' AND to_state = 'pending' AND error_class = 'server_error'")
        #expect(try retried.scalar(Int.self) == stats.serverErrors)
        await c.close()
        await sandbox.stop()
    }

    @Test func permanentErrorsAreFinalAfterOneAttemptWithRawAndNormalisedCodes() async throws {
        let db = try await TestPostgres.database()
        let sandbox = try SandboxFixture.start()
        let c = try await db.connect()
        let campaign = try await insertCampaign(c)
        let ids = try await insertMessages(c, campaign: campaign, [
            TestMessage(to: "+12025550110"), TestMessage(to: "+12025550111"), TestMessage(to: "+12025550112"),
            TestMessage(to: "+12025550101"),
        ])
        let running = RunningWorker.start(workerConfiguration(sandbox: sandbox.base), database: db, untilIdle: true)
        #expect(try await running.finish())
        let rows = try await c.query("SELECT id, state, attempts, error_code, error_class, final_at IS NOT NULL AS final FROM messages ORDER BY id")
        let byID = Dictionary(uniqueKeysWithValues: try rows.map { (try $0["id", as: Int64.self], $0) })
        func check(_ id: Int64, _ state: String, _ code: String?, _ cls: String?) throws {
            let row = try #require(byID[id])
            #expect(try row["state", as: String.self] == state)
            #expect(try row["attempts", as: Int.self] == 1)
            #expect(try row["error_code", as: String?.self] == code)
            #expect(try row["error_class", as: String?.self] == cls)
        }
        try check(ids[0], "failed", "Invalid 'to' phone number", "invalid_number")
        try check(ids[1], "failed", "Attempt to send to unsubscribed recipient", "unsubscribed")
        try check(ids[2], "failed", "To number: [number], is not a mobile number", "landline")  // the number is not kept
        try check(ids[3], "accepted", nil, nil)
        let optOuts = try await c.query("SELECT phone, sender, source FROM opt_outs")
        #expect(optOuts.count == 1)
        #expect(try optOuts[0]["phone", as: String.self] == "+12025550111")
        #expect(try optOuts[0]["sender", as: String.self] == "+12435678910")
        #expect(await sandbox.sandbox.stats().requests == 4)
        await c.close()
        await sandbox.stop()
    }

    @Test func retriesStopAtMaxAttemptsAndNothingGoesAfterExpiry() async throws {
        let db = try await TestPostgres.database()
        let sandbox = try SandboxFixture.start { $0.serverErrorRate = 1 }
        let c = try await db.connect()
        let campaign = try await insertCampaign(c)
        let ids = try await insertMessages(c, campaign: campaign, [TestMessage(to: "+15550000001")])
        var configuration = workerConfiguration(sandbox: sandbox.base)
        configuration.retry.maxAttempts = 3
        configuration.retry.baseDelaySeconds = 0.05
        configuration.retry.maxDelaySeconds = 0.1
        let exhausted = RunningWorker.start(configuration, database: db)
        #expect(try await eventually { try await states(c, [ids[0]]) == [ids[0]: "failed"] })
        try await exhausted.stop()
        let first = try #require(try await c.query("SELECT attempts, error_class FROM messages WHERE id = \(ids[0])").first)
        #expect(try first["attempts", as: Int.self] == 3)
        #expect(try first["error_class", as: String?.self] == "server_error")
        // Another keeps failing with long retries; it must end `expired`, never sent after expires_at.
        // (5 s leaves a loaded machine time to start the worker and try it at least once.)
        let expiresAt = Date().addingTimeInterval(5)
        let second = try await insertMessages(c, campaign: campaign, [TestMessage(externalID: "x", to: "+15550000002", expiresAt: expiresAt)])
        configuration.retry.maxAttempts = 100
        configuration.retry.baseDelaySeconds = 0.4
        configuration.retry.maxDelaySeconds = 0.4
        let expiring = RunningWorker.start(configuration, database: db)
        #expect(try await eventually { try await states(c, second) == [second[0]: "expired"] })
        try await expiring.stop()
        let late = try await c.query("SELECT count(*) FROM message_events WHERE message_id = \(second[0]) AND kind = 'attempt' AND at >= \(expiresAt)")
        #expect(try late.scalar(Int.self) == 0)
        let sent = try await c.query("SELECT count(*) FROM message_events WHERE message_id = \(second[0]) AND kind = 'attempt'")
        #expect(try sent.scalar(Int.self)! >= 1)
        await c.close()
        await sandbox.stop()
    }
}
