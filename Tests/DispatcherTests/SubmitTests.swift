import Foundation
import Jobs
import Store
import TestSupport
import Testing
@testable import Dispatcher

/// Writes files into a fresh temp directory.
struct TempDir {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "dispatcher-submit-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let p = path + "/" + name
        try text.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }
}

func manifest(_ campaign: String, csv: String, template: String = "Hi {{name}}, see you {{when}}") -> String {
    """
    {"campaign": "\(campaign)", "from": "2435678910", "provider": "plum", "template": "\(template)", "csv": "\(csv)"}
    """
}

func csvRows(_ range: Range<Int>, badAt: Int? = nil) -> String {
    var s = "id,to,name,when\n"
    for i in range {
        let number = i == badAt ? "12345" : String(format: "202555%04d", i % 10_000)
        s += "m-\(i),\(number),Ana \(i),Tue 10:30\n"
    }
    return s
}

@Suite struct SubmitTests {
    @Test func enqueuesCampaignMessagesAndBodies() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let dir = try TempDir()
        try dir.write("c.csv", csvRows(0..<3))
        let path = try dir.write("c.json", manifest("c1", csv: "c.csv"))
        let outcome = try await JobSubmitter(configuration: DispatcherConfiguration()).submit([.init(path: path)], on: c)
        #expect(outcome.committed)
        #expect(outcome.files.first?.result?.enqueued == 3)
        let rows = try await c.query("""
            SELECT m.external_id, m.state, m.to_number, m.from_number, m.provider, m.segments, b.body
              FROM messages m JOIN message_bodies b ON b.message_id = m.id ORDER BY m.external_id
            """).map { row in
                let (id, state, to, from, provider, segments, body) = try row.decode((String, String, String, String, String, Int, String).self)
                return [id, state, to, from, provider, String(segments), body]
            }
        #expect(rows.count == 3)
        #expect(rows[1] == ["m-1", "pending", "+12025550001", "+12435678910", "plum", "1", "Hi Ana 1, see you Tue 10:30"])
        #expect(try await c.query("SELECT count(*) FROM campaigns WHERE name = 'c1'").scalar(Int.self) == 1)
    }

    @Test func anInvalidRowMidwayLeavesNothing() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let dir = try TempDir()
        // 12,000 rows: two chunks are already copied when row 11,000 fails validation
        try dir.write("big.csv", csvRows(0..<12_000, badAt: 11_000))
        let path = try dir.write("big.json", manifest("atomic", csv: "big.csv"))
        let outcome = try await JobSubmitter(configuration: DispatcherConfiguration()).submit([.init(path: path)], on: c)
        #expect(!outcome.committed)
        #expect(outcome.files.first?.errorCount == 1)
        #expect(outcome.files.first?.errors.first?.description == "\(dir.path)/big.csv:11002:9: invalid phone number: too short (5 digits; a NANP number has 10, an international one starts with + and has at least 7)")
        #expect(try await c.query("SELECT count(*) FROM messages").scalar(Int.self) == 0)
        #expect(try await c.query("SELECT count(*) FROM message_bodies").scalar(Int.self) == 0)
        #expect(try await c.query("SELECT count(*) FROM campaigns").scalar(Int.self) == 0)
    }

    @Test func skipInvalidEnqueuesTheRestAndRecordsRejections() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let dir = try TempDir()
        try dir.write("s.csv", csvRows(0..<10, badAt: 4))
        let path = try dir.write("s.json", manifest("skippy", csv: "s.csv"))
        let outcome = try await JobSubmitter(configuration: DispatcherConfiguration(), skipInvalid: true).submit([.init(path: path)], on: c)
        #expect(outcome.committed)
        #expect(outcome.files.first?.result?.enqueued == 9)
        #expect(outcome.files.first?.result?.rejected == 1)
        let rejection = try #require(try await c.query("SELECT location, external_id, error FROM job_rejections").first)
        #expect(try rejection.decode(String.self, at: 0) == "\(dir.path)/s.csv:6:5")
        #expect(try rejection.decode(String?.self, at: 1) == "m-4")
    }

    @Test func resubmittingEnqueuesOnlyWhatIsNew() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let dir = try TempDir()
        try dir.write("a.csv", csvRows(0..<5))
        let first = try dir.write("a.json", manifest("again", csv: "a.csv"))
        #expect(try await JobSubmitter(configuration: DispatcherConfiguration()).submit([.init(path: first)], on: c).files[0].result?.enqueued == 5)
        let same = try await JobSubmitter(configuration: DispatcherConfiguration()).submit([.init(path: first)], on: c).files[0].result
        #expect(same?.enqueued == 0)
        #expect(same?.alreadyPresent == 5)
        #expect(same?.campaignCreated == false)
        // an overlapping file: rows 3..<8
        try dir.write("b.csv", csvRows(3..<8))
        let overlap = try dir.write("b.json", manifest("again", csv: "b.csv"))
        let r = try await JobSubmitter(configuration: DispatcherConfiguration()).submit([.init(path: overlap)], on: c).files[0].result
        #expect(r?.enqueued == 3)
        #expect(r?.alreadyPresent == 2)
        #expect(try await c.query("SELECT count(*) FROM messages").scalar(Int.self) == 8)
    }

    @Test func derivedIdsMakeFilesWithoutIdsIdempotent() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let dir = try TempDir()
        try dir.write("n.csv", "to,name,when\n2025550101,Ana,Tue\n2025550102,Bo,Wed\n")
        let path = try dir.write("n.json", manifest("noids", csv: "n.csv"))
        #expect(try await JobSubmitter(configuration: DispatcherConfiguration()).submit([.init(path: path)], on: c).files[0].result?.enqueued == 2)
        #expect(try await JobSubmitter(configuration: DispatcherConfiguration()).submit([.init(path: path)], on: c).files[0].result?.alreadyPresent == 2)
        #expect(try await c.query("SELECT count(*) FROM messages").scalar(Int.self) == 2)
    }

    @Test func hostileContentIsStoredVerbatim() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let dir = try TempDir()
        let hostile = #"'); DROP TABLE messages; -- \" \\ $1 {{x}} 😀 שלום"#
        let job: [String: Any] = [
            "campaign": "robert'); DROP TABLE campaigns;--", "from": "2435678910", "provider": "plum",
            "messages": [["id": "x'; --", "to": "2025550143", "body": hostile]],
        ]
        let path = dir.path + "/h.json"
        try JSONSerialization.data(withJSONObject: job).write(to: URL(fileURLWithPath: path))
        let outcome = try await JobSubmitter(configuration: DispatcherConfiguration()).submit([.init(path: path)], on: c)
        #expect(outcome.committed, "\(outcome.files.first?.errors ?? [])")
        let row = try #require(try await c.query("""
            SELECT c.name, m.external_id, b.body FROM messages m JOIN campaigns c ON c.id = m.campaign_id
              JOIN message_bodies b ON b.message_id = m.id
            """).first)
        #expect(try row.decode((String, String, String).self) == ("robert'); DROP TABLE campaigns;--", "x'; --", hostile))
    }

    @Test func optedOutRecipientsAreSuppressed() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        try await c.execute("INSERT INTO opt_outs (phone, sender, source) VALUES ('+12025550001', '+12435678910', 'inbound')")
        try await c.execute("INSERT INTO opt_outs (phone, sender, source) VALUES ('+12025550002', '+19998887777', 'inbound')")
        let dir = try TempDir()
        try dir.write("o.csv", csvRows(0..<3))
        let path = try dir.write("o.json", manifest("optout", csv: "o.csv"))
        let r = try await JobSubmitter(configuration: DispatcherConfiguration()).submit([.init(path: path)], on: c).files[0].result
        #expect(r?.enqueued == 2)
        #expect(r?.suppressed == 1)
        #expect(try await c.query("SELECT external_id FROM messages WHERE state = 'suppressed'").scalar(String.self) == "m-1")
        #expect(try await c.query("SELECT count(*) FROM message_events WHERE kind = 'suppressed'").scalar(Int.self) == 1)
        // global scope: an opt-out from another sender counts too
        try dir.write("g.csv", csvRows(0..<3))
        let global = try dir.write("g.json", manifest("optout-global", csv: "g.csv"))
        let g = try await JobSubmitter(options: JobOptions(), skipInvalid: false, optOutScope: .global).submit([.init(path: global)], on: c).files[0].result
        #expect(g?.suppressed == 2)
    }

    @Test func concurrentSubmitsOfTheSameFileCreateOneCampaign() async throws {
        let db = try await TestPostgres.database()
        let dir = try TempDir()
        try dir.write("p.csv", csvRows(0..<2_000))
        let path = try dir.write("p.json", manifest("parallel", csv: "p.csv"))
        let results = try await withThrowingTaskGroup(of: CampaignEnqueuer.Result?.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    let c = try await db.connect()
                    return try await JobSubmitter(configuration: DispatcherConfiguration()).submit([.init(path: path)], on: c).files.first?.result
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.compactMap { $0?.enqueued }.sorted() == [0, 0, 2_000])
        let c = try await db.connect()
        #expect(try await c.query("SELECT count(*) FROM campaigns").scalar(Int.self) == 1)
        #expect(try await c.query("SELECT count(*) FROM messages").scalar(Int.self) == 2_000)
    }

    @Test func submitCommandExitCodes() async throws {
        let db = try await TestPostgres.database()
        let dir = try TempDir()
        try dir.write("e.csv", csvRows(0..<3, badAt: 1))
        let bad = try dir.write("e.json", manifest("exitcodes", csv: "e.csv"))
        let r = try await DispatcherBinary.run(["submit", bad], environment: ["DATABASE_URL": db.conninfo])
        #expect(r.status == 65)
        #expect(r.stderr.contains("e.csv:3:5: invalid phone number"))
        #expect(r.stderr.contains("nothing was enqueued"))
        let skip = try await DispatcherBinary.run(["submit", bad, "--skip-invalid"], environment: ["DATABASE_URL": db.conninfo])
        #expect(skip.status == 0, "\(skip.stderr)")
        #expect(skip.stdout.contains("2 enqueued, 1 rejected"))
        let again = try await DispatcherBinary.run(["submit", bad, "--skip-invalid"], environment: ["DATABASE_URL": db.conninfo])
        #expect(again.stdout.contains("0 enqueued, 2 already enqueued"))
        #expect(try await DispatcherBinary.run(["submit"], environment: ["DATABASE_URL": db.conninfo]).status == 64)
        // a bare CSV with flags
        try dir.write("bare.csv", "to,body\n2025550123,Hello there\n")
        let bare = try await DispatcherBinary.run(["submit", dir.path + "/bare.csv", "--campaign", "bare", "--from", "2435678910", "--provider", "plum"],
                                            environment: ["DATABASE_URL": db.conninfo])
        #expect(bare.status == 0, "\(bare.stderr)")
        #expect(bare.stdout.contains("campaign bare"))
    }
}

@Suite struct SpoolTests {
    func old(_ path: String) throws {
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-3600)], ofItemAtPath: path)
    }

    @Test func filesAreSubmittedAndFiledWithErrors() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let dir = try TempDir()
        try old(try dir.write("good.csv", csvRows(0..<4)))
        try old(try dir.write("good.json", manifest("spool-good", csv: "good.csv")))
        try old(try dir.write("bad.csv", csvRows(0..<4, badAt: 2)))
        try old(try dir.write("bad.json", manifest("spool-bad", csv: "bad.csv")))
        try old(try dir.write("half.json.tmp", "{"))                   // still being written
        try old(try dir.write(".hidden.json", "{"))
        try dir.write("fresh.json", manifest("spool-fresh", csv: "none.csv"))  // not settled yet
        let results = try await SpoolDirectory(path: dir.path).scanOnce(submitter: JobSubmitter(configuration: DispatcherConfiguration()), connection: c)
        #expect(results.map(\.file).sorted() == ["bad.json", "good.json"])
        let fm = FileManager.default
        #expect(fm.fileExists(atPath: dir.path + "/accepted/good.json"))
        #expect(fm.fileExists(atPath: dir.path + "/accepted/good.csv"))
        #expect(fm.fileExists(atPath: dir.path + "/rejected/bad.json"))
        #expect(fm.fileExists(atPath: dir.path + "/rejected/bad.csv"))
        let errors = try String(contentsOfFile: dir.path + "/rejected/bad.errors", encoding: .utf8)
        #expect(errors == "bad.csv:4:5: invalid phone number: too short (5 digits; a NANP number has 10, an international one starts with + and has at least 7)\n")
        #expect(fm.fileExists(atPath: dir.path + "/half.json.tmp"))
        #expect(fm.fileExists(atPath: dir.path + "/.hidden.json"))
        #expect(fm.fileExists(atPath: dir.path + "/fresh.json"))
        #expect(try await c.query("SELECT count(*) FROM messages").scalar(Int.self) == 4)
    }

    @Test func twoWatchersSubmitEachFileOnce() async throws {
        let db = try await TestPostgres.database()
        let dir = try TempDir()
        for i in 0..<12 {
            try old(try dir.write("j\(i).csv", csvRows(0..<50)))
            try old(try dir.write("j\(i).json", manifest("watch-\(i)", csv: "j\(i).csv")))
        }
        let all = try await withThrowingTaskGroup(of: [SpoolDirectory.Result].self) { group in
            for _ in 0..<2 {
                group.addTask {
                    let c = try await db.connect()
                    return try await SpoolDirectory(path: dir.path).scanOnce(submitter: JobSubmitter(configuration: DispatcherConfiguration()), connection: c)
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(all.count == 12)
        #expect(Set(all.map(\.file)).count == 12)
        #expect(all.allSatisfy { $0.accepted })
        let c = try await db.connect()
        #expect(try await c.query("SELECT count(*) FROM messages").scalar(Int.self) == 12 * 50)
        #expect(try await c.query("SELECT count(*) FROM campaigns").scalar(Int.self) == 12)
    }

    @Test func orphanCSVAndMissingCSVAreRejected() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let dir = try TempDir()
        try old(try dir.write("lonely.csv", csvRows(0..<2)))
        try old(try dir.write("m.json", manifest("missing", csv: "gone.csv")))
        let results = try await SpoolDirectory(path: dir.path).scanOnce(submitter: JobSubmitter(configuration: DispatcherConfiguration()), connection: c)
        #expect(results.count == 2)
        #expect(results.filter { $0.accepted }.isEmpty)
        #expect(FileManager.default.fileExists(atPath: dir.path + "/rejected/lonely.errors"))
        #expect(FileManager.default.fileExists(atPath: dir.path + "/rejected/m.errors"))
    }
}
