import Foundation
import Store
import HTTPTesting
import Testing
import TestSupport
@testable import Dispatcher
import Sandbox

/// In-doubt sends, several workers, halts, and the shared rate.
@Suite("Worker exactly once, halts and rate")
struct WorkerExactlyOnceTests {
    @Test func slowAnswersGoInDoubtAndTheRescuerAdoptsTheProviderID() async throws {
        let db = try await TestPostgres.database()
        let sandbox = try SandboxFixture.start { $0.slowAnswerRate = 0.5; $0.slowAnswerDelay = 1.5; $0.seed = 3 }
        let c = try await db.connect()
        let campaign = try await insertCampaign(c)
        try await insertMessages(c, campaign: campaign, plainMessages(10))
        var configuration = workerConfiguration(sandbox: sandbox.base)
        configuration.accounts["plum"]!.timeoutSeconds = 0.3
        let running = RunningWorker.start(configuration, database: db, untilIdle: true)
        #expect(try await running.finish(timeout: .seconds(40)))
        #expect(try await stateCounts(c) == ["accepted": 10])
        let stats = await sandbox.sandbox.stats()
        #expect(stats.slowAnswers > 0)
        #expect(stats.accepted == 10 && stats.duplicates == 0)
        let adopted = try await c.query("SELECT count(*) FROM message_events WHERE kind = 'state' AND from_state = 'in_doubt' AND to_state = 'accepted'")
        // every slow answer went in doubt and was adopted (on a loaded machine an ordinary
        // answer can miss the 0.3 s timeout too, and is adopted the same way)
        #expect(try adopted.scalar(Int.self)! >= stats.slowAnswers)
        let attempts = try await c.query("SELECT count(*) FROM messages WHERE attempts = 1 AND provider_message_id IS NOT NULL")
        #expect(try attempts.scalar(Int.self) == 10)
        await c.close()
        await sandbox.stop()
    }

    /// A message adopted after an in-doubt lookup gets its first status poll `poll.after_s`
    /// after adoption, as any accepted message does (it used to wait a built-in 120 s), and the
    /// lookup's statement takes the configured opt-out scope.
    @Test func anAdoptedMessageIsPolledAfterTheConfiguredDelay() async throws {
        let db = try await TestPostgres.database()
        let sandbox = try SandboxFixture.start { $0.slowAnswerRate = 1; $0.slowAnswerDelay = 1.5; $0.callbacks = false }
        let c = try await db.connect()
        let campaign = try await insertCampaign(c)
        try await insertMessages(c, campaign: campaign, plainMessages(3))
        var configuration = workerConfiguration(sandbox: sandbox.base)
        configuration.accounts["plum"]!.timeoutSeconds = 0.3
        configuration.poll.afterSeconds = 7
        let running = RunningWorker.start(configuration, database: db, untilIdle: true)
        #expect(try await running.finish(timeout: .seconds(40)))
        #expect(try await stateCounts(c) == ["accepted": 3])
        let delays = try await c.query("""
            SELECT extract(epoch FROM m.poll_next_at - e.at)::float8
              FROM messages m JOIN message_events e ON e.message_id = m.id
             WHERE e.kind = 'state' AND e.from_state = 'in_doubt' AND e.to_state = 'accepted'
            """).map { try $0.decode(Double.self, at: 0) }
        #expect(delays.count == 3)
        #expect(delays.allSatisfy { abs($0 - 7) < 1 }, "first poll after adoption: \(delays) s")
        await c.close()
        await sandbox.stop()
    }

    /// More claimed than the sender's rate can serve within a lease: a message whose slot
    /// would come after its lease goes back to pending until that slot, taking nothing from
    /// the bucket. (It used to take the slot, then find the lease too short and release the
    /// message: the spent slots pushed the shared bucket ever further ahead, and once every
    /// claimed message's slot lay past its lease nothing was sent at all.)
    @Test func aSenderSlowerThanItsClaimsStillDrains() async throws {
        let db = try await TestPostgres.database()
        let sandbox = try SandboxFixture.start { $0.callbacks = false }
        let c = try await db.connect()
        let campaign = try await insertCampaign(c)
        let long = String(repeating: "Please confirm your appointment. ", count: 6)  // 2 segments
        try await insertMessages(c, campaign: campaign, (0..<20).map {
            TestMessage(to: String(format: "+1555300%04d", $0), body: long + "#\($0)", segments: 2)
        })
        var configuration = workerConfiguration(sandbox: sandbox.base, concurrency: 16)
        // 4 segments/s and a lease leaving 2 s for the rate: two messages per claim fit
        configuration.senders["+12435678910"] = .init(number: "+12435678910", account: "plum", rateLimit: RateLimit(perSecond: 4, burst: 1))
        configuration.leaseSeconds = 4
        configuration.accounts["plum"]!.timeoutSeconds = 1
        let running = RunningWorker.start(configuration, database: db)
        let drained = try await eventually(timeout: .seconds(120), every: .milliseconds(250)) {
            try await stateCounts(c) == ["accepted": 20]
        }
        try await running.stop()
        let states = try await stateCounts(c)
        #expect(drained, "\(states)")
        let stats = await sandbox.sandbox.stats()
        #expect(stats.accepted == 20 && stats.duplicates == 0)
        await c.close()
        await sandbox.stop()
    }

    @Test func twoWorkersOnOneCampaignSendEachMessageOnce() async throws {
        let db = try await TestPostgres.database()
        let sandbox = try SandboxFixture.start()
        let c = try await db.connect()
        let campaign = try await insertCampaign(c)
        try await insertMessages(c, campaign: campaign, plainMessages(100))
        let configuration = workerConfiguration(sandbox: sandbox.base, rate: 100)
        let one = RunningWorker.start(configuration, database: db, workerID: "w1", untilIdle: true)
        let two = RunningWorker.start(configuration, database: db, workerID: "w2", untilIdle: true)
        #expect(try await one.finish())
        #expect(try await two.finish())
        #expect(try await stateCounts(c) == ["accepted": 100])
        let stats = await sandbox.sandbox.stats()
        #expect(stats.accepted == 100 && stats.duplicates == 0)
        let owners = try await c.query("SELECT count(*) FILTER (WHERE detail LIKE '% by w1'), count(*) FILTER (WHERE detail LIKE '% by w2') FROM message_events WHERE kind = 'claimed'")
        #expect(try owners[0].decode(Int.self, at: 0) > 0)
        #expect(try owners[0].decode(Int.self, at: 1) > 0)
        await c.close()
        await sandbox.stop()
    }

    @Test func authFailureHaltsTheProviderUntilResumed() async throws {
        let db = try await TestPostgres.database()
        let sandbox = try SandboxFixture.start()
        let c = try await db.connect()
        let campaign = try await insertCampaign(c)
        try await insertMessages(c, campaign: campaign, plainMessages(30))
        var configuration = workerConfiguration(sandbox: sandbox.base, concurrency: 4)
        configuration.accounts["plum"]!.password = Secret("wrong")
        let halted = RunningWorker.start(configuration, database: db, untilIdle: true)
        // Halted work is not "due": the until-idle worker ends with everything pending.
        #expect(try await halted.finish())
        #expect(try await stateCounts(c) == ["pending": 30])
        let halts = try await RateLimits.rateLimitHaltedList(c)
        #expect(halts.map(\.key) == ["provider:plum"])
        #expect(halts.first?.reason == "auth_failed")
        let stats = await sandbox.sandbox.stats()
        #expect(stats.accepted == 0)
        #expect(stats.authFailures >= 1 && stats.authFailures <= 4)
        // The operator fixes the password and resumes.
        let resume = try await DispatcherBinary.run(["resume", "--provider", "plum"], environment: ["DATABASE_URL": db.conninfo])
        #expect(resume.status == 0, "\(resume.stderr)")
        #expect(try await RateLimits.rateLimitHaltedList(c).isEmpty)
        configuration.accounts["plum"]!.password = Secret("sandbox")
        let resumed = RunningWorker.start(configuration, database: db, untilIdle: true)
        #expect(try await resumed.finish())
        #expect(try await stateCounts(c) == ["accepted": 30])
        #expect(await sandbox.sandbox.stats().duplicates == 0)
        await c.close()
        await sandbox.stop()
    }

    /// One sender at 20 segments/s, burst 5, shared by two workers for about 10 s; one message
    /// in nine is two segments long. Counted from the limiter's slots recorded with each attempt.
    @Test func twoWorkersShareOneSendersRate() async throws {
        let db = try await TestPostgres.database()
        let sandbox = try SandboxFixture.start()
        let c = try await db.connect()
        let campaign = try await insertCampaign(c)
        let long = String(repeating: "Please confirm your appointment. ", count: 6)  // 198 GSM-7 characters: 2 segments
        var messages = plainMessages(160)
        for i in 0..<20 { messages.append(TestMessage(to: String(format: "+1555100%04d", i), body: long + "#\(i)", segments: 2)) }
        messages.shuffle()
        try await insertMessages(c, campaign: campaign, messages)  // 200 segments: about 10 s at 20/s
        var configuration = workerConfiguration(sandbox: sandbox.base)
        configuration.senders["+12435678910"] = .init(number: "+12435678910", account: "plum", rateLimit: RateLimit(perSecond: 20, burst: 5))
        let one = RunningWorker.start(configuration, database: db, workerID: "w1", untilIdle: true)
        let two = RunningWorker.start(configuration, database: db, workerID: "w2", untilIdle: true)
        #expect(try await one.finish())
        #expect(try await two.finish())
        #expect(try await stateCounts(c) == ["accepted": 180])
        let accepted = await sandbox.sandbox.store.allMessages()
        #expect(accepted.count == 180)
        #expect(accepted.map(\.segments).reduce(0, +) == 200)
        // The limiter's slots, as each attempt recorded them: what the shared limiter controls.
        // (When a request actually left also carries this machine's scheduling delays: with
        // the whole test suite on two cores a send can wake 100+ ms after its slot.)
        let times = try await c.query("""
            SELECT extract(epoch FROM e.scheduled_at)::float8, m.segments FROM message_events e JOIN messages m ON m.id = e.message_id
             WHERE e.kind = 'attempt' ORDER BY e.scheduled_at
            """).map { try $0.decode((Double, Int).self) }
        #expect(times.count == 180)
        // Sustained rate: what came after the initial burst, over the time it took.
        let span = times.last!.0 - times.first!.0
        let rate = Double(200 - 5) / span
        #expect(abs(rate - 20) <= 1, "achieved \(rate) segments/s over \(span) s")
        // No one-second window holds more than rate + burst.
        var worst = 0
        for (i, (start, _)) in times.enumerated() {
            let inWindow = times[i...].prefix { $0.0 < start + 1 }.map(\.1).reduce(0, +)
            worst = max(worst, inWindow)
        }
        #expect(worst <= 25, "a one-second window held \(worst) segments")
        #expect(await sandbox.sandbox.stats().duplicates == 0)
        await c.close()
        await sandbox.stop()
    }
}
