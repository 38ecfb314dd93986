import Foundation
import Jobs
import Store
import TestSupport
import Testing
@testable import Dispatcher

/// Provider accounts (`providers` keys) and sender numbers, and `--config` honoured by every
/// command that uses it.
@Suite struct ProviderAccountTests {
    static let accounts = ProviderAccounts(
        accounts: ["plum-prod": .plum, "plum-staging": .plum, "rc-eu": .restcomm],
        senderAccounts: ["+12435678910": "plum-prod", "+12435678911": "rc-eu"])

    @Test func routingByTheSendersAccountTheNameAndTheKind() {
        func route(_ provider: String, _ sender: String) -> String {
            switch Self.accounts.account(for: provider, sender: sender) {
            case .success(let r): "\(r.name)/\(r.kind)"
            case .failure(let e): "error: \(e)"
            }
        }
        // the sender's account decides; the job may name it or its kind
        #expect(route("plum", "+12435678910") == "plum-prod/plum")
        #expect(route("plum-prod", "+12435678910") == "plum-prod/plum")
        #expect(route("rc-eu", "+12435678911") == "rc-eu/restcomm")
        #expect(route("restcomm", "+12435678911") == "rc-eu/restcomm")
        // a disagreement is an error naming both
        #expect(route("restcomm", "+12435678910").hasPrefix("error: provider 'restcomm' does not match sender +12435678910, which belongs to account 'plum-prod'"))
        #expect(route("plum-staging", "+12435678910").hasPrefix("error: provider 'plum-staging' does not match"))
        // a sender no account owns: the account named, else the one of that kind
        #expect(route("plum-staging", "+15550001111") == "plum-staging/plum")
        #expect(route("restcomm", "+15550001111") == "rc-eu/restcomm")
        #expect(route("plum", "+15550001111").hasPrefix("error: several provider accounts are of kind plum (plum-prod, plum-staging)"))
        #expect(route("twilio", "+15550001111").hasPrefix("error: unknown provider 'twilio' (configured accounts: plum-prod, plum-staging, rc-eu"))
        let none = ProviderAccounts(accounts: ["rc-eu": .restcomm])
        #expect(throws: ProviderAccounts.RoutingError.self) { try none.account(for: "plum", sender: "+15550001111").get() }
    }

    func job(_ dir: TempDir, _ name: String, provider: String, from: String = "2435678910",
             messages: String = #"[{"id": "a", "to": "2025550143", "body": "Hello"}]"#) throws -> String {
        try dir.write("\(name).json", """
            {"campaign": "\(name)", "from": "\(from)", "provider": "\(provider)", "messages": \(messages)}
            """)
    }

    func config(_ dir: TempDir, scope: String = "sender") throws -> String {
        // secrets by environment variable: submit and validate must not need them set
        try dir.write("dispatcher.json", """
            {"providers": {"plum-prod": {"kind": "plum", "username": "u", "password_env": "UNSET_PLUM_PASSWORD_VARIABLE"},
                           "plum-staging": {"kind": "plum"},
                           "rc-eu": {"kind": "restcomm", "auth_token_env": "UNSET_RESTCOMM_TOKEN_VARIABLE"}},
             "senders": {"2435678910": {"provider": "plum-prod", "rate_per_second": 5},
                         "2435678911": {"provider": "rc-eu", "rate_per_second": 5}},
             "opt_out_scope": "\(scope)"}
            """)
    }

    @Test func validateChecksTheProviderAgainstTheConfiguration() async throws {
        let dir = try TempDir()
        let named = try job(dir, "named", provider: "plum-prod")
        let kind = try job(dir, "kind", provider: "plum")
        let wrong = try job(dir, "wrong", provider: "restcomm")
        let perRow = try job(dir, "per-row", provider: "plum",
                             messages: #"[{"id": "a", "to": "2025550143", "body": "Hi", "from": "2435678911"}]"#)
        let cfg = try config(dir)
        // without a configuration, only the kinds
        let bare = try await DispatcherBinary.run(["validate", named], directory: URL(fileURLWithPath: "/"))
        #expect(bare.status == 65)
        #expect(bare.stderr.contains("unknown provider 'plum-prod' (expected plum or restcomm)"))
        #expect(try await DispatcherBinary.run(["validate", kind, wrong], directory: URL(fileURLWithPath: "/")).status == 0)
        // with it: accounts by name, and the sender's account must agree
        let ok = try await DispatcherBinary.run(["validate", "--config", cfg, named, kind])
        #expect(ok.status == 0, "\(ok.stderr)")
        let bad = try await DispatcherBinary.run(["validate", "--config", cfg, wrong])
        #expect(bad.status == 65)
        #expect(bad.stderr.contains("provider: provider 'restcomm' does not match sender +12435678910, which belongs to account 'plum-prod'"))
        let row = try await DispatcherBinary.run(["validate", "--config", cfg, perRow])
        #expect(row.status == 65)
        #expect(row.stderr.contains("sender +12435678911 belongs to provider account 'rc-eu'; this campaign sends through 'plum-prod'"))
        // dispatcher.json in the working directory is the default configuration
        let cwd = try await DispatcherBinary.run(["validate", named], directory: URL(fileURLWithPath: dir.path))
        #expect(cwd.status == 0, "\(cwd.stderr)")
    }

    @Test func submitRoutesToTheAccountAndTakesTheConfiguredOptOutScope() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let dir = try TempDir()
        // an opt-out from another sender: suppressed only under the configured global scope
        try await c.execute("INSERT INTO opt_outs (phone, sender, source) VALUES ('+12025550143', '+19998887777', 'inbound')")
        let kind = try job(dir, "by-kind", provider: "plum")
        let named = try job(dir, "by-name", provider: "rc-eu", from: "2435678911",
                            messages: #"[{"id": "b", "to": "2025550144", "body": "Hello"}]"#)
        let cfg = try config(dir, scope: "global")
        let r = try await DispatcherBinary.run(["submit", "--config", cfg, kind, named], environment: ["DATABASE_URL": db.conninfo])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try await c.query("""
            SELECT c.name, c.provider, m.provider, m.state FROM messages m JOIN campaigns c ON c.id = m.campaign_id ORDER BY c.name
            """).map { try $0.decode((String, String, String, String).self) }
        #expect(rows.map(\.0) == ["by-kind", "by-name"])
        #expect(rows.map(\.1) == ["plum-prod", "rc-eu"])
        #expect(rows.map(\.2) == ["plum-prod", "rc-eu"])
        #expect(rows[0].3 == "suppressed")   // global scope from the configuration
        // a disagreeing provider is refused, nothing enqueued
        let wrong = try job(dir, "wrong", provider: "restcomm")
        let refused = try await DispatcherBinary.run(["submit", "--config", cfg, wrong], environment: ["DATABASE_URL": db.conninfo])
        #expect(refused.status == 65)
        #expect(refused.stderr.contains("does not match sender +12435678910"))
        // an unreadable or invalid configuration is an error, not silently the defaults
        let missing = try await DispatcherBinary.run(["submit", "--config", dir.path + "/nope.json", kind], environment: ["DATABASE_URL": db.conninfo])
        #expect(missing.status == 64)
        let invalid = try dir.write("invalid.json", #"{"providers": {"plum prod": {"kind": "plum"}}}"#)
        let bad = try await DispatcherBinary.run(["submit", "--config", invalid, kind], environment: ["DATABASE_URL": db.conninfo])
        #expect(bad.status == 65)
        #expect(bad.stderr.contains("providers.plum prod: a provider account's name"))
        await c.close()
    }

    @Test func resumeNamesAConfiguredAccount() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let dir = try TempDir()
        let cfg = try config(dir)
        try await RateLimits.rateLimitHalt(c, key: RateLimits.providerKey("plum-prod"), reason: "auth_failed")
        let unknown = try await DispatcherBinary.run(["resume", "--config", cfg, "--provider", "plum"], environment: ["DATABASE_URL": db.conninfo])
        #expect(unknown.status == 65)
        #expect(unknown.stderr.contains("no provider account named 'plum' (configured: plum-prod, plum-staging, rc-eu)"))
        let ok = try await DispatcherBinary.run(["resume", "--config", cfg, "--provider", "plum-prod"], environment: ["DATABASE_URL": db.conninfo])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(try await RateLimits.rateLimitHaltedList(c).isEmpty)
        await c.close()
    }

    @Test func commandsThatUseNoSettingStillCheckTheFile() async throws {
        let db = try await TestPostgres.database()
        let dir = try TempDir()
        let invalid = try dir.write("invalid.json", #"{"opt_out_scope": "planet"}"#)
        for command in [["report"], ["migrate"], ["status", "1"]] {
            let r = try await DispatcherBinary.run(command + ["--config", invalid], environment: ["DATABASE_URL": db.conninfo])
            #expect(r.status == 65, "\(command): \(r.stderr)")
            #expect(r.stderr.contains("opt_out_scope"), "\(command)")
        }
        let demo = try await DispatcherBinary.run(["demo", "--config", invalid])
        #expect(demo.status == 64)
        #expect(demo.stderr.contains("takes no --config"))
    }

    @Test func providerAccountNamesAreChecked() {
        for name in ["plum prod", "", "a/b", "plum%2Fx", String(repeating: "a", count: 65), "é"] {
            #expect(throws: ConfigurationError.self, "\(name)") {
                try DispatcherConfiguration.parse(Array(#"{"providers": {"\#(name)": {"kind": "plum"}}}"#.utf8))
            }
        }
        #expect(throws: Never.self) {
            try DispatcherConfiguration.parse(Array(#"{"providers": {"plum-prod.us_1": {"kind": "plum"}}}"#.utf8))
        }
    }
}
