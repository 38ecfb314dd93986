import Foundation
@testable import Store
import TestSupport
import Testing

/// The Swift vocabularies and the schema spell the same words: a state, campaign status or
/// event source added on one side only fails here.
@Suite struct LifecycleVocabularyTests {
    /// The quoted words of a CHECK constraint on `table` that names `column`.
    func checkWords(_ c: Connection, table: String, column: String) async throws -> Set<String> {
        let definitions = try await c.query("""
            SELECT pg_get_constraintdef(k.oid) AS definition
              FROM pg_constraint k
              JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY(k.conkey)
             WHERE k.conrelid = \(table)::regclass AND k.contype = 'c' AND a.attname = \(column)
            """).map { try $0.decode(String.self, column: "definition") }
        #expect(definitions.count == 1, "one CHECK constraint on \(table).\(column)")
        return Set(definitions.flatMap { quotedWords($0) })
    }

    func quotedWords(_ text: String) -> [String] {
        text.matches(of: /'([a-z_]+)'/).map { String($0.output.1) }
    }

    @Test func theEnumsMatchTheSchema() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        #expect(try await checkWords(c, table: "messages", column: "state") == Set(MessageState.allCases.map(\.rawValue)))
        #expect(try await checkWords(c, table: "campaigns", column: "status") == Set(CampaignState.allCases.map(\.rawValue)))
        #expect(try await checkWords(c, table: "message_events", column: "source") == Set(EventSource.allCases.map(\.rawValue)))
        #expect(try await checkWords(c, table: "callback_inbox", column: "source")
                == Set([EventSource.callback, .poll].map(\.rawValue)))
        // message_state_rank: the same rank for every state, and no state the enum lacks
        for state in MessageState.allCases {
            #expect(try await c.query("SELECT message_state_rank(\(state.rawValue))").scalar(Int.self) == state.rank, "\(state)")
        }
        let body = try #require(try await c.query("SELECT prosrc FROM pg_proc WHERE proname = 'message_state_rank'").scalar(String.self))
        let named = Set(quotedWords(body))
        #expect(!named.isEmpty && named.isSubset(of: Set(MessageState.allCases.map(\.rawValue))), "\(named)")
        // the states the function ranks below final are exactly the enum's non-final ones
        #expect(named == Set(MessageState.allCases.filter { !$0.isFinal }.map(\.rawValue)))
        // campaign_report: one column per state, in lifecycle order, between total and delivery_rate
        let columns = try await c.query("""
            SELECT column_name::text FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name = 'campaign_report' ORDER BY ordinal_position
            """).map { try $0.decode(String.self, at: 0) }
        let total = try #require(columns.firstIndex(of: "total")), rate = try #require(columns.firstIndex(of: "delivery_rate"))
        #expect(Array(columns[(total + 1)..<rate]) == MessageState.allCases.map(\.rawValue))
        #expect(Outbox.reportStates == MessageState.allCases)
        // the report's delivery rate counts exactly the final states as final
        let view = try #require(try await c.query("SELECT pg_get_viewdef('campaign_report'::regclass)").scalar(String.self))
        let finalList = try #require(view.firstMatch(of: /IN \((?<list>[^)]*)\)|ANY \(ARRAY\[(?<array>[^\]]*)\]/))
        let finals = quotedWords(String(finalList.output.list ?? finalList.output.array ?? ""))
        #expect(Set(finals) == Set(MessageState.finals.map(\.rawValue)))
        await c.close()
    }

    @Test func messageStateOrderAndFinality() {
        #expect(MessageState.finals == [.delivered, .undelivered, .failed, .expired, .cancelled, .suppressed, .unconfirmed])
        #expect(MessageState.inDoubt.rawValue == "in_doubt")
        #expect("\(MessageState.inDoubt)" == "in_doubt")
        #expect(MessageState.allCases.filter { !$0.isFinal }.map(\.rank) == [0, 1, 1, 2, 3])
        #expect(Completion.Kind.allCases.allSatisfy { !$0.state.isFinal || $0 == .failed || $0 == .failedOptOut || $0 == .expired })
    }

    @Test func wordsGoIntoSQLAsLiteralsNotParameters() {
        let sql: SQL = "SELECT 1 WHERE state = \(MessageState.inDoubt) AND state IN (\([MessageState.sent, .failed])) AND id = \(Int64(7))"
        let (text, binds) = sql.render()
        #expect(text == "SELECT 1 WHERE state = 'in_doubt' AND state IN ('sent', 'failed') AND id = $1")
        #expect(binds.count == 1)
    }

    @Test func wordsDecodeFromTheDatabaseAndUnknownOnesFail() async throws {
        let db = try await TestPostgres.database(migrated: false)
        let c = try await db.connect()
        let row = try #require(try await c.query("SELECT 'in_doubt'::text AS s, 'operator'::text AS o, 'lost'::text AS l").first)
        #expect(try row.decode(MessageState.self, column: "s") == .inDoubt)
        #expect(try row.decode(EventSource.self, column: "o") == .operator)
        #expect(throws: PostgresError.self) { try row.decode(MessageState.self, column: "l") }
        await c.close()
    }

    /// The opt-out rule, written once (`Outbox.optedOut`): an opt-out of the recipient against
    /// the message's sender or every sender (`''`); in the global scope, any opt-out.
    @Test func theOptOutRule() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        try await c.execute("""
            INSERT INTO opt_outs (phone, sender, source)
            VALUES ('+15550000001', '+12435678910', 'inbound'), ('+15550000002', '', 'operator'),
                   ('+15550000003', '+19999999999', 'inbound')
            """)
        func optedOut(_ scope: OptOutScope) async throws -> [String] {
            try await c.query("""
                SELECT p.phone FROM (VALUES ('+15550000001'), ('+15550000002'), ('+15550000003'), ('+15550000004')) AS p(phone)
                 WHERE \(Outbox.optedOut(phone: "p.phone", sender: "\("+12435678910")", scope: scope))
                 ORDER BY 1
                """).map { try $0.decode(String.self, at: 0) }
        }
        #expect(try await optedOut(.sender) == ["+15550000001", "+15550000002"])
        #expect(try await optedOut(.global) == ["+15550000001", "+15550000002", "+15550000003"])
        #expect(OptOutScope.sender.listedSender("+12435678910") == "+12435678910")
        #expect(OptOutScope.global.listedSender("+12435678910") == "")
        await c.close()
    }
}
