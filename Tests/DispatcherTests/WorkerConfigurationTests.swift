import Foundation
import Testing
@testable import Dispatcher
import Store

/// Configuration parsing and the retry schedule: pure, no I/O.
@Suite("Worker configuration and retry policy")
struct WorkerConfigurationTests {
    func parse(_ json: String, env: [String: String] = [:]) throws(ConfigurationError) -> DispatcherConfiguration {
        try DispatcherConfiguration.parse(Array(json.utf8), file: "d.json", environment: env)
    }

    @Test func defaultsWorkWithNoFile() throws {
        let c = try parse("{}")
        #expect(c.listen == "127.0.0.1:8080" && c.spool == "jobs/incoming" && c.leaseSeconds == 60)
        #expect(c.retry == DispatcherConfiguration.Retry())
        #expect(c.retry.maxAttempts == 5 && c.retry.baseDelaySeconds == 30 && c.retry.maxDelaySeconds == 3600)
        #expect(c.poll.afterSeconds == 120 && c.poll.giveUpAfterSeconds == 604_800)
        #expect(c.optOutScope == .sender)
        #expect(c.accounts["plum"]?.baseURL.absoluteString == "http://127.0.0.1:8787")
        #expect(c.accounts["restcomm"]?.accountSID == "ACsandbox")
        #expect(try DispatcherConfiguration.load(path: nil).listen == "127.0.0.1:8080" || FileManager.default.fileExists(atPath: "dispatcher.json"))
    }

    @Test func theSpecSketchParsesWithSecretsFromTheEnvironment() throws {
        let c = try parse("""
            {"listen": "127.0.0.1:8080", "public_url": "https://sms.example.com", "spool": "jobs/incoming",
             "providers": {"plum": {"kind": "plum", "base_url": "https://hosting.plumvoice.com", "username": "acme", "password_env": "PLUM_PASSWORD"},
                           "restcomm": {"kind": "restcomm", "base_url": "https://mycompany.restcomm.com/restcomm",
                                        "account_sid": "AC1", "auth_token_env": "RESTCOMM_TOKEN", "rate_per_second": 100}},
             "senders": {"2435678910": {"provider": "plum", "rate_per_second": 1, "burst": 1}},
             "retry": {"max_attempts": 5, "base_delay_s": 30, "max_delay_s": 3600},
             "poll": {"after_s": 120, "give_up_after_s": 604800}, "lease_s": 60, "opt_out_scope": "global"}
            """, env: ["PLUM_PASSWORD": "s3cret-plum", "RESTCOMM_TOKEN": "s3cret-token"])
        #expect(c.accounts["plum"]?.password.value == "s3cret-plum")
        #expect(c.accounts["restcomm"]?.authToken.value == "s3cret-token")
        #expect(c.accounts["restcomm"]?.rateLimit == RateLimit(perSecond: 100, burst: 100))
        #expect(c.rateLimit(sender: "+12435678910") == RateLimit(perSecond: 1, burst: 1))
        #expect(c.rateLimit(sender: "+19999999999") == c.defaultSenderRate)
        #expect(c.optOutScope == .global)
        #expect(!c.description.contains("s3cret"))
        #expect(!"\(c.accounts["plum"]!)".contains("s3cret"))
    }

    @Test func badSettingsNameTheirPath() {
        let cases: [(String, String)] = [
            (#"{"retry": {"max_attempts": 0}}"#, "retry.max_attempts"),
            (#"{"providers": {"p": {"kind": "smoke"}}}"#, "providers.p.kind"),
            (#"{"providers": {"plum": {"password_env": "NOT_SET_ANYWHERE"}}}"#, "providers.plum.password_env"),
            (#"{"senders": {"12": {"rate_per_second": 1}}}"#, "senders.12"),
            (#"{"senders": {"2435678910": {"provider": "nope", "rate_per_second": 1}}}"#, "senders.+12435678910.provider"),
            (#"{"lease_s": 3}"#, "lease_s"),
            (#"{"opt_out_scope": "planet"}"#, "opt_out_scope"),
            (#"{"colour": 1}"#, "colour"),
        ]
        for (json, path) in cases {
            #expect(throws: ConfigurationError.self) { try parse(json) }
            do { _ = try parse(json) } catch { #expect(error.path == path, "\(json)") }
        }
        do { _ = try parse("{\n  \"listen\": }") } catch {
            #expect(error.file == "d.json:2:13" && error.path == nil)
        }
    }

    @Test func backoffGrowsWithinBaseAndCeilingAndRespectsLimits() {
        let policy = RetryPolicy(maxAttempts: 5, baseDelaySeconds: 30, maxDelaySeconds: 3600)
        #expect((1...9).map { policy.delayCeiling(afterAttempt: $0) } == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600])
        var random = SystemRandomNumberGenerator()
        for attempt in 1...10 {
            let d = policy.delay(afterAttempt: attempt, using: &random)
            #expect(d >= 30 && d <= policy.delayCeiling(afterAttempt: attempt))
        }
        let now = Date()
        let retry = ErrorPolicy.rule(for: .unknownError)
        guard case .retry(let at) = policy.decide(attempts: 1, rule: retry, expiresAt: nil, now: now, using: &random) else {
            Issue.record("expected a retry"); return
        }
        #expect(at.timeIntervalSince(now) == 30)
        #expect(policy.decide(attempts: 5, rule: retry, expiresAt: nil, now: now, using: &random) == .exhausted)
        #expect(policy.decide(attempts: 1, rule: retry, expiresAt: now.addingTimeInterval(10), now: now, using: &random) == .expired)
        // 30003 (unreachable) is retried twice at most.
        #expect(policy.decide(attempts: 3, rule: ErrorPolicy.rule(for: .unreachable), expiresAt: nil, now: now, using: &random) == .exhausted)
    }
}

/// `compliance.quiet_hours` and `compliance.frequency_cap`.
@Suite struct SendingComplianceConfigurationTests {
    func parse(_ json: String) throws(ConfigurationError) -> DispatcherConfiguration {
        try DispatcherConfiguration.parse(Array(json.utf8), file: "d.json", environment: [:])
    }

    @Test func offByDefaultAndReadWhenGiven() throws {
        #expect(try parse("{}").sendingCompliance == .none)
        let c = try parse(#"{"compliance": {"quiet_hours": "us-federal", "frequency_cap": {"max": 3, "per": "all", "action": "suppress"}}}"#)
        #expect(c.sendingCompliance.quietHours == .usFederal)
        #expect(c.sendingCompliance.frequencyCap == FrequencyCap(max: 3, per: .all, action: .suppress))
        let d = try parse(#"{"compliance": {"frequency_cap": {"max": 1}}}"#)
        #expect(d.sendingCompliance.frequencyCap == FrequencyCap(max: 1, per: .sender, action: .defer))
    }

    @Test func badValuesNameTheirPath() {
        let cases: [(String, String)] = [
            (#"{"compliance": 1}"#, "compliance"),
            (#"{"compliance": {"quiet_hours": "night"}}"#, "compliance.quiet_hours"),
            (#"{"compliance": {"quiet_hours": 7}}"#, "compliance.quiet_hours"),
            (#"{"compliance": {"frequency_cap": {"max": 0}}}"#, "compliance.frequency_cap.max"),
            (#"{"compliance": {"frequency_cap": {"max": 1.5}}}"#, "compliance.frequency_cap.max"),
            (#"{"compliance": {"frequency_cap": {"max": 1e300}}}"#, "compliance.frequency_cap.max"),
            (#"{"compliance": {"frequency_cap": {"max": "3"}}}"#, "compliance.frequency_cap.max"),
            (#"{"compliance": {"frequency_cap": {"per": "sender"}}}"#, "compliance.frequency_cap.max"),
            (#"{"compliance": {"frequency_cap": {"max": 2, "per": "campaign"}}}"#, "compliance.frequency_cap.per"),
            (#"{"compliance": {"frequency_cap": {"max": 2, "action": "drop"}}}"#, "compliance.frequency_cap.action"),
            (#"{"compliance": {"frequency_cap": {"max": 2, "window": "1d"}}}"#, "compliance.frequency_cap.window"),
            (#"{"compliance": {"frequency_cap": []}}"#, "compliance.frequency_cap"),
            (#"{"compliance": {"colour": 1}}"#, "compliance.colour"),
        ]
        for (json, path) in cases {
            do {
                _ = try parse(json)
                Issue.record("\(json) parsed")
            } catch {
                #expect(error.path == path, "\(json)")
            }
        }
    }
}
