// Fuzz target `job-csv`: a CSV job with its manifest, read through the job reader the way
// `submit job.csv` reads it (the manifest `job.json` beside `job.csv` names it).
//
// Input: the manifest, a line `=====`, then the CSV. Without that line the input is the CSV
// and a fixed manifest is used. Both are written to a scratch directory ($FUZZ_SCRATCH, else
// a directory under /tmp) for each input. Checks: as `job-json` (see `JobChecks.swift`).
import Foundation
@testable import Jobs

private let defaultManifest = Array("""
    {"campaign": "fuzz", "from": "2435678910", "provider": "plum",
     "template": "Hi {{name}}, see you {{when}}.", "csv": "job.csv"}
    """.utf8)

private let scratch: String = {
    let base = ProcessInfo.processInfo.environment["FUZZ_SCRATCH"] ?? "/tmp/dispatcher-fuzz-\(getpid())"
    try? FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
    return base
}()

private func write(_ bytes: ArraySlice<UInt8>, to path: String) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    if fd < 0 { fatalError("cannot write \(path)") }
    var offset = bytes.startIndex
    while offset < bytes.endIndex {
        let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        if n <= 0 { fatalError("cannot write \(path)") }
        offset += n
    }
    close(fd)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let separator = Array("\n=====\n".utf8)
    var manifest = defaultManifest[...], csv = bytes[...]
    if size >= separator.count,
       let at = (0...(size - separator.count)).first(where: { bytes[$0..<($0 + separator.count)].elementsEqual(separator) }) {
        manifest = bytes[..<at]
        csv = bytes[(at + separator.count)...]
    }
    write(manifest, to: scratch + "/job.json")
    write(csv, to: scratch + "/job.csv")
    let reader = JobReader(path: scratch + "/job.csv", options: JobChecks.options)
    JobChecks.drain(reader, bound: 4 * size + 50)
    return 0
}
