import HTTP
import HTTPTesting
import Support
import Foundation
@testable import Store
import TestSupport
import Testing
@testable import Dispatcher

/// The campaigns page served from its last computation (`ConsoleListCache`): within the
/// fresh period as it is, then recomputed in the background, never past the maximum age, and
/// at once after the console's own actions.
@Suite struct ConsoleListCacheTests {
    static func configuration(fresh: Duration, maxAge: Duration) -> ConsoleConfiguration {
        var c = ConsoleServer.credentials()
        c.campaignsListFresh = fresh
        c.campaignsListMaxAge = maxAge
        return c
    }

    static func addCampaign(_ s: ConsoleServer, _ name: String) async throws {
        try await s.connection.execute("INSERT INTO campaigns (name, provider, from_number) VALUES (\(name), 'plum', '+12435678910')")
    }

    @Test func withinTheFreshPeriodTheListIsServedAsComputedAndAnActionClearsIt() async throws {
        let s = try await ConsoleServer.start(Self.configuration(fresh: .seconds(3600), maxAge: .seconds(3600)))
        #expect(try await s.request("/console/").text.contains("dental-2026-11-24"))
        try await Self.addCampaign(s, "added-later")
        // the same filter: the copy; another filter: computed now
        #expect(!(try await s.request("/console/").text.contains("added-later")))
        #expect(try await s.request("/console/?name=added").text.contains("added-later"))
        // an operator's action clears every copy
        let campaign = ConsoleURL.campaign("dental-2026-11-24")
        let token = try #require(ConsoleServer.csrfToken(in: try await s.request(campaign).text))
        #expect(try await s.request("POST", campaign + "/resume", form: [("csrf", token)]).status == 303)
        let after = try await s.request("/console/").text
        #expect(after.contains("added-later"))
        await s.stop()
    }

    @Test func aStaleCopyIsServedOnceWhileANewerOneIsComputed() async throws {
        let s = try await ConsoleServer.start(Self.configuration(fresh: .zero, maxAge: .seconds(3600)))
        #expect(try await s.request("/console/").text.contains("dental-2026-11-24"))
        try await Self.addCampaign(s, "added-later")
        // every copy is stale at once: served, and recomputed in the background
        #expect(await eventually(timeout: .seconds(30)) { (try? await s.request("/console/").text.contains("added-later")) == true })
        await s.stop()
    }

    /// A background computation that started before an action and ends after it must not
    /// put its pre-action rows back: the next request computes them anew.
    @Test func aComputationRunningAcrossAClearIsNotKept() async throws {
        @Sendable func row(_ name: String) -> [ConsoleRows.Campaign] {
            [ConsoleRows.Campaign(name: name, id: 1, status: "active", total: 0, states: [:], deliveryRate: 0, perMinute: 0,
                                  errors: 0, replies: 0, optOuts: 0, createdAt: Date())]
        }
        let cache = ConsoleListCache()
        let (fresh, maxAge) = (Duration.zero, Duration.seconds(3600))
        #expect(try await cache.rows(key: "k", generation: 0, fresh: fresh, maxAge: maxAge) { row("first") }.map(\.name) == ["first"])
        // stale at once: served, and recomputed in the background by a load held at a gate
        let gate = AsyncStream<Void>.makeStream()
        let started = AsyncStream<Void>.makeStream()
        let served = try await cache.rows(key: "k", generation: 0, fresh: fresh, maxAge: maxAge) {
            started.continuation.yield()
            for await _ in gate.stream { break }
            return row("before-the-action")
        }
        #expect(served.map(\.name) == ["first"])
        for await _ in started.stream { break }
        await cache.clear()  // the operator's action
        gate.continuation.yield()
        #expect(await eventually { await !cache.isRefreshing("k") })
        let after = try await cache.rows(key: "k", generation: 0, fresh: fresh, maxAge: maxAge) { row("after-the-action") }
        #expect(after.map(\.name) == ["after-the-action"])
    }

    @Test func withoutAMaximumAgeTheListIsComputedOnEveryRequest() async throws {
        let s = try await ConsoleServer.start(Self.configuration(fresh: .seconds(3600), maxAge: .zero))
        #expect(!(try await s.request("/console/").text.contains("added-later")))
        try await Self.addCampaign(s, "added-later")
        #expect(try await s.request("/console/").text.contains("added-later"))
        await s.stop()
    }
}

/// The campaigns list computes campaign_report's counts itself (one pass, no percentiles):
/// they must stay the same figures.
@Suite struct ConsoleCampaignsListTests {
    @Test func theListsCountsAreCampaignReportsCounts() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        try await ConsoleDataSet.insert(c)
        try await c.execute("INSERT INTO campaigns (name, provider, from_number) VALUES ('empty-one', 'plum', '+12435678910')")
        let list = try await ConsoleQueries.campaignsList(c, name: nil, status: nil, state: nil, limit: 500)
        #expect(list.count == ConsoleDataSet.campaigns.count + 1)
        for row in list {
            let report = try #require(try await ConsoleQueries.campaignGet(c, name: row.name))
            #expect(row.total == report.total && row.states == report.states && row.status == report.status, "\(row.name)")
            #expect(row.deliveryRate == report.deliveryRate && row.errors == report.errors && row.perMinute == report.perMinute)
            #expect(row.replies == report.replies && row.optOuts == report.optOuts, "\(row.name)")
        }
        #expect(try await ConsoleQueries.campaignsList(c, name: nil, status: nil, state: "failed", limit: 500).map(\.name)
                == [ConsoleDataSet.hostileName])
        await c.close()
    }
}

/// A campaign's page: its per-minute series counts every send, acceptance and delivery of
/// the hour it covers (the data set's activity all lies within the last hour).
@Suite struct ConsoleCampaignPageQueryTests {
    @Test func theSeriesCountsEverySendAcceptanceAndDelivery() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        try await ConsoleDataSet.insert(c)
        for (name, _) in ConsoleDataSet.campaigns {
            let campaign = try #require(try await ConsoleQueries.campaignGet(c, name: name))
            let series = try await ConsoleQueries.campaignSeries(c, campaignID: campaign.id, minutes: 60)
            #expect(series.count == 60)
            let sends = try await c.query("""
                SELECT count(*) FROM message_events e JOIN messages m ON m.id = e.message_id
                 WHERE m.campaign_id = \(campaign.id) AND e.kind = 'attempt'
                """).scalar(Int.self)
            let accepted = try await c.query("SELECT count(accepted_at) FROM messages WHERE campaign_id = \(campaign.id)").scalar(Int.self)
            let delivered = try await c.query("""
                SELECT count(*) FROM messages WHERE campaign_id = \(campaign.id) AND state = 'delivered'
                """).scalar(Int.self)
            #expect(series.reduce(0) { $0 + $1.sends } == sends, "\(name)")
            #expect(series.reduce(0) { $0 + $1.acceptances } == accepted, "\(name)")
            #expect(series.reduce(0) { $0 + $1.deliveries } == delivered, "\(name)")
            // campaign_report's own row, read directly
            let report = try await c.query("SELECT total, delivered, pending FROM campaign_report WHERE campaign = \(name)")
            let row = try #require(report.first)
            #expect(campaign.total == (try row.decode(Int.self, at: 0)))
            #expect(campaign.states["delivered"] == (try row.decode(Int.self, at: 1)))
            #expect(campaign.states["pending"] == (try row.decode(Int.self, at: 2)))
        }
        await c.close()
    }
}
