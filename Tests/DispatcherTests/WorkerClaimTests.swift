import Foundation
import Dispatcher
import Store
import Testing
import TestSupport
import Support

/// The outbox statements against a real PostgreSQL: claim, fencing, expiry, opt-outs, rescue.
@Suite("Worker claim statements")
struct WorkerClaimTests {
    @Test func claimNeverTakesMoreThanTheLimit() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let campaign = try await insertCampaign(c)
        try await insertMessages(c, campaign: campaign, plainMessages(10))
        let first = try await Outbox.messageClaimMany(c, owner: "w1", limit: 3, leaseSeconds: 60, providers: ["plum"], optOutScope: .sender, compliance: .none)
        #expect(first.count == 3)
        #expect(first.allSatisfy { $0.attempts == 1 && $0.body != nil && $0.leaseExpiresAt != nil })
        #expect(Set(first.map(\.leaseToken)).count == 3)
        let rest = try await Outbox.messageClaimMany(c, owner: "w1", limit: 100, leaseSeconds: 60, providers: ["plum"], optOutScope: .sender, compliance: .none)
        #expect(rest.count == 7)
        #expect(Set(first.map(\.id)).isDisjoint(with: rest.map(\.id)))
        let none = try await Outbox.messageClaimMany(c, owner: "w1", limit: 100, leaseSeconds: 60, providers: ["plum"], optOutScope: .sender, compliance: .none)
        #expect(none.isEmpty)
        #expect(try await stateCounts(c) == ["sending": 10])
        // Other providers' messages are not ours.
        #expect(try await Outbox.messageClaimMany(c, owner: "w1", limit: 5, leaseSeconds: 60, providers: ["restcomm"], optOutScope: .sender, compliance: .none).isEmpty)
        await c.close()
    }

    @Test func concurrentClaimsGetDisjointSets() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let campaign = try await insertCampaign(c)
        try await insertMessages(c, campaign: campaign, plainMessages(200))
        let pool = db.pool(maxConnections: 4)
        // Four claimers at once, each inside a transaction that holds its locks a moment.
        let claims = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for i in 0..<4 {
                group.addTask {
                    try await pool.withTransaction { conn in
                        let got = try await Outbox.messageClaimMany(conn, owner: "w\(i)", limit: 80, leaseSeconds: 60, providers: ["plum"], optOutScope: .sender, compliance: .none)
                        try await conn.execute("SELECT pg_sleep(0.2)")
                        return got.map(\.id)
                    }
                }
            }
            var all: [[Int64]] = []
            for try await ids in group { all.append(ids) }
            return all
        }
        let flat = claims.flatMap { $0 }
        #expect(flat.count == 200)
        #expect(Set(flat).count == 200)
        #expect(claims.allSatisfy { $0.count <= 80 })
        await pool.close()
        await c.close()
    }

    @Test func completionWithAStaleTokenChangesNothing() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let campaign = try await insertCampaign(c)
        let ids = try await insertMessages(c, campaign: campaign, plainMessages(1))
        let claimed = try #require(try await Outbox.messageClaimMany(c, owner: "w1", limit: 1, leaseSeconds: 60, providers: ["plum"], optOutScope: .sender, compliance: .none).first)
        let stale = Completion(messageID: claimed.id, leaseToken: claimed.leaseToken - 1, kind: .accepted, providerMessageID: "P1")
        #expect(try await Outbox.messageCompleteIfHeldMany(c, [stale], from: .sending, pollAfterSeconds: 120, optOutScope: .sender).isEmpty)
        #expect(try await states(c, ids) == [ids[0]: "sending"])
        // The lease runs out: the rescuer puts it in doubt; the old holder's completion no longer applies.
        #expect(try await Outbox.messageRescueMany(c, limit: 1_000, lookupDelaySeconds: 0, now: Date().addingTimeInterval(120)) == 1)
        let late = Completion(messageID: claimed.id, leaseToken: claimed.leaseToken, kind: .accepted, providerMessageID: "P1")
        #expect(try await Outbox.messageCompleteIfHeldMany(c, [late], from: .sending, pollAfterSeconds: 120, optOutScope: .sender).isEmpty)
        #expect(try await states(c, ids) == [ids[0]: "in_doubt"])
        // The attempt itself is still on record, with no transition (it changed nothing).
        let attempts = try await c.query("""
            SELECT count(*) FROM message_events WHERE message_id = \(ids[0]) AND kind = 'attempt' AND to_state IS NULL
            """)
        #expect(try attempts.scalar(Int.self) == 2)
        await c.close()
    }

    /// Migration 4 made the provider-id key a partial index: messages without an id are not in
    /// it, and an id is still unique per provider.
    @Test func providerIDStaysUniquePerProviderWhileUnsentMessagesShareNull() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let campaign = try await insertCampaign(c)
        let ids = try await insertMessages(c, campaign: campaign, plainMessages(3))
        #expect(try await c.query("SELECT count(*) FROM messages WHERE provider_message_id IS NULL").scalar(Int.self) == 3)
        try await c.execute("UPDATE messages SET provider_message_id = 'P1' WHERE id = \(ids[0])")
        let error = await #expect(throws: PostgresError.self) {
            try await c.execute("UPDATE messages SET provider_message_id = 'P1' WHERE id = \(ids[1])")
        }
        #expect(error?.sqlState == .uniqueViolation)
        #expect(error?.constraint == "messages_provider_message_id_key")
        // the same id at another provider is another message
        try await c.execute("UPDATE messages SET provider = 'restcomm', provider_message_id = 'P1' WHERE id = \(ids[2])")
        await c.close()
    }

    @Test func completionWithTheCurrentTokenApplies() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let campaign = try await insertCampaign(c)
        let ids = try await insertMessages(c, campaign: campaign, plainMessages(4))
        let claimed = try await Outbox.messageClaimMany(c, owner: "w1", limit: 4, leaseSeconds: 60, providers: ["plum"], optOutScope: .sender, compliance: .none)
        let later = Date().addingTimeInterval(300)
        let done = try await Outbox.messageCompleteIfHeldMany(c, [
            Completion(messageID: claimed[0].id, leaseToken: claimed[0].leaseToken, kind: .accepted, providerMessageID: "P1",
                       providerStatus: "queued", httpStatus: 200, latencyMilliseconds: 12),
            Completion(messageID: claimed[1].id, leaseToken: claimed[1].leaseToken, kind: .retry, nextAttemptAt: later,
                       errorClass: "http_5xx", httpStatus: 500),
            Completion(messageID: claimed[2].id, leaseToken: claimed[2].leaseToken, kind: .failedOptOut,
                       errorCode: "Attempt to send to unsubscribed recipient", errorClass: "unsubscribed", httpStatus: 200),
            Completion(messageID: claimed[3].id, leaseToken: claimed[3].leaseToken, kind: .released, attempted: false),
        ], from: .sending, pollAfterSeconds: 120, optOutScope: .sender)
        #expect(done == Set(claimed.map(\.id)))
        #expect(try await states(c, ids) == [ids[0]: "accepted", ids[1]: "pending", ids[2]: "failed", ids[3]: "pending"])
        let row = try #require(try await c.query("SELECT provider_message_id, accepted_at IS NOT NULL AS a, attempts FROM messages WHERE id = \(ids[0])").first)
        #expect(try row["provider_message_id"] == "P1")
        #expect(try row["a", as: Bool.self])
        #expect(try row["attempts", as: Int.self] == 1)
        let released = try await c.query("SELECT attempts FROM messages WHERE id = \(ids[3])")
        #expect(try released.scalar(Int.self) == 0)
        let optOut = try await c.query("SELECT count(*) FROM opt_outs WHERE phone = \(claimed[2].to) AND sender = \(claimed[2].from)")
        #expect(try optOut.scalar(Int.self) == 1)
        // claimed ×4; attempts ×3, each also the transition it caused; the unsent release a state row
        let events = try await c.query("""
            SELECT kind || ':' || coalesce(from_state, '') || '>' || coalesce(to_state, ''), count(*)
              FROM message_events GROUP BY 1 ORDER BY 1
            """)
        let counts = Dictionary(uniqueKeysWithValues: try events.map { (try $0.decode(String.self, at: 0), try $0.decode(Int.self, at: 1)) })
        #expect(counts == ["attempt:sending>accepted": 1, "attempt:sending>pending": 1, "attempt:sending>failed": 1,
                           "claimed:pending>sending": 4, "state:sending>pending": 1])
        let accepted = try await c.query("SELECT detail FROM message_events WHERE message_id = \(ids[0]) AND kind = 'attempt'")
        #expect(try accepted.scalar(String.self) == "provider id P1")
        // The retry is not due yet.
        #expect(try await Outbox.messageClaimMany(c, owner: "w1", limit: 10, leaseSeconds: 60, providers: ["plum"], optOutScope: .sender, compliance: .none).map(\.id) == [ids[3]])
        await c.close()
    }

    @Test func pausedCampaignsAndHaltedSendersAreNotClaimed() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let paused = try await insertCampaign(c, status: "paused")
        try await insertMessages(c, campaign: paused, plainMessages(3))
        #expect(try await Outbox.messageClaimMany(c, owner: "w", limit: 10, leaseSeconds: 60, providers: ["plum"], optOutScope: .sender, compliance: .none).isEmpty)
        try await c.execute("UPDATE campaigns SET status = 'active' WHERE id = \(paused)")
        try await RateLimits.rateLimitHalt(c, key: RateLimits.senderKey("+12435678910"), reason: "test")
        #expect(try await Outbox.messageClaimMany(c, owner: "w", limit: 10, leaseSeconds: 60, providers: ["plum"], optOutScope: .sender, compliance: .none).isEmpty)
        #expect(try await Outbox.messageOutstandingExists(c, providers: ["plum"]) == false)
        #expect(try await RateLimits.rateLimitResume(c, key: RateLimits.senderKey("+12435678910")))
        #expect(try await Outbox.messageOutstandingExists(c, providers: ["plum"]))
        #expect(try await Outbox.messageClaimMany(c, owner: "w", limit: 10, leaseSeconds: 60, providers: ["plum"], optOutScope: .sender, compliance: .none).count == 3)
        // claimed (sending), then in doubt: still outstanding; another provider's worker is idle
        #expect(try await Outbox.messageOutstandingExists(c, providers: ["plum"]))
        #expect(try await Outbox.messageOutstandingExists(c, providers: ["restcomm"]) == false)
        try await c.execute("UPDATE messages SET state = 'in_doubt'")
        #expect(try await Outbox.messageOutstandingExists(c, providers: ["plum"]))
        try await c.execute("UPDATE messages SET state = 'accepted'")
        #expect(try await Outbox.messageOutstandingExists(c, providers: ["plum"]) == false)
        await c.close()
    }

    @Test func expiredMessagesBecomeExpiredAndOptedOutOnesSuppressed() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let campaign = try await insertCampaign(c)
        let past = Date().addingTimeInterval(-60)
        let ids = try await insertMessages(c, campaign: campaign, [
            TestMessage(to: "+15550000001", expiresAt: past),
            TestMessage(to: "+15550000002"),
            TestMessage(to: "+15550000003"),
            TestMessage(to: "+15550000004", nextAttemptAt: Date().addingTimeInterval(3600), expiresAt: Date().addingTimeInterval(60)),
            TestMessage(to: "+15550000005"),
        ])
        try await c.execute("INSERT INTO opt_outs (phone, sender, source) VALUES ('+15550000002', '+12435678910', 'inbound')")
        try await c.execute("INSERT INTO opt_outs (phone, sender, source) VALUES ('+15550000003', '', 'operator')")
        try await c.execute("INSERT INTO opt_outs (phone, sender, source) VALUES ('+15550000005', '+19999999999', 'inbound')")
        let claimed = try await Outbox.messageClaimMany(c, owner: "w", limit: 10, leaseSeconds: 60, providers: ["plum"], optOutScope: .sender, compliance: .none)
        #expect(claimed.map(\.id) == [ids[4]])  // opted out of another sender only
        #expect(try await states(c, ids) == [ids[0]: "expired", ids[1]: "suppressed", ids[2]: "suppressed",
                                             ids[3]: "pending", ids[4]: "sending"])
        // A deferred message whose expiry passes is expired without being due.
        #expect(try await Outbox.messageExpireMany(c, limit: 1_000, now: Date().addingTimeInterval(120)) == 1)
        #expect(try await states(c, [ids[3]]) == [ids[3]: "expired"])
        let final = try await c.query("SELECT count(*) FROM messages WHERE final_at IS NOT NULL AND attempts = 0")
        #expect(try final.scalar(Int.self) == 4)
        await c.close()
    }

    @Test func globalOptOutScopeSuppressesForEverySender() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let campaign = try await insertCampaign(c)
        let ids = try await insertMessages(c, campaign: campaign, [TestMessage(to: "+15550000005")])
        try await c.execute("INSERT INTO opt_outs (phone, sender, source) VALUES ('+15550000005', '+19999999999', 'inbound')")
        #expect(try await Outbox.messageClaimMany(c, owner: "w", limit: 10, leaseSeconds: 60, providers: ["plum"], optOutScope: .global, compliance: .none).isEmpty)
        #expect(try await states(c, ids) == [ids[0]: "suppressed"])
        await c.close()
    }

    @Test func rateLimitReservationsStartWhenTheBucketHasRoom() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let key = RateLimits.senderKey("+12435678910")
        try await RateLimits.rateLimitConfigure(c, key: key, rate: 1, burst: 5)
        // a full bucket: the burst may go at once
        let first = try #require(try await RateLimits.rateLimitReserve(c, key: key, requested: 3, recoveryPerSecond: 1.1))
        #expect(first.segments == 3)
        #expect(first.start.timeIntervalSinceNow < 1)
        let second = try #require(try await RateLimits.rateLimitReserve(c, key: key, requested: 2, recoveryPerSecond: 1.1))
        #expect(second.start.timeIntervalSinceNow < 1)
        // the burst is spent: the next 3 start when 3 more have refilled (about 3 s at 1/s)
        let third = try #require(try await RateLimits.rateLimitReserve(c, key: key, requested: 3, recoveryPerSecond: 1.1))
        #expect(third.start.timeIntervalSince(first.start) > 2.5)
        #expect(third.start.timeIntervalSince(first.start) < 3.5)
        // never more than the burst in one reservation
        #expect(try await RateLimits.rateLimitReserve(c, key: key, requested: 50, recoveryPerSecond: 1.1)?.segments == 5)
        #expect(try await RateLimits.rateLimitReserve(c, key: "sender:unknown", requested: 1, recoveryPerSecond: 1.1) == nil)
        let slowed = try #require(try await RateLimits.rateLimitSlowDown(c, key: key, factor: 0.5, floor: 0.05))
        #expect(slowed == 0.5)
        try await RateLimits.rateLimitHalt(c, key: key, reason: "auth_failed")
        let halted = try #require(try await RateLimits.rateLimitReserve(c, key: key, requested: 1, recoveryPerSecond: 1.1))
        #expect(halted.halted && halted.segments == 0)
        #expect(try await RateLimits.rateLimitHaltedList(c).map(\.key) == [key])
        await c.close()
    }
}

@Suite struct CompleterPoisonTests {
    /// One outcome that cannot be recorded (a provider id another message already has) does
    /// not hold up the others in its batch.
    @Test func aReusedProviderIDFailsOnlyItsMessage() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let campaign = try await insertCampaign(c)
        let ids = try await insertMessages(c, campaign: campaign, plainMessages(3))
        let claimed = try await Outbox.messageClaimMany(c, owner: "w1", limit: 3, leaseSeconds: 60, providers: ["plum"], optOutScope: .sender, compliance: .none)
        let pool = db.pool(maxConnections: 2)
        let completer = Completer(pool: pool, configuration: .init(pollAfterSeconds: 120, optOutScope: .sender),
                                  logger: Logger(label: "test", level: .critical))
        await completer.submit(claimed.enumerated().map { i, m in
            Completion(messageID: m.id, leaseToken: m.leaseToken, kind: .accepted,
                       providerMessageID: i == 2 ? "SAME" : (i == 0 ? "SAME" : "OTHER"), providerStatus: "queued", httpStatus: 200)
        })
        await completer.finish()
        try await completer.run()
        #expect(await completer.recorded == 3)
        let states = try await c.query("SELECT id, state, error_class FROM messages ORDER BY id").map { try $0.decode((Int64, String, String?).self) }
        #expect(states.filter { $0.1 == "accepted" }.count == 2)
        let failed = try #require(states.first { $0.1 == "failed" })
        #expect(failed.2 == "provider_id_conflict")
        #expect(ids.contains(failed.0))
        await c.close()
    }
}
