import Foundation
import Store
import TestSupport
import Testing

/// The worker's role can record and act on inbound replies (migration 8's columns), and
/// nothing more on `inbound_messages`. In `DeployRolesTests`, whose tests run one at a time.
extension DeployRolesTests {
    @Test func theWorkerRoleRecordsAStopWithItsConfirmationAndAHelpReply() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        try await c.executeScript(try DeployRolesTests.rolesScript())
        try await c.execute("SET ROLE dispatcher_worker")
        let stop = Outbox.InboundDecision(intent: .optOut, keyword: "stop", replyText: "Unsubscribed. Reply START to resubscribe.")
        let outcome = try await Outbox.inboundHandle(c, provider: "plum", providerMessageID: "r1", from: "+12025550143", to: "+12435678910",
                                                     body: "STOP", decision: stop, optOutScope: .sender, replayWindow: 600)
        #expect(outcome.recorded && outcome.reply != nil && outcome.replyMessageID != nil)
        let help = Outbox.InboundDecision(intent: .help, keyword: "help", replyText: "Help: 555-0100.")
        #expect(try await Outbox.inboundHandle(c, provider: "plum", providerMessageID: "r2", from: "+12025550143", to: "+12435678910",
                                               body: "HELP", decision: help, optOutScope: .sender, replayWindow: 600).reply == "Help: 555-0100.")
        let rewrite = await #expect(throws: PostgresError.self) { try await c.execute("UPDATE inbound_messages SET body = 'x'") }
        #expect(rewrite?.message.contains("permission denied") == true)
        try await c.execute("RESET ROLE")
        #expect(try await c.query("SELECT count(*) FROM inbound_messages WHERE reply_message_id IS NOT NULL").scalar(Int.self) == 2)
        await c.close()
    }
}
