import Foundation
import Glibc
import Jobs
import Store
import TestSupport
import Testing
@testable import Dispatcher

/// The spool takes job files and nothing else, and one bad file never stops it.
@Suite struct SpoolSafetyTests {
    func old(_ path: String) throws {
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-3600)], ofItemAtPath: path)
    }

    func scan(_ dir: TempDir, _ c: Connection) async throws -> [SpoolDirectory.Result] {
        try await SpoolDirectory(path: dir.path).scanOnce(submitter: JobSubmitter(configuration: DispatcherConfiguration()), connection: c)
    }

    func contents(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    /// A NUL in the template: validation refuses it now, the database refused it before —
    /// and that stopped every scan at this file. The files after it go in either way.
    @Test func aFileWithANULInItsTemplateIsRejectedAndTheScanGoesOn() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let dir = try TempDir()
        try old(try dir.write("a.csv", csvRows(0..<2)))
        try old(try dir.write("a.json", manifest("nul-template", csv: "a.csv", template: #"Hi \u0000{{name}} {{when}}"#)))
        try old(try dir.write("b.csv", csvRows(0..<3)))
        try old(try dir.write("b.json", manifest("after-nul", csv: "b.csv")))
        let results = try await scan(dir, c)
        #expect(results.map(\.file) == ["a.json", "b.json"])
        #expect(results.map(\.accepted) == [false, true])
        #expect(FileManager.default.fileExists(atPath: dir.path + "/rejected/a.json"))
        #expect(FileManager.default.fileExists(atPath: dir.path + "/rejected/a.csv"))
        #expect(contents(dir.path + "/rejected/a.errors").contains("template"))
        #expect(try await c.query("SELECT count(*) FROM messages").scalar(Int.self) == 3)
    }

    /// A file valid to the validator that the database refuses (here a constraint this test
    /// adds) is rejected with the database's reason; an outage leaves the file in place.
    @Test func aFileTheDatabaseRefusesIsRejectedButAnOutageLeavesItInPlace() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        try await c.execute("ALTER TABLE campaigns ADD CONSTRAINT test_refused CHECK (name <> 'refused-by-db')")
        let dir = try TempDir()
        try old(try dir.write("a.csv", csvRows(0..<2)))
        try old(try dir.write("a.json", manifest("refused-by-db", csv: "a.csv")))
        try old(try dir.write("b.csv", csvRows(0..<3)))
        try old(try dir.write("b.json", manifest("after-refusal", csv: "b.csv")))
        let results = try await scan(dir, c)
        #expect(results.map(\.file) == ["a.json", "b.json"])
        #expect(results.map(\.accepted) == [false, true])
        let errors = contents(dir.path + "/rejected/a.errors")
        #expect(errors.hasPrefix("a.json: the database refused the file: "))
        #expect(errors.contains("test_refused"))
        #expect(FileManager.default.fileExists(atPath: dir.path + "/rejected/a.csv"))

        // The database goes away: nothing is rejected, the files wait for the next scan.
        try old(try dir.write("c.csv", csvRows(0..<2)))
        try old(try dir.write("c.json", manifest("during-outage", csv: "c.csv")))
        await c.close()
        await #expect(throws: (any Error).self) { try await scan(dir, c) }
        #expect(FileManager.default.fileExists(atPath: dir.path + "/c.json"))
        #expect(FileManager.default.fileExists(atPath: dir.path + "/c.csv"))
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/rejected/c.json"))
    }

    /// A manifest naming a file outside the spool: rejected, the file neither moved nor quoted.
    @Test func aManifestNamingAFileOutsideTheSpoolIsRejectedWithoutQuotingIt() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let dir = try TempDir()
        let elsewhere = try TempDir()
        let secret = try elsewhere.write("secret.csv", "root:TOPSECRET:0:0\n+12025550143\n")
        try old(try dir.write("abs.json", manifest("abs", csv: secret)))
        try old(try dir.write("up.json", manifest("up", csv: "../" + URL(fileURLWithPath: elsewhere.path).lastPathComponent + "/secret.csv")))
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/link.csv", withDestinationPath: secret)
        try old(try dir.write("link.json", manifest("link", csv: "link.csv")))
        let results = try await scan(dir, c)
        #expect(results.map(\.file).sorted() == ["abs.json", "link.json", "up.json"])
        #expect(results.allSatisfy { !$0.accepted })
        for stem in ["abs", "up", "link"] {
            let errors = contents(dir.path + "/rejected/\(stem).errors")
            #expect(!errors.isEmpty)
            #expect(!errors.contains("TOPSECRET"), "\(errors)")
        }
        #expect(FileManager.default.fileExists(atPath: secret))
        #expect(try await c.query("SELECT count(*) FROM campaigns").scalar(Int.self) == 0)
    }

    /// FIFOs under job names are rejected unread; the scan neither blocks nor stops.
    @Test func aFIFOInTheSpoolIsRejectedWithoutBlocking() async throws {
        let db = try await TestPostgres.database()
        let c = try await db.connect()
        let dir = try TempDir()
        #expect(mkfifo(dir.path + "/fifo.json", 0o600) == 0)
        #expect(mkfifo(dir.path + "/pipe.csv", 0o600) == 0)
        try old(dir.path + "/fifo.json")
        try old(dir.path + "/pipe.csv")
        try old(try dir.write("m.json", manifest("named-pipe", csv: "pipe.csv")))
        try old(try dir.write("z.csv", csvRows(0..<2)))
        try old(try dir.write("z.json", manifest("after-fifos", csv: "z.csv")))
        let fifos = [dir.path + "/fifo.json", dir.path + "/pipe.csv", dir.path + "/processing"]
        let task = Task { try await scan(dir, c) }
        // Should the scan block in open(), release it after a generous deadline and fail.
        let watchdog = Task {
            try await Task.sleep(for: .seconds(60))
            Issue.record("the scan blocked on a FIFO")
            while true {
                for fifo in fifos + Self.claimed(dir.path + "/processing") {
                    let fd = open(fifo, O_WRONLY | O_NONBLOCK)
                    if fd >= 0 { close(fd) }
                }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        let results = try await task.value
        watchdog.cancel()
        #expect(results.map(\.file) == ["fifo.json", "m.json", "z.json"])
        #expect(results.map(\.accepted) == [false, false, true])
        #expect(contents(dir.path + "/rejected/fifo.errors").contains("not a regular file"))
        #expect(contents(dir.path + "/rejected/m.errors").contains("not a regular file"))
    }

    static func claimed(_ processing: String) -> [String] {
        let fm = FileManager.default
        return ((try? fm.contentsOfDirectory(atPath: processing)) ?? []).flatMap { claim in
            ((try? fm.contentsOfDirectory(atPath: processing + "/" + claim)) ?? []).map { processing + "/" + claim + "/" + $0 }
        }
    }
}
