public import Foundation
import Glibc
public import Store

/// The spool directory: job files dropped by cron are submitted and filed away.
///
/// A file is picked up when its name is complete (`*.json`; a CSV through the manifest
/// that names it) and it has not changed for `settleSeconds` — cron writes to a
/// temporary name and renames, and dot files, `*.tmp`, `*.part` and `*~` are never
/// touched. A worker claims a file by renaming it into `processing/<claim>/`: the rename
/// succeeds for exactly one of several workers watching the same directory. After the
/// submit the files move to `accepted/` or `rejected/`, with `NAME.errors` beside them
/// listing every problem. A claim left behind by a worker that died is put back after
/// `staleClaimSeconds` and submitted again — safe, because submit is idempotent.
///
/// Only regular files are taken: a symbolic link, FIFO, device or directory under a job's
/// name is rejected unread. A file the database refuses (a value it cannot store, a
/// constraint) is rejected like an invalid one and the scan goes on; only an outage (the
/// database unreachable, the connection lost, a transient failure) leaves the file where it
/// is for the next scan.
public struct SpoolDirectory: Sendable {
    public var path: String
    public var settleSeconds: Double = 1
    /// A CSV that no manifest names is rejected after this long.
    public var orphanCSVSeconds: Double = 300
    public var staleClaimSeconds: Double = 600

    public init(path: String) { self.path = path }

    public struct Result: Sendable, CustomStringConvertible {
        public var file: String
        public var accepted: Bool
        public var detail: String
        public var description: String { "\(file): \(accepted ? "accepted" : "rejected") — \(detail)" }
    }

    var accepted: String { path + "/accepted" }
    var rejected: String { path + "/rejected" }
    var processing: String { path + "/processing" }

    /// Picks up every file that is ready, once.
    public func scanOnce(submitter: JobSubmitter, connection: Connection, now: Date = Date()) async throws -> [Result] {
        let fm = FileManager.default
        for dir in [accepted, rejected, processing] { try fm.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        reclaimStale(now: now)
        var results: [Result] = []
        let names = ((try? fm.contentsOfDirectory(atPath: path)) ?? []).sorted()
        var namedCSVs: Set<String> = []
        for name in names where Self.isCandidate(name) && name.lowercased().hasSuffix(".json") {
            guard Self.isRegularFile(path + "/" + name) else {
                // never opened: a FIFO would block the scan, a link could lead anywhere
                guard isSettled(path + "/" + name, now: now), let claim = self.claim([name]) else { continue }
                file(claim: claim, names: [name], into: rejected, errors: ["\(name): not a regular file (links, FIFOs, devices and directories are not read)"])
                results.append(Result(file: name, accepted: false, detail: "not a regular file"))
                continue
            }
            if let csv = Self.manifestCSV(path + "/" + name) { namedCSVs.insert(csv) }
            guard isSettled(path + "/" + name, now: now) else { continue }
            if let result = try await process(manifest: name, submitter: submitter, connection: connection) {
                results.append(result)
            }
        }
        for name in names where Self.isCandidate(name) && name.lowercased().hasSuffix(".csv") && !namedCSVs.contains(name) {
            guard let age = Self.age(path + "/" + name, now: now), age >= orphanCSVSeconds else { continue }
            guard let claim = self.claim([name]) else { continue }
            let message = "\(name): no manifest names this CSV (drop NAME.json with \"csv\": \"\(name)\" beside it)"
            file(claim: claim, names: [name], into: rejected, errors: [message])
            results.append(Result(file: name, accepted: false, detail: "no manifest"))
        }
        return results
    }

    private func process(manifest name: String, submitter: JobSubmitter, connection: Connection) async throws -> Result? {
        guard let claim = claim([name]) else { return nil }  // another worker took it
        var names = [name]
        if let csv = Self.manifestCSV(claim + "/" + name) {
            if Self.exists(path + "/" + csv) && !Self.isRegularFile(path + "/" + csv) {
                let message = "\(name): names \(csv), which is not a regular file (links, FIFOs, devices and directories are not read)"
                file(claim: claim, names: names, into: rejected, errors: [message])
                return Result(file: name, accepted: false, detail: "\(csv) is not a regular file")
            }
            if rename(path + "/" + csv, claim + "/" + csv) == 0 {
                names.append(csv)
            } else {
                let message = "\(name): names \(csv), which is not in the spool directory"
                file(claim: claim, names: names, into: rejected, errors: [message])
                return Result(file: name, accepted: false, detail: "missing \(csv)")
            }
        }
        let outcome: JobSubmitter.Outcome
        do {
            outcome = try await submitter.submit([.init(path: claim + "/" + name)], on: connection)
        } catch where Self.isOutage(error, connection: connection) {
            // The database is unavailable: put the files back for the next scan.
            for n in names { rename(claim + "/" + n, path + "/" + n) }
            rmdir(claim)
            throw error
        } catch {
            // The database refused this file (rolled back): it would be refused on every scan.
            // (a Store error's description names no value; the constraint it broke is the reason)
            var reason = "\(error)"
            if let pg = error as? PostgresError, let constraint = pg.constraint { reason += ", constraint \(constraint)" }
            let message = "\(name): the database refused the file: \(reason)"
            file(claim: claim, names: names, into: rejected, errors: [message])
            return Result(file: name, accepted: false, detail: "refused by the database, see rejected/\(Self.stem(name)).errors")
        }
        let fileOutcome = outcome.files.first
        let errors = (fileOutcome?.errors ?? []).map { $0.description.replacingOccurrences(of: claim + "/", with: "") }
        let more = (fileOutcome?.errorCount ?? 0) - errors.count
        let errorLines = errors + (more > 0 ? ["… and \(more) more errors"] : [])
        if outcome.committed, let r = fileOutcome?.result {
            file(claim: claim, names: names, into: accepted, errors: errorLines)
            var detail = "campaign \(fileOutcome?.campaign ?? "?"): \(r.enqueued) enqueued"
            if r.suppressed > 0 { detail += ", \(r.suppressed) suppressed" }
            if r.alreadyPresent > 0 { detail += ", \(r.alreadyPresent) already enqueued" }
            if r.rejected > 0 { detail += ", \(r.rejected) rejected" }
            return Result(file: name, accepted: true, detail: detail)
        }
        file(claim: claim, names: names, into: rejected, errors: errorLines)
        return Result(file: name, accepted: false, detail: "\(fileOutcome?.errorCount ?? 0) errors, see rejected/\(Self.stem(name)).errors")
    }

    /// Moves `names` into a fresh claim directory; nil when another worker got there first.
    private func claim(_ names: [String]) -> String? {
        let dir = processing + "/" + UUID().uuidString.lowercased()
        guard mkdir(dir, 0o755) == 0 else { return nil }
        for n in names where rename(path + "/" + n, dir + "/" + n) != 0 {
            rmdir(dir)
            return nil
        }
        return dir
    }

    /// Files claimed names into `destination` (never overwriting), writes NAME.errors when there are errors.
    private func file(claim: String, names: [String], into destination: String, errors: [String]) {
        let stamp = String(Int(Date().timeIntervalSince1970))
        var stem = Self.stem(names[0])
        if FileManager.default.fileExists(atPath: destination + "/" + names[0]) { stem += "." + stamp }
        for n in names {
            let target = FileManager.default.fileExists(atPath: destination + "/" + n) ? Self.stem(n) + "." + stamp + "." + Self.ext(n) : n
            rename(claim + "/" + n, destination + "/" + target)
        }
        if !errors.isEmpty {
            try? (errors.joined(separator: "\n") + "\n").write(toFile: destination + "/" + stem + ".errors", atomically: true, encoding: .utf8)
        }
        rmdir(claim)
    }

    /// Claims left by a worker that died go back into the spool for another try.
    private func reclaimStale(now: Date) {
        let fm = FileManager.default
        for claimName in (try? fm.contentsOfDirectory(atPath: processing)) ?? [] {
            let dir = processing + "/" + claimName
            guard let age = Self.age(dir, now: now), age >= staleClaimSeconds else { continue }
            let taken = processing + "/" + UUID().uuidString.lowercased()
            guard rename(dir, taken) == 0 else { continue }  // another worker is reclaiming it
            for n in (try? fm.contentsOfDirectory(atPath: taken)) ?? [] { rename(taken + "/" + n, path + "/" + n) }
            rmdir(taken)
        }
    }

    /// True when `error` says nothing about the file: the database is unreachable, the
    /// connection is gone, the server is shutting down or short of resources, the transaction
    /// lost a race, or the worker is stopping. Anything else is the file's own doing.
    static func isOutage(_ error: any Error, connection: Connection) -> Bool {
        if error is CancellationError || connection.isBroken { return true }
        guard let pg = error as? PostgresError else { return false }
        if pg.isUnavailable { return true }
        guard let state = pg.sqlState else { return false }
        if state.isTransient || state == .queryCanceled { return true }
        // 53: insufficient resources (disk full, out of memory, too many connections),
        // 57: operator intervention, 58: system error, 25006: a read-only standby (failover),
        // 55P03: lock not available, 42501: the worker's role lacks a privilege (a setup fault).
        let prefix = state.rawValue.prefix(2)
        return ["53", "57", "58", "08"].contains(prefix) || ["25006", "55P03", "42501"].contains(state.rawValue)
    }

    static func exists(_ file: String) -> Bool {
        var info = stat()
        return lstat(file, &info) == 0
    }

    /// A regular file itself (not through a symbolic link).
    static func isRegularFile(_ file: String) -> Bool {
        var info = stat()
        return lstat(file, &info) == 0 && info.st_mode & S_IFMT == S_IFREG
    }

    private func isSettled(_ file: String, now: Date) -> Bool {
        guard let age = Self.age(file, now: now) else { return false }
        return age >= settleSeconds
    }

    static func age(_ file: String, now: Date) -> Double? {
        guard let attrs = try? FileManager.default.attributesOfItem(atPath: file),
              let modified = attrs[.modificationDate] as? Date else { return nil }
        return now.timeIntervalSince(modified)
    }

    static func isCandidate(_ name: String) -> Bool {
        let lower = name.lowercased()
        if name.hasPrefix(".") || name.hasSuffix("~") { return false }
        if [".tmp", ".part", ".partial", ".swp", ".errors"].contains(where: { lower.hasSuffix($0) }) { return false }
        return lower.hasSuffix(".json") || lower.hasSuffix(".csv")
    }

    /// The `"csv"` a manifest names (a bare file name in the same directory), if any.
    static func manifestCSV(_ manifest: String) -> String? {
        guard let data = FileManager.default.contents(atPath: manifest), data.count < 1 << 20,
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let csv = object["csv"] as? String, !csv.isEmpty, !csv.contains("/"), csv != ".", csv != ".." else { return nil }
        return csv
    }

    static func stem(_ name: String) -> String {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return name }
        return String(name[..<dot])
    }

    static func ext(_ name: String) -> String {
        guard let dot = name.lastIndex(of: ".") else { return "" }
        return String(name[name.index(after: dot)...])
    }
}
