import Foundation
import Glibc
import Store

/// Benchmark helper for bench/copy.sh: bulk-loads synthetic `messages` rows through Store's
/// binary COPY and prints rows/s. With `--csv FILE` it writes the same rows as CSV instead
/// (for the `psql \copy` side of the comparison) and touches no database.
enum BenchCopyCommand: CLICommand {
    static let name = "bench-copy"
    static let errorPrefix = "dispatcher bench-copy"
    static let summary = "(benchmark) COPY synthetic message rows into messages"
    static let usage = """
    usage: dispatcher bench-copy --rows N [--campaign-id ID] [--csv FILE]

    COPYs N synthetic pending messages (all NOT NULL columns of `messages`) into the
    campaign ID (default: the lowest campaign id in DATABASE_URL) with Store's binary COPY,
    and prints the elapsed time, rows/s and CPU time of this process.
    With --csv FILE, writes the identical rows as CSV (columns: \(columns.joined(separator: ",")))
    for `psql \\copy` and exits without connecting (--campaign-id is then required).
    """

    /// The columns written, in order: every NOT NULL column of `messages` without a default.
    static let columns = ["campaign_id", "external_id", "provider", "from_number", "to_number", "segments", "due_at", "next_attempt_at"]

    /// Row `i` of the synthetic campaign: reminders spread over a day, one in five 2 segments long.
    struct Row {
        static let base = Date(timeIntervalSince1970: 1_795_510_800)  // 2026-11-24T09:00:00Z
        var externalID: String
        var toNumber: String
        var segments: Int32
        var dueAt: Date

        init(_ i: Int) {
            externalID = "appt-\(1_000_000 + i)"
            toNumber = "+1303\(5_550_000 + i % 10_000_000)"
            segments = i % 5 == 0 ? 2 : 1
            dueAt = Row.base.addingTimeInterval(Double(i % 86_400))
        }
    }

    static let provider = "plum"
    static let fromNumber = "+12435678910"

    static func run(_ args: inout Arguments, _ context: CommandContext) async throws -> Int32 {
        let rows: Int, campaignOption: Int64?, csvPath: String?
        guard let n = try args.option("--rows").flatMap(Int.init), n > 0 else { throw CLIFailure.usage("--rows N (a positive count) is required") }
        rows = n
        let campaign = try args.option("--campaign-id")
        guard campaign == nil || Int64(campaign!) != nil else { throw CLIFailure.usage("--campaign-id takes a number") }
        campaignOption = campaign.flatMap { Int64($0) }
        csvPath = try args.option("--csv")
        let rest = try args.positionals()
        guard rest.isEmpty else { throw CLIFailure.usage("bench-copy takes no arguments (got '\(rest[0])')") }

        if let csvPath {
            guard let campaignID = campaignOption else {
                printError("dispatcher bench-copy: --csv needs --campaign-id")
                return ExitCode.usage
            }
            return writeCSV(path: csvPath, rows: rows, campaignID: campaignID)
        }

        let target = try await DatabaseTarget.resolve(allowEmbedded: false)
        let connection = try await Connection.connect(target.conninfo, applicationName: "dispatcher bench-copy")
        let campaignID: Int64
        if let campaignOption {
            campaignID = campaignOption
        } else {
            guard let id = try await Outbox.campaignsFirstID(connection) else {
                throw CLIFailure(exitCode: ExitCode.dataError, message: "no campaign to load messages into; create one or pass --campaign-id")
            }
            campaignID = id
        }
        let cpuBefore = cpuSeconds()
        let started = ContinuousClock.now
        let copied = try await connection.copyFrom(table: "messages", columns: columns) { writer in
            for i in 0..<rows {
                let row = Row(i)
                try await writer.append(campaignID, row.externalID, provider, fromNumber, row.toNumber, row.segments, row.dueAt, row.dueAt)
            }
        }
        let seconds = (ContinuousClock.now - started).seconds
        let cpu = cpuSeconds() - cpuBefore
        await connection.close()
        print(String(format: "bench-copy: %d rows in %.3f s = %.0f rows/s (Store binary COPY; client CPU %.2f s user+sys)",
                     copied, seconds, Double(copied) / seconds, cpu))
        return copied == rows ? ExitCode.success : ExitCode.software
    }

    /// Writes the rows `run` would COPY as CSV (no header), timestamps in UTC ISO 8601.
    private static func writeCSV(path: String, rows: Int, campaignID: Int64) -> Int32 {
        guard let file = fopen(path, "w") else {
            printError("dispatcher bench-copy: cannot write \(path): \(String(cString: strerror(errno)))")
            return ExitCode.software
        }
        defer { fclose(file) }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        // due_at takes one of 86,400 values: format each second once
        let stamps = (0..<min(rows, 86_400)).map { formatter.string(from: Row.base.addingTimeInterval(Double($0))) }
        for i in 0..<rows {
            let row = Row(i)
            let stamp = stamps[i % 86_400]
            let line = "\(campaignID),\(row.externalID),\(provider),\(fromNumber),\(row.toNumber),\(row.segments),\(stamp),\(stamp)\n"
            guard fputs(line, file) >= 0 else {
                printError("dispatcher bench-copy: cannot write \(path): \(String(cString: strerror(errno)))")
                return ExitCode.software
            }
        }
        return ExitCode.success
    }

    private static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}

extension Duration {
    /// The duration in (fractional) seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
