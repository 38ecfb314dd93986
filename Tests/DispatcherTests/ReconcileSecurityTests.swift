import Foundation
import Store
import TestSupport
import HTTPTesting
import Testing
@testable import Dispatcher
import Support
import HTTP

/// Who may speak to the reconciliation endpoints, what they can break, and what replays cost.
@Suite struct ReconcileSecurityTests {
    static let sender = "2435678910"
    static let patient = "+19998881234"

    func optOuts(_ f: ReconcileFixture) async throws -> [String] {
        try await f.conn.query("SELECT sender || '/' || source FROM opt_outs WHERE phone = \(Self.patient) ORDER BY 1")
            .map { try $0.decode(String.self, at: 0) }
    }

    // MARK: Inbound SMS: the key and the sender

    @Test func inboundNeedsTheAccountsKeyAndOneOfItsSenderNumbers() async throws {
        let f = try await ReconcileFixture.start(
            inboundKeys: ["plum": Secret(ReconcileFixture.inboundKey), "plum-b": Secret("second-account-key-abcdefghijklmnop")],
            senders: ["+12435678910": "plum", "+12435678911": "plum-b", "+12435678912": nil])
        let stop = [("sms_message_id", "in1"), ("to", Self.sender), ("from", Self.patient), ("body", "STOP")]
        // no key, a wrong key, a key's prefix, another path: 404, nothing recorded
        #expect(try await f.post("/inbound/plum", form: stop).status == 404)
        #expect(try await f.post("/inbound/plum/", form: stop).status == 404)
        #expect(try await f.post("/inbound/plum/wrong-key-wrong-key-wrong-key-wrong", form: stop).status == 404)
        #expect(try await f.post("/inbound/plum/\(ReconcileFixture.inboundKey.dropLast())", form: stop).status == 404)
        #expect(try await f.post("/inbound/plum/\(ReconcileFixture.inboundKey)x", form: stop).status == 404)
        #expect(try await f.post("/inbound/plum/\(ReconcileFixture.inboundKey)/x", form: stop).status == 404)
        // the right key, but a number that is not a sender, or another account's sender: 404
        #expect(try await f.post(ReconcileFixture.inboundPath, form: [("to", "2025550100"), ("from", Self.patient), ("body", "STOP")]).status == 404)
        #expect(try await f.post(ReconcileFixture.inboundPath, form: [("to", "2435678911"), ("from", Self.patient), ("body", "STOP")]).status == 404)
        #expect(try await f.conn.query("SELECT count(*) FROM inbound_messages").scalar(Int.self) == 0)
        #expect(try await optOuts(f) == [])
        // the right key and its account's sender, or a sender of no account in particular
        #expect(try await f.post(ReconcileFixture.inboundPath, form: stop).status == 200)
        #expect(try await f.post("/inbound/plum/second-account-key-abcdefghijklmnop",
                                 form: [("to", "2435678911"), ("from", Self.patient), ("body", "hello")]).status == 200)
        #expect(try await f.post(ReconcileFixture.inboundPath, form: [("to", "2435678912"), ("from", Self.patient), ("body", "hi")]).status == 200)
        let recorded = try await f.conn.query("SELECT provider || ' ' || to_number FROM inbound_messages ORDER BY id").map { try $0.decode(String.self, at: 0) }
        #expect(recorded == ["plum +12435678910", "plum-b +12435678911", "plum +12435678912"])
        #expect(try await optOuts(f) == ["+12435678910/inbound"])
        await f.stop()
    }

    @Test func withNoKeyConfiguredEveryInboundIs404() async throws {
        let f = try await ReconcileFixture.start(inboundKeys: [:])
        let form = [("to", Self.sender), ("from", Self.patient), ("body", "STOP")]
        #expect(try await f.post("/inbound/plum", form: form).status == 404)
        #expect(try await f.post(ReconcileFixture.inboundPath, form: form).status == 404)
        #expect(try await f.post("/inbound/plum/", form: form).status == 404)
        #expect(try await f.conn.query("SELECT count(*) FROM inbound_messages").scalar(Int.self) == 0)
        await f.stop()
    }

    @Test func inboundKeysCompareWholly() {
        #expect(InboundKey.equal("abc", "abc"))
        #expect(!InboundKey.equal("abc", "abd"))
        #expect(!InboundKey.equal("abc", "ab"))
        #expect(!InboundKey.equal("ab", "abc"))
        #expect(!InboundKey.equal("", "a"))
        #expect(!InboundKey.equal("abc\u{0}", "abc"))
        #expect(InboundKey.equal("", ""))
    }

    // MARK: START undoes only an inbound STOP

    @Test func startRemovesOnlyTheOptOutAnInboundStopMadeInItsScope() async throws {
        for global in [false, true] {
            let f = try await ReconcileFixture.start(optOutScope: global ? .global : .sender)
            // an operator's global opt-out, the provider's for this sender, an operator's for another sender
            try await Outbox.optOutInsert(f.conn, phone: Self.patient, sender: "", source: "operator")
            try await Outbox.optOutInsert(f.conn, phone: Self.patient, sender: "+12435678910", source: "provider")
            try await Outbox.optOutInsert(f.conn, phone: Self.patient, sender: "+12435678999", source: "operator")
            let before = try await optOuts(f)
            let start = try await f.post(ReconcileFixture.inboundPath, form: [("sms_message_id", "s1"), ("to", Self.sender), ("from", Self.patient), ("body", "START")])
            #expect(start.status == 200)
            #expect(try await optOuts(f) == before, "global: \(global)")
            await f.stop()
        }
        // an inbound STOP in sender scope is undone by START to that sender only
        let f = try await ReconcileFixture.start(senders: ["+12435678910": nil, "+12435678911": nil])
        for (id, to, body) in [("a", Self.sender, "STOP"), ("b", "2435678911", "STOP"), ("c", "2435678911", "START")] {
            #expect(try await f.post(ReconcileFixture.inboundPath, form: [("sms_message_id", id), ("to", to), ("from", Self.patient), ("body", body)]).status == 200)
        }
        #expect(try await optOuts(f) == ["+12435678910/inbound"])
        await f.stop()
        // in global scope, START removes the global inbound opt-out
        let g = try await ReconcileFixture.start(optOutScope: .global)
        _ = try await g.post(ReconcileFixture.inboundPath, form: [("sms_message_id", "a"), ("to", Self.sender), ("from", Self.patient), ("body", "STOP")])
        #expect(try await optOuts(g) == ["/inbound"])
        _ = try await g.post(ReconcileFixture.inboundPath, form: [("sms_message_id", "b"), ("to", Self.sender), ("from", Self.patient), ("body", "START")])
        #expect(try await optOuts(g) == [])
        await g.stop()
    }

    // MARK: Replays

    @Test func inboundReplaysWithoutAProviderIDChangeNothing() async throws {
        let f = try await ReconcileFixture.start()
        let stop = [("to", Self.sender), ("from", Self.patient), ("body", "STOP")]
        let first = try await f.post(ReconcileFixture.inboundPath, form: stop)
        #expect(first.status == 200)
        #expect(try await f.post(ReconcileFixture.inboundPath, form: [("to", Self.sender), ("from", Self.patient), ("body", "START")]).status == 200)
        #expect(try await optOuts(f) == [])
        #expect(String(decoding: first.body, as: UTF8.self).contains("<sms_message>"))
        // the STOP again, as a replay: an empty reply (no second confirmation), no opt-out, no new row
        let replay = try await f.post(ReconcileFixture.inboundPath, form: stop)
        #expect(replay.status == 200)
        #expect(String(decoding: replay.body, as: UTF8.self).hasSuffix("<reply/>\n"))
        #expect(try await optOuts(f) == [])
        // concurrent copies record one row
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<10 {
                group.addTask { try await f.post(ReconcileFixture.inboundPath, form: [("to", Self.sender), ("from", Self.patient), ("body", "CONFIRM")]).status }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses == Array(repeating: 200, count: 10))
        #expect(try await f.conn.query("SELECT count(*) FROM inbound_messages").scalar(Int.self) == 3)
        // outside the window the same text counts again
        try await f.conn.execute("UPDATE inbound_messages SET received_at = received_at - interval '11 minutes'")
        #expect(try await f.post(ReconcileFixture.inboundPath, form: stop).status == 200)
        #expect(try await optOuts(f) == ["+12435678910/inbound"])
        #expect(try await f.conn.query("SELECT count(*) FROM inbound_messages").scalar(Int.self) == 4)
        await f.stop()
    }

    @Test func replayedCallbacksKeepAFewEventsAndCountTheRest() async throws {
        let f = try await ReconcileFixture.start()
        let (id, token) = try await f.messages(1)[0]
        let sid = try await f.conn.query("SELECT provider_message_id FROM messages WHERE id = \(id)").scalar(String.self)!
        func delivered() async throws -> Int {
            try await f.post("/callbacks/restcomm/\(token)", form: [("MessageSid", sid), ("MessageStatus", "delivered")]).status
        }
        #expect(try await delivered() == 200)
        try await f.applier.applyAvailable()
        // replays, in two passes
        for _ in 0..<10 { #expect(try await delivered() == 200) }
        try await f.applier.applyAvailable()
        for _ in 0..<10 { #expect(try await delivered() == 200) }
        try await f.applier.applyAvailable()
        let events = try await f.conn.query("""
            SELECT split_part(split_part(detail, ';', 1), ':', 1) FROM message_events WHERE message_id = \(id) AND source = 'callback' ORDER BY id
            """).map { try $0.decode(String.self, at: 0) }
        #expect(events == ["applied", "duplicate", "duplicate", "duplicate"])
        #expect(try await f.conn.query("SELECT duplicate_callbacks FROM messages WHERE id = \(id)").scalar(Int.self) == 20)
        #expect(try await f.state(id).0 == "delivered")
        #expect(try await f.conn.query("SELECT count(*) FROM callback_inbox").scalar(Int.self) == 0)
        await f.stop()
    }

    // MARK: NUL and bytes that are not UTF-8

    @Test func callbackFieldsWithNULOrNotUTF8Are400WithTheKeyAnd404Without() async throws {
        let f = try await ReconcileFixture.start()
        let (id, token) = try await f.messages(1)[0]
        let sid = try await f.conn.query("SELECT provider_message_id FROM messages WHERE id = \(id)").scalar(String.self)!
        let form = "application/x-www-form-urlencoded"
        for body in ["MessageSid=\(sid)&MessageStatus=delivered%00", "MessageSid=\(sid)%00&MessageStatus=delivered",
                     "MessageSid=\(sid)&MessageStatus=delivered&Extra%00=1", "MessageSid=\(sid)&MessageStatus=delivered&Body=%FF%FE",
                     "MessageSid=\(sid)&MessageStatus=delivered&Body=a\u{0}b"] {
            let right = try await f.post("/callbacks/restcomm/\(token)", body: body, contentType: form)
            #expect(right.status == 400, "\(body)")
            #expect(String(decoding: right.body, as: UTF8.self).contains("form fields must"))
            #expect(try await f.post("/callbacks/restcomm/\(id).AAAAAAAAAAAAAAAAAAAAAAAA", body: body, contentType: form).status == 404)
        }
        // raw bytes that are not UTF-8
        var request = HTTPClientRequest(method: "POST", url: f.base.appending(path: "/callbacks/restcomm/\(token)"))
        request.body = Array("MessageSid=\(sid)&MessageStatus=delivered&Body=".utf8) + [0xC3, 0x28]
        request.headers.set("Content-Type", form)
        #expect(try await f.client.execute(request).status == 400)
        #expect(try await f.conn.query("SELECT count(*) FROM callback_inbox").scalar(Int.self) == 0)
        // inbound too (with its key)
        #expect(try await f.post(ReconcileFixture.inboundPath, body: "to=\(Self.sender)&from=\(Self.patient)&body=STOP%00", contentType: form).status == 400)
        #expect(try await f.conn.query("SELECT count(*) FROM inbound_messages").scalar(Int.self) == 0)
        // the genuine one still works
        #expect(try await f.post("/callbacks/restcomm/\(token)", form: [("MessageSid", sid), ("MessageStatus", "delivered")]).status == 200)
        await f.stop()
    }

    @Test func aReportTheDatabaseRefusesFailsAloneInItsBatch() async throws {
        let f = try await ReconcileFixture.start()
        let messages = try await f.messages(220)
        var sids: [Int64: String] = [:]
        for row in try await f.conn.query("SELECT id, provider_message_id FROM messages") {
            let (id, sid) = try row.decode((Int64, String).self)
            sids[id] = sid
        }
        let ingest = CallbackIngest(pool: f.pool)
        // 200 genuine and 20 with a NUL the parser would have refused, all at once
        let outcomes = await withTaskGroup(of: (Int, String).self) { group in
            for (i, (id, token)) in messages.enumerated() {
                let poisoned = i % 11 == 5
                let report = ProviderReport(token: token, provider: "restcomm", providerMessageID: sids[id]!,
                                            providerStatus: poisoned ? "delivered\u{0}" : "delivered", state: .delivered,
                                            raw: "MessageSid=\(sids[id]!)")
                group.addTask {
                    do {
                        return (i, "\(try await ingest.store(report))")
                    } catch let error as CallbackIngest.Unstorable {
                        return (i, "unstorable \(poisoned) \(error)")
                    } catch {
                        return (i, "error \(error)")
                    }
                }
            }
            return await group.reduce(into: [Int: String]()) { $0[$1.0] = $1.1 }
        }
        let poisoned = outcomes.filter { $0.key % 11 == 5 }
        let genuine = outcomes.filter { $0.key % 11 != 5 }
        #expect(poisoned.count == 20 && genuine.count == 200)
        #expect(genuine.values.allSatisfy { $0 == "stored" }, "\(Set(genuine.values))")
        #expect(poisoned.values.allSatisfy { $0.hasPrefix("unstorable true") }, "\(Set(poisoned.values))")
        // no value of the report in the error
        #expect(poisoned.values.allSatisfy { !$0.contains("SM") })
        try await f.applier.applyAvailable()
        #expect(try await f.conn.query("SELECT count(*) FROM messages WHERE state = 'delivered'").scalar(Int.self) == 200)
        await f.stop()
    }

    // MARK: Availability

    @Test func healthIsCachedAndAnswersWhileEveryConnectionIsBusy() async throws {
        let f = try await ReconcileFixture.start(healthMaxAge: .seconds(3600))
        #expect(try await f.client.execute(HTTPClientRequest(url: f.base.appending(path: "/healthz"))).status == 200)
        // every connection of the pool lent and held
        let released = LockedValue(false)
        let holders = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        try await f.pool.withConnection { _ in
                            while !released.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(20)) }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        #expect(await eventually { await f.pool.openConnections == 4 })
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<50 {
                group.addTask { try await f.client.execute(HTTPClientRequest(url: f.base.appending(path: "/healthz"), timeout: .seconds(20))).status }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses == Array(repeating: 200, count: 50))
        released.withLock { $0 = true }
        try await holders.value
        await f.stop()
    }
}
