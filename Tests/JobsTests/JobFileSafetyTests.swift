import Foundation
import Glibc
import Testing
@testable import Jobs

/// A manifest's `"csv"` reads a job file beside it and nothing else; what PostgreSQL cannot
/// store is caught by validation, so `validate` refuses what `submit` would.
@Suite struct JobFileSafetyTests {
    let options = JobOptions(now: fixedNow)

    /// A directory `jobs/` for manifests and, beside it, `outside/secret.csv`: a file that is
    /// not a job file, whose first line must never appear in an error.
    func layout() throws -> (jobs: String, secret: String) {
        let root = try makeTemporaryDirectory()
        try FileManager.default.createDirectory(atPath: root + "/jobs", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/outside", withIntermediateDirectories: true)
        try write("root:TOPSECRET:0:0\n+12025550143\n", to: root + "/outside/secret.csv")
        return (root + "/jobs", root + "/outside/secret.csv")
    }

    func manifestText(csv: String) -> String {
        #"{"campaign": "c", "from": "2435678910", "provider": "plum", "template": "Hi", "csv": "\#(csv)"}"#
    }

    func read(_ path: String, options: JobOptions? = nil) -> (errors: [JobError], messages: Int) {
        let reader = JobReader(path: path, options: options ?? self.options)
        var errors: [JobError] = []
        var messages = 0
        while let item = reader.next() {
            switch item {
            case .message: messages += 1
            case .error(let e): errors.append(e)
            }
        }
        return (errors, messages)
    }

    @Test(arguments: ["ABSOLUTE", "../outside/secret.csv", "link.csv", "secret", "sub/x.csv", ".."])
    func manifestCSVOutsideItsDirectoryIsRefusedUnread(csv: String) throws {
        let (jobs, secret) = try layout()
        try FileManager.default.createSymbolicLink(atPath: jobs + "/link.csv", withDestinationPath: "../outside/secret.csv")
        try FileManager.default.createSymbolicLink(atPath: jobs + "/secret", withDestinationPath: "../outside/secret.csv")
        let name = csv == "ABSOLUTE" ? secret : csv
        try write(manifestText(csv: name), to: jobs + "/m.json")
        let (errors, messages) = read(jobs + "/m.json")
        #expect(messages == 0)
        #expect(errors.count == 1)
        #expect(errors.first?.location == .path("csv"))
        #expect(errors.first?.file == jobs + "/m.json")
        #expect(!errors.contains { $0.description.contains("TOPSECRET") })
    }

    @Test func aLinkThatStaysInTheDirectoryIsFollowed() throws {
        let (jobs, _) = try layout()
        try write("to\n+12025550143\n", to: jobs + "/real.csv")
        try FileManager.default.createSymbolicLink(atPath: jobs + "/alias.csv", withDestinationPath: "real.csv")
        try write(manifestText(csv: "alias.csv"), to: jobs + "/m.json")
        let (errors, messages) = read(jobs + "/m.json")
        #expect(errors.isEmpty)
        #expect(messages == 1)
    }

    @Test func aCSVLargerThanTheCapIsRefusedBeforeAnyRow() throws {
        let (jobs, _) = try layout()
        try write("to\n" + String(repeating: "+12025550143\n", count: 20), to: jobs + "/big.csv")
        try write(manifestText(csv: "big.csv"), to: jobs + "/m.json")
        var options = self.options
        options.csv.maxFileBytes = 100
        let (errors, messages) = read(jobs + "/m.json", options: options)
        #expect(messages == 0)
        #expect(errors.map(\.description) == ["\(jobs)/big.csv: the file is larger than 100 bytes"])
        #expect(CSVReader.Configuration().maxFileBytes == 1 << 30)
    }

    /// A FIFO under a job's name is refused without blocking (opening one for reading waits
    /// for a writer); so is a JSON job file that is one.
    @Test func aFIFOIsRefusedWithoutBlocking() throws {
        let (jobs, _) = try layout()
        #expect(mkfifo(jobs + "/pipe.csv", 0o600) == 0)
        #expect(mkfifo(jobs + "/pipe.json", 0o600) == 0)
        try write(manifestText(csv: "pipe.csv"), to: jobs + "/m.json")
        let results = try Self.withinDeadline(unblocking: [jobs + "/pipe.csv", jobs + "/pipe.json"]) { [self] in
            [read(jobs + "/m.json").errors.map(\.description), read(jobs + "/pipe.json").errors.map(\.description)]
        }
        #expect(results == [
            ["\(jobs)/pipe.csv: not a regular file (a FIFO, device, directory or socket is never read)"],
            ["\(jobs)/pipe.json: cannot read the file: not a regular file (a FIFO, device, directory or socket is never read)"],
        ])
    }

    /// Runs `body` on a thread; if it has not finished after a generous deadline (blocked in
    /// open), opens the FIFOs for writing to release it and fails.
    static func withinDeadline<T: Sendable>(unblocking fifos: [String], _ body: @escaping @Sendable () -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        let box = Box<T>()
        Thread { box.value = body(); done.signal() }.start()
        if done.wait(timeout: .now() + 60) == .timedOut {
            Issue.record("reading blocked on a FIFO")
            repeat {
                for fifo in fifos {
                    let fd = open(fifo, O_WRONLY | O_NONBLOCK)
                    if fd >= 0 { close(fd) }
                }
            } while done.wait(timeout: .now() + 0.1) == .timedOut
        }
        return try #require(box.value)
    }

    final class Box<T>: @unchecked Sendable { var value: T? }

    // MARK: what PostgreSQL cannot store

    @Test func aNULInTheTemplateIsACampaignError() throws {
        let reader = JobReader(json: Array(#"""
            {"campaign": "c", "from": "2435678910", "provider": "plum", "template": "Hi \u0000{{name}}",
             "messages": [{"id": "a", "to": "2025550143", "vars": {"name": "Ana"}}]}
            """#.utf8), file: "job.json", options: options)
        let job = ValidatedJob(reading: reader)
        #expect(reader.header == nil, "a campaign whose template the database refuses is not valid")
        #expect(job.errors.first?.description == "job.json: template: the template contains a NUL character, which no message can carry")
    }

    /// Every error stays one line without control characters, whatever the file quoted in it
    /// (here an id, a field name and a provider with NULs and a line break).
    @Test func errorsNeverCarryControlCharacters() throws {
        let job = ValidatedJob(reading: JobReader(json: Array(#"""
            {"campaign": "c\u0000", "from": "2435678910", "provider": "pl\u0000um\n", "template": "Hi",
             "messages": [{"id": "a\u0000", "to": "2025550143"}, {"id": "a\u0000", "to": "2025550144", "x\u0000y": 1}]}
            """#.utf8), file: "job.json", options: options))
        #expect(job.errors.count >= 4)
        for error in job.errors {
            #expect(!error.description.hasControlCharacters, "\(error.description.debugDescription)")
            #expect(!(error.messageID ?? "").hasControlCharacters)
        }
        #expect(job.errors.contains { $0.description.contains(#"unknown provider 'pl\u{0}um\u{a}'"#) })
        #expect(job.errors.contains { $0.description.contains(#"messages[1].x\u{0}y: unknown field"#) })
    }
}
