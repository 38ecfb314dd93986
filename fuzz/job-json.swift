// Fuzz target `job-json`: a JSON job file through the job reader (Sources/Jobs/Validation):
// campaign fields, templates, phone numbers, times, windows, every message validated.
//
// Checks beyond "does not crash" (see `JobChecks.swift`): the reader ends; its summary and
// error count match what it handed out; each message's segments are its body's; it is due
// no earlier than now and its send time, and expires after now.
//
// A manifest (`"csv"`) would make the reader open the file it names: the `job-csv` target
// covers manifests with a CSV beside them, so such inputs are skipped here.
import Foundation
import Support
@testable import Jobs

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let root = try? JSONParser.parse(bytes), root["csv"] != nil { return 0 }
    let reader = JobReader(json: bytes, file: "job.json", options: JobChecks.options)
    JobChecks.drain(reader, bound: 4 * size + 50)
    return 0
}
