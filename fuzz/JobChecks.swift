// Shared by the `job-json` and `job-csv` fuzz targets.
import Foundation
@testable import Jobs

enum JobChecks {
    /// A fixed "now" (2026-11-20T12:00:00Z) so inputs behave the same on every run.
    static let now = Date(timeIntervalSince1970: 1_795_176_000)
    static let options = JobOptions(now: now, csv: .init(chunkSize: 61, maxFieldBytes: 1024, maxFields: 64))

    /// Reads every item; `bound` is more items than the input can hold.
    static func drain(_ reader: JobReader, bound: Int) {
        var messages = 0, errors = 0
        while let item = reader.next() {
            switch item {
            case .message(let m):
                messages += 1
                check(m)
            case .error(let e):
                errors += 1
                _ = e.description
            }
            if messages + errors > bound { fatalError("the job reader does not end") }
        }
        if reader.summary.messages != messages { fatalError("summary counts \(reader.summary.messages) messages, \(messages) handed out") }
        if reader.errorCount != errors { fatalError("errorCount \(reader.errorCount), \(errors) handed out") }
    }

    static func check(_ m: ValidatedMessage) {
        if m.segments != SegmentCount(body: m.body) { fatalError("segments \(m.segments) for body \(m.body.debugDescription)") }
        if m.segments.segments > options.maxSegments { fatalError("\(m.segments.segments) segments accepted") }
        if m.dueAt < m.sendAt || m.dueAt < now { fatalError("due \(m.dueAt) before send_at \(m.sendAt) or now") }
        if let expires = m.expiresAt, expires <= now { fatalError("expired at \(expires) but accepted") }
        if m.body.isEmpty || m.externalID.isEmpty { fatalError("empty body or id accepted") }
    }
}
