import Foundation
import Testing
@testable import Jobs

/// `system:` campaign names belong to the dispatcher (`system:replies` holds the replies it
/// sends to inbound SMS): a job file cannot add messages to them.
@Suite struct ReservedCampaignNameTests {
    @Test func aJobCannotUseASystemCampaignName() {
        for name in ["system:replies", "SYSTEM:replies", "system:anything"] {
            let job = ValidatedJob(reading: JobReader(json: Array("""
                {"campaign": "\(name)", "from": "2435678910", "provider": "plum", "messages": [{"to": "2025550143", "body": "hi"}]}
                """.utf8), file: "job.json", options: JobOptions(now: fixedNow)))
            #expect(job.header == nil, "\(name)")
            #expect(job.errors.map(\.description).contains { $0.hasPrefix("job.json: campaign: campaign names starting with 'system:'") }, "\(name)")
        }
        let ok = ValidatedJob(reading: JobReader(json: Array("""
            {"campaign": "systems-check", "from": "2435678910", "provider": "plum", "messages": [{"to": "2025550143", "body": "hi"}]}
            """.utf8), file: "job.json", options: JobOptions(now: fixedNow)))
        #expect(ok.errors.isEmpty, "\(ok.errors)")
    }
}
