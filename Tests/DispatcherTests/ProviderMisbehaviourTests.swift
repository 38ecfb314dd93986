import Foundation
import Store
import HTTPTesting
import Testing
import TestSupport
@testable import Dispatcher
import Support
import HTTP
import Sandbox

/// Exactly once when the provider misbehaves: late commits, lagging lists, bodies normalised
/// on store, 5xx after accepting, outages, and a database that refuses completions for a while.
/// Every test ends with the sandbox's ledger: each message accepted once, no duplicate.
@Suite("Exactly once when providers misbehave")
struct ProviderMisbehaviourTests {
    /// A configuration for sends that time out: 0.3 s client timeout, short in-doubt horizon.
    func inDoubtConfiguration(_ sandbox: SandboxFixture, horizon: Double) -> DispatcherConfiguration {
        var configuration = workerConfiguration(sandbox: sandbox.base)
        configuration.accounts["plum"]!.timeoutSeconds = 0.3
        configuration.accounts["restcomm"]!.timeoutSeconds = 0.3
        configuration.leaseSeconds = 5
        configuration.inDoubt.horizonSeconds = horizon
        configuration.inDoubt.lookupEverySeconds = 0.3
        return configuration
    }

    // MARK: 1. In-doubt lookups: late commits, lagging lists, normalised bodies, stored callbacks

    /// A provider that commits after our timeout and a list that lags behind acceptance: the
    /// single lookup a second after the timeout found nothing and the message went again.
    @Test func lateCommitsAndALaggingListAreWaitedForNotResent() async throws {
        let db = try await TestPostgres.database()
        let sandbox = try SandboxFixture.start {
            $0.lateCommitRate = 1; $0.lateCommitDelay = 1; $0.listLag = 2; $0.callbacks = false
        }
        let c = try await db.connect()
        let campaign = try await insertCampaign(c)
        try await insertMessages(c, campaign: campaign, plainMessages(6))
        let running = RunningWorker.start(inDoubtConfiguration(sandbox, horizon: 20), database: db, untilIdle: true)
        #expect(try await running.finish(timeout: .seconds(60)))
        #expect(try await stateCounts(c) == ["accepted": 6])
        let stats = await sandbox.sandbox.stats()
        #expect(stats.lateCommits == 6)
        #expect(stats.accepted == 6 && stats.duplicates == 0)
        await c.close()
        await sandbox.stop()
    }

    /// A provider that stores the body trimmed or with CRLF as LF: the exact comparison never
    /// matched, so every in-doubt message was sent again.
    @Test(arguments: [SandboxKnobs.BodyNormalisation.trim, .crlf])
    func bodiesTheProviderNormalisedStillMatch(_ normalisation: SandboxKnobs.BodyNormalisation) async throws {
        let db = try await TestPostgres.database()
        let sandbox = try SandboxFixture.start {
            $0.slowAnswerRate = 1; $0.slowAnswerDelay = 1; $0.callbacks = false; $0.bodyNormalisation = normalisation
        }
        let c = try await db.connect()
        let campaign = try await insertCampaign(c)
        let messages = (0..<4).map { i in
            TestMessage(to: String(format: "+1555%07d", i + 1), body: "  Reminder #\(i):\r\nTuesday 10:30.\rReply STOP to opt out. \n")
        }
        try await insertMessages(c, campaign: campaign, messages)
        let running = RunningWorker.start(inDoubtConfiguration(sandbox, horizon: 3), database: db, untilIdle: true)
        #expect(try await running.finish(timeout: .seconds(60)))
        #expect(try await stateCounts(c) == ["accepted": 4])
        let stats = await sandbox.sandbox.stats()
        #expect(stats.accepted == 4 && stats.duplicates == 0)
        await c.close()
        await sandbox.stop()
    }

    @Test func theBodyComparisonIgnoresWhatProvidersRewrite() {
        #expect(Rescuer.normalisedBody(" a\r\nb \r c\t\td ") == "a b c d")
        #expect(Rescuer.normalisedBody("caf\u{65}\u{301}") == Rescuer.normalisedBody("caf\u{e9}"))
        #expect(Rescuer.normalisedBody("a b") != Rescuer.normalisedBody("ab"))
    }

    /// A callback that came for an in-doubt message (kept in the inbox under its key) proves the
    /// provider took it, whatever the list says: the lookup used to ignore it and resend.
    @Test func aStoredCallbackSettlesAnInDoubtMessage() async throws {
        let db = try await TestPostgres.database()
        let sandbox = try SandboxFixture.start { $0.callbacks = false }  // its list shows nothing of this message
        let c = try await db.connect()
        let campaign = try await insertCampaign(c)
        let id = try #require(try await insertMessages(c, campaign: campaign, plainMessages(1)).first)
        let token = try #require(try await c.query("""
            UPDATE messages SET state = 'in_doubt', attempts = 1, first_attempt_at = now(), in_doubt_since = now() - interval '1 hour',
                                next_attempt_at = now()
             WHERE id = \(id) RETURNING id || '.' || callback_token
            """).scalar(String.self))
        let verdicts = try await Outbox.inboxCallbackInsertMany(c, [ProviderReport(token: token, provider: "plum", providerMessageID: "pm-late-1",
                                                                          providerStatus: "sent", state: .sent)])
        #expect(verdicts == [.stored])
        var rescuerConfiguration = Rescuer.Configuration(owner: "r", providers: ["plum"], pollAfterSeconds: 60, optOutScope: .sender)
        rescuerConfiguration.horizonSeconds = 0  // the horizon has passed: only a sign of acceptance keeps it from a resend
        let pool = db.pool()
        let rescuer = Rescuer(configuration: rescuerConfiguration, pool: pool, providers: ["plum": sandbox.plum()],
                              shutdown: Shutdown(), logger: Logger(label: "t", level: .error))
        try await rescuer.pass()
        let row = try #require(try await c.query("SELECT state, provider_message_id FROM messages WHERE id = \(id)").first)
        let (state, pmid) = try row.decode((String, String?).self)
        #expect(state == "accepted" && pmid == "pm-late-1")
        // the stored report now applies to it
        _ = try await Outbox.inboxApplyMany(c, limit: 1_000)
        #expect(try await states(c, [id]) == [id: "sent"])
        await pool.close()
        await c.close()
        await sandbox.stop()
    }

    // MARK: 2. 5xx after the provider accepted

    @Test(arguments: ["plum", "restcomm"])
    func fiveHundredsAfterAcceptingAreLookedUpNotResent(_ provider: String) async throws {
        let db = try await TestPostgres.database()
        let sandbox = try SandboxFixture.start { $0.acceptThen5xxCount = 4; $0.acceptThen5xxRate = 0.3; $0.seed = 7; $0.callbacks = false }
        let c = try await db.connect()
        let campaign = try await insertCampaign(c, provider: provider)
        try await insertMessages(c, campaign: campaign, provider: provider, plainMessages(10))
        let running = RunningWorker.start(inDoubtConfiguration(sandbox, horizon: 20), database: db, untilIdle: true)
        #expect(try await running.finish(timeout: .seconds(60)))
        #expect(try await stateCounts(c) == ["accepted": 10])
        let stats = await sandbox.sandbox.stats()
        #expect(stats.acceptedThen5xx >= 4)
        #expect(stats.accepted == 10 && stats.duplicates == 0)
        let inDoubt = try await c.query("SELECT count(*) FROM message_events WHERE to_state = 'in_doubt' AND error_class = 'http_5xx'")
        #expect(try inDoubt.scalar(Int.self) == stats.acceptedThen5xx)
        await c.close()
        await sandbox.stop()
    }

    /// Only the provider's own failure answer proves a 5xx refused the message; a bare 5xx
    /// (a front end's page) leaves acceptance unknown, and 503 proves nothing was taken.
    @Test func whichFiveHundredsProveNothingWasTaken() {
        func plum(_ status: Int, _ body: String) -> ErrorCode? {
            SendResult(outcome: PlumClient.sendOutcome(HTTPClientResponse(status: status, body: Array(body.utf8))),
                       httpStatus: status, latency: .zero).errorCode
        }
        func restcomm(_ status: Int, _ body: String) -> ErrorCode? {
            SendResult(outcome: RestcommClient.sendOutcome(HTTPClientResponse(status: status, body: Array(body.utf8))),
                       httpStatus: status, latency: .zero).errorCode
        }
        let page = "<html><body><h1>502 Bad Gateway</h1></body></html>"
        for status in [500, 502, 504] {
            #expect(plum(status, page) == .http5xx && restcomm(status, page) == .http5xx)
            #expect(plum(status, #"{"status":"failure","error":"Internal server error"}"#) == .serverError)
            #expect(restcomm(status, #"{"status":\#(status),"message":"Internal server error"}"#) == .serverError)
        }
        #expect(plum(503, page) == .serviceUnavailable && restcomm(503, page) == .serviceUnavailable)
        #expect(restcomm(503, #"{"code":30001,"message":"Queue overflow","status":503}"#) == .queueOverflow)
        #expect(ErrorPolicy.rule(for: .http5xx).action == .lookUp)
        #expect(ErrorPolicy.rule(for: .serverError).action == .retry)
    }

    // MARK: 3. Outages

    /// A provider unreachable for a while (every request refused with 503, or reset; ended here
    /// once the breaker has opened and a probe failed, well inside the horizon): nothing fails for good, the breaker opens (claims stop) and closes after a successful probe, and
    /// the ledger shows each message once. Before, every retry used an attempt and the messages
    /// due in the outage failed.
    @Test(arguments: [SandboxKnobs.OutageMode.refuse, .reset])
    func anOutageShorterThanTheHorizonFailsNothing(_ mode: SandboxKnobs.OutageMode) async throws {
        let db = try await TestPostgres.database()
        let sandbox = try SandboxFixture.start { $0.callbacks = false }
        let c = try await db.connect()
        let campaign = try await insertCampaign(c)
        try await insertMessages(c, campaign: campaign, plainMessages(20))
        var configuration = workerConfiguration(sandbox: sandbox.base, concurrency: 2)
        configuration.accounts["plum"]!.timeoutSeconds = 1
        configuration.leaseSeconds = 3
        configuration.retry.maxAttempts = 2
        configuration.inDoubt.horizonSeconds = 20
        configuration.inDoubt.lookupEverySeconds = 0.3
        configuration.breaker.failures = 3
        configuration.breaker.probeAfterSeconds = 0.3
        configuration.breaker.maxProbeIntervalSeconds = 0.6
        // The outage starts with the worker and ends once the breaker has opened and a probe failed.
        var knobs = await sandbox.sandbox.store.knobs
        knobs.outageSeconds = 600
        knobs.outageMode = mode
        await sandbox.sandbox.setKnobs(knobs)
        let running = RunningWorker.start(configuration, database: db, untilIdle: true)
        #expect(await eventually(timeout: .seconds(60)) {
            running.worker.metrics.counter("dispatcher_provider_probes_failed_total", ["provider": "plum"]) >= 1
        })
        #expect(try await c.query("SELECT count(*) FROM rate_limits WHERE unavailable_since IS NOT NULL").scalar(Int.self) == 1)
        #expect(try await stateCounts(c)["failed"] == nil)
        knobs.outageSeconds = 0
        await sandbox.sandbox.setKnobs(knobs)
        #expect(try await running.finish(timeout: .seconds(90)))
        #expect(try await stateCounts(c) == ["accepted": 20])
        let stats = await sandbox.sandbox.stats()
        #expect(stats.accepted == 20 && stats.duplicates == 0)
        #expect(running.worker.metrics.counter("dispatcher_provider_unavailable_total", ["provider": "plum"]) >= 1)
        // Once open, the breaker sends nothing: the requests refused in the outage are the sends
        // that opened it and those already claimed (2 in flight, 2 queued), the rest list GETs.
        #expect(stats.outageRequests > stats.outageSends)
        #expect(stats.outageSends <= configuration.breaker.failures + 2 * configuration.concurrency + 2,
                "\(stats.outageSends) sends during the outage")
        // closed again, and no attempt used by a request that never reached the provider
        #expect(try await c.query("SELECT count(*) FROM rate_limits WHERE unavailable_since IS NOT NULL").scalar(Int.self) == 0)
        #expect(try await c.query("SELECT max(attempts) FROM messages").scalar(Int.self)! <= 2)
        await c.close()
        await sandbox.stop()
    }

    @Test func theBreakerOpensAfterConsecutiveFailuresOnly() {
        let breaker = CircuitBreaker(threshold: 3)
        #expect(!breaker.record(provider: "p", failure: true))
        #expect(!breaker.record(provider: "p", failure: true))
        #expect(!breaker.record(provider: "p", failure: false))  // an answer resets the count
        #expect(!breaker.record(provider: "p", failure: true))
        #expect(!breaker.record(provider: "q", failure: true))
        #expect(!breaker.record(provider: "p", failure: true))
        #expect(breaker.record(provider: "p", failure: true))
    }

    /// `dispatcher retry`: a failure that proves nothing was sent is requeued; one the provider
    /// may have taken (http_5xx, timeout, a provider id) goes in doubt and is looked up: found at
    /// the provider, it is adopted, never sent twice.
    /// A message recorded `failed` because the provider answered with an id another message
    /// has was taken by the provider: `retry` leaves it alone, with or without `--class`.
    @Test func aMessageTakenUnderAConflictingIDIsNeverRequeued() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let name = "conflict-\(UUID().uuidString.prefix(6))"
        let campaign = try await insertCampaign(c, name: name)
        let ids = try await insertMessages(c, campaign: campaign, plainMessages(2))
        try await c.execute("""
            UPDATE messages SET state = 'failed', final_at = now(), attempts = 1, first_attempt_at = now(),
                   error_class = (ARRAY['provider_id_conflict', 'no_connection'])[id - \(ids[0]) + 1]
             WHERE id = ANY(\(ids))
            """)
        let named = try await Outbox.messageRequeueFailedMany(c, campaign: name, classes: ["provider_id_conflict"])
        #expect(named.requeued == 0 && named.inDoubt == 0)
        let all = try await Outbox.messageRequeueFailedMany(c, campaign: name, classes: nil)
        #expect(all.requeued == 1 && all.inDoubt == 0)
        #expect(try await states(c, ids) == [ids[0]: "failed", ids[1]: "pending"])
        await c.close()
    }

    @Test func retryRequeuesOnlyWhatCannotHaveBeenTaken() async throws {
        let db = try await TestPostgres.database()
        let sandbox = try SandboxFixture.start { $0.callbacks = false }
        let c = try await db.connect()
        let name = "retry-\(UUID().uuidString.prefix(6))"
        let campaign = try await insertCampaign(c, name: name)
        let messages = plainMessages(4)
        let ids = try await insertMessages(c, campaign: campaign, messages)
        try await c.execute("""
            UPDATE messages SET state = 'failed', final_at = now(), attempts = 5, first_attempt_at = now(),
                   error_class = (ARRAY['no_connection', 'service_unavailable', 'http_5xx', 'invalid_number'])[id - \(ids[0]) + 1]
             WHERE id = ANY(\(ids))
            """)
        // The http_5xx one did reach the provider.
        let taken = await sandbox.plum().send(OutgoingSMS(from: "+12435678910", to: messages[2].to, body: messages[2].body))
        #expect(taken.providerID != nil)

        let result = try await Outbox.messageRequeueFailedMany(c, campaign: name, classes: ["no_connection", "service_unavailable", "http_5xx"])
        #expect(result.requeued == 2 && result.inDoubt == 1)
        #expect(try await states(c, ids) == [ids[0]: "pending", ids[1]: "pending", ids[2]: "in_doubt", ids[3]: "failed"])
        let events = try await c.query("SELECT count(*) FROM message_events WHERE source = 'operator' AND from_state = 'failed'")
        #expect(try events.scalar(Int.self) == 3)

        let running = RunningWorker.start(inDoubtConfiguration(sandbox, horizon: 20), database: db, untilIdle: true)
        #expect(try await running.finish(timeout: .seconds(60)))
        #expect(try await states(c, ids) == [ids[0]: "accepted", ids[1]: "accepted", ids[2]: "accepted", ids[3]: "failed"])
        let pmid = try await c.query("SELECT provider_message_id FROM messages WHERE id = \(ids[2])").scalar(String.self)
        #expect(pmid == taken.providerID)
        let stats = await sandbox.sandbox.stats()
        #expect(stats.accepted == 3 && stats.duplicates == 0)
        await c.close()
        await sandbox.stop()
    }

    // MARK: 4. The completer under database errors

    /// The database refuses the completion statement for a while — a statement timeout, then a
    /// deadlock — and accepts it again: every outcome is recorded by the completer (none left to
    /// lease expiry and a lookup), each message sent once. Before, these errors made the
    /// completer record one by one and drop what failed.
    @Test func theCompleterKeepsOutcomesThroughStatementErrors() async throws {
        let db = try await TestPostgres.database()
        let sandbox = try SandboxFixture.start { $0.callbacks = false }
        let c = try await db.connect()
        try await c.executeScript("""
            CREATE TABLE injected_fault (sqlstate text NOT NULL);
            CREATE FUNCTION refuse_completions() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE s text;
            BEGIN
                SELECT sqlstate INTO s FROM injected_fault LIMIT 1;
                IF s IS NOT NULL AND OLD.state = 'sending' THEN
                    RAISE EXCEPTION 'injected fault' USING ERRCODE = s;
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER refuse_completions BEFORE UPDATE ON messages FOR EACH ROW EXECUTE FUNCTION refuse_completions();
            INSERT INTO injected_fault VALUES ('57014');
            """)
        let campaign = try await insertCampaign(c)
        let ids = try await insertMessages(c, campaign: campaign, plainMessages(20))
        var configuration = workerConfiguration(sandbox: sandbox.base)
        configuration.leaseSeconds = 120  // a lease never expires within the test: only the completer can record
        let running = RunningWorker.start(configuration, database: db)
        #expect(await eventually(timeout: .seconds(30)) { await sandbox.sandbox.stats().accepted == 20 })
        #expect(await eventually { await running.worker.completer.pending == 20 })
        try await Task.sleep(for: .milliseconds(500))
        try await c.execute("UPDATE injected_fault SET sqlstate = '40P01'")
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await stateCounts(c) == ["sending": 20])
        try await c.execute("DELETE FROM injected_fault")
        #expect(try await eventually(timeout: .seconds(30)) { try await stateCounts(c) == ["accepted": 20] })
        try await running.stop()
        let attempts = try await c.query("""
            SELECT count(*) FROM message_events
             WHERE kind = 'attempt' AND from_state = 'sending' AND to_state = 'accepted' AND message_id = ANY(\(ids))
            """)
        #expect(try attempts.scalar(Int.self) == 20)
        let stats = await sandbox.sandbox.stats()
        #expect(stats.accepted == 20 && stats.duplicates == 0)
        await c.close()
        await sandbox.stop()
    }
}
