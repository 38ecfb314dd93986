import Foundation
import Testing
@testable import Jobs

@Suite("Job inputs: files paired with their campaign fields")
struct JobInputTests {
    @Test func aCSVTakesItsManifestUnlessTheManifestIsGivenToo() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try write("{\"campaign\": \"m\", \"from\": \"2435678910\", \"provider\": \"plum\", \"template\": \"Hi\", \"csv\": \"m.csv\"}", to: dir + "/m.json")
        try write("to\n2025550143\n", to: dir + "/m.csv")
        #expect(try JobInput.pair([dir + "/m.csv"], flags: nil) == [JobInput(path: dir + "/m.csv")])
        // the manifest reads the CSV: given both, the CSV is not read a second time
        #expect(try JobInput.pair([dir + "/m.json", dir + "/m.csv"], flags: nil) == [JobInput(path: dir + "/m.json")])
        #expect(try JobInput.pair(["a.json"], flags: nil) == [JobInput(path: "a.json")])
    }

    @Test func aCSVWithoutManifestNeedsEveryCampaignFlag() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try write("to,body\n2025550143,hi\n", to: dir + "/bare.csv")
        #expect(throws: JobInputError("\(dir)/bare.csv: no manifest names this CSV; give --campaign, --from and --provider")) {
            try JobInput.pair([dir + "/bare.csv"], flags: nil)
        }
        let partial = CampaignSettings(campaign: "c", from: nil, provider: nil)
        #expect(throws: JobInputError("\(dir)/bare.csv: a CSV without a manifest needs --from, --provider")) {
            try JobInput.pair([dir + "/bare.csv"], flags: partial)
        }
        let full = CampaignSettings(campaign: "c", from: "2435678910", provider: "plum")
        #expect(try JobInput.pair([dir + "/bare.csv"], flags: full) == [JobInput(path: dir + "/bare.csv", settings: full)])
    }
}
