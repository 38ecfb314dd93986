import Dispatcher
import Foundation
import Glibc
import Jobs
import Store
import Support
import Sandbox

/// `dispatcher demo`: the whole system on an embedded default, start to finish.
enum DemoCommand: CLICommand {
    static let name = "demo"
    static let summary = "the whole system on a private PostgreSQL and the sandbox provider, with live progress"
    static let usage = """
    usage: dispatcher demo [--examples DIR] [--bulk N] [--timeout-s S] [--no-console]
           dispatcher demo --clean

    With DATABASE_URL unset, starts a private PostgreSQL cluster for this checkout (the
    current directory) and prints where it is: .dispatcher/pg in the checkout, or, when you
    are root, /var/tmp/dispatcher-HASH/pg (HASH from the checkout's path), because the server
    then runs as the postgres OS user, who may not be able to enter the checkout (root's home
    is private). The cluster is reused next time and stopped on exit; report, status and the
    other commands run without DATABASE_URL use it too. Applies the schema, starts the
    sandbox provider in-process (profile realistic: small delays, 1% server errors,
    callbacks), submits the campaigns of jobs/examples/ (renamed for this run, send windows
    dropped so the demo need not wait for office hours) and a bulk campaign of N messages
    (default 150) that includes the sandbox's failure numbers, runs the worker with its
    callback server and status poller, shows progress, and prints the report once every
    message is in a final state (or after the timeout, default 50 s).

    Then it prints the operator console's address (console on http://127.0.0.1:PORT/console/,
    loopback clients only, no credentials: the demo is local) and keeps serving it, with the
    worker running, until Ctrl-C (SIGINT) or SIGTERM, then exits. --no-console serves no
    console and exits as soon as the report is printed.

    --clean stops this checkout's embedded cluster if it is running and removes its
    directory (and everything the demo stored in it), printing what it removed; nothing
    else happens, and it succeeds when there is nothing to remove. DATABASE_URL is ignored.
    """

    static func run(_ args: inout Arguments, _ context: CommandContext) async throws -> Int32 {
        var target: DatabaseTarget?
        do {
            if context.configPath != nil {
                throw CLIFailure.usage("demo runs against its own in-process sandbox with built-in settings; it takes no --config")
            }
            if args.flag("--clean") {
                _ = try args.positionals()
                return await clean()
            }
            let examples = try args.option("--examples") ?? "jobs/examples"
            let bulk = try Int(args.option("--bulk") ?? "150") ?? -1
            guard bulk >= 0 else { throw CLIFailure.usage("--bulk needs a number") }
            let timeout = try Double(args.option("--timeout-s") ?? "50") ?? 50
            let serveConsole = !args.flag("--no-console")
            _ = try args.positionals()
            let out = DemoOutput()

            // 1. Database.
            if let url = ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty { out.step("database: DATABASE_URL") }
            target = try await DatabaseTarget.resolve(allowEmbedded: true) { out.step("database: " + $0) }
            let connection = try await Connection.connect(target!.conninfo)
            let migrated = try await Migrator().migrate(connection)
            out.step("schema version \(migrated.currentVersion)\(migrated.applied.isEmpty ? "" : " (applied \(migrated.applied.map(String.init).joined(separator: ", ")))")")

            // 2. The sandbox provider, in-process.
            let sandbox = SandboxServer(configuration: SandboxConfiguration(knobs: .realistic))
            let sandboxPort = try sandbox.start()
            let sandboxURL = URL(string: "http://127.0.0.1:\(sandboxPort)")!
            out.step("sandbox provider on \(sandboxURL.absoluteString) (profile realistic)")

            // 3. Campaigns.
            let stamp = demoStamp()
            let dir = NSTemporaryDirectory() + "dispatcher-demo-" + stamp
            let files = try prepareJobs(examples: examples, into: dir, suffix: "-demo-" + stamp, bulk: bulk)
            let submitted = try await JobSubmitter(configuration: DispatcherConfiguration()).submit(files.map { .init(path: $0) }, on: connection)
            for file in submitted.files {
                for error in file.errors { printError(error.description) }
            }
            guard submitted.committed else { throw CLIFailure(exitCode: ExitCode.dataError, message: "the example campaigns did not validate") }
            let names = submitted.files.compactMap(\.campaign)
            let total = submitted.files.compactMap(\.result).reduce(0) { $0 + $1.enqueued + $1.suppressed }
            for file in submitted.files {
                if let r = file.result, let c = file.campaign { out.step("submitted \(c): \(r.enqueued) messages") }
            }
            try? FileManager.default.removeItem(atPath: dir)

            // 4. The worker, its callback server and poller, all in this process.
            var configuration = DispatcherConfiguration()
            configuration.accounts = [
                "plum": .sandboxPlum(baseURL: sandboxURL), "restcomm": .sandboxRestcomm(baseURL: sandboxURL),
            ]
            configuration.listen = "127.0.0.1:0"
            configuration.defaultSenderRate = RateLimit(perSecond: 40, burst: 10)
            configuration.retry.baseDelaySeconds = 1
            configuration.retry.maxDelaySeconds = 4
            configuration.poll.afterSeconds = 1  // Plum reports delivery only when asked
            configuration.concurrency = 16
            let logger = Logger(label: "dispatcher.demo", level: .warning)
            var options = Worker.Configuration(dispatcher: configuration, conninfo: target!.conninfo)
            options.workerID = "demo"
            options.statusPollInterval = .milliseconds(500)
            options.claimPollInterval = .milliseconds(200)
            options.gracePeriod = .seconds(5)
            // The demo is local: its console serves loopback clients only, without credentials.
            if serveConsole { options.console = ConsoleConfiguration(access: .loopback) }
            let worker = Worker(configuration: options, logger: logger)
            try await worker.start()
            configuration = worker.dispatcherConfiguration
            let signals = TerminationSignals(shutdown: worker.shutdown, logger: logger)
            out.step("worker running: callbacks on \(configuration.publicURL!.absoluteString), sender rate 40 segments/s")

            let started = ContinuousClock.now
            let running = Task { try await worker.run() }
            var finished = false
            while !worker.shutdown.isTriggered {
                let counts = try await Outbox.campaignsStateCounts(connection, campaigns: names)
                let done = Outbox.finalStates.reduce(0) { $0 + (counts[$1.rawValue] ?? 0) }
                out.progress(done: done, total: total, counts: counts, elapsed: (ContinuousClock.now - started).seconds)
                if done >= total {
                    finished = true
                    break
                }
                if (ContinuousClock.now - started).seconds > timeout { break }
                try await Task.sleep(for: .milliseconds(250))
            }
            out.endProgress()
            let interrupted = worker.shutdown.isTriggered
            if !serveConsole || interrupted {
                worker.shutdown.trigger(reason: finished ? "demo finished" : "demo timeout")
                try await running.value
            }

            // 5. The report (with the console on, the worker still runs: every message is final
            // or the timeout passed, and what it does next is what the console shows).
            let reports = try await Outbox.campaignReportList(connection, campaign: nil).filter { names.contains($0.campaign) }
            print("")
            print(ReportCommand.table(reports), terminator: "")
            // Exactly once: every acceptance at the provider is one message of ours with its id.
            let stats = await sandbox.stats()
            let withID = try await Outbox.campaignsMessagesWithProviderIDCount(connection, campaigns: names)
            print("\nsandbox: accepted \(stats.accepted) sends for \(withID) messages with a provider id"
                + (stats.accepted == withID ? " — none sent twice" : " — \(stats.accepted - withID) extra!")
                + "; \(stats.serverErrors) server errors injected and retried")
            print("try: dispatcher report \(names.first ?? "")   dispatcher status \(names.first ?? "")/appt-1001")
            if !finished {
                printError("demo: not every message reached a final state within \(Int(timeout)) s")
            }

            // 6. The console, until Ctrl-C or SIGTERM.
            if serveConsole && !interrupted, let port = worker.port {
                print("console on http://127.0.0.1:\(port)/console/ (Ctrl-C to stop)")
                fflush(nil)
                await worker.shutdown.wait()
                try await running.value
            }
            signals.cancel()
            await sandbox.stop()
            await connection.close()
            await target?.finish()
            return finished ? ExitCode.success : ExitCode.software
        } catch {
            await target?.finish()
            throw error
        }
    }

    /// `demo --clean`: stops and removes the embedded cluster of the checkout in the current
    /// directory (as root also a `.dispatcher/pg` that an older version left in the checkout).
    static func clean() async -> Int32 {
        let checkout = DatabaseTarget.currentCheckout
        let fm = FileManager.default
        var directories = [LocalCluster.embeddedDirectory(checkout: checkout)]
        let inCheckout = LocalCluster.embeddedDirectory(checkout: checkout, runningAsRoot: false)
        if !directories.contains(inCheckout) { directories.append(inCheckout) }
        var removed = 0
        for directory in directories where fm.fileExists(atPath: directory) {
            let cluster = try? LocalCluster(directory: directory)
            var note = ""
            if let cluster, await cluster.isRunning {
                do {
                    try await cluster.stop()
                    note = " (stopped its server first)"
                } catch {
                    printError("demo: cannot stop the embedded PostgreSQL in \(directory): \(error)")
                    return ExitCode.software
                }
            }
            do {
                try fm.removeItem(atPath: directory)
            } catch {
                printError("demo: cannot remove \(directory): \(error.localizedDescription)")
                return ExitCode.software
            }
            // Its container: /var/tmp/dispatcher-HASH (as root), or .dispatcher when now empty.
            let parent = (directory as NSString).deletingLastPathComponent
            if parent == LocalCluster.embeddedRootParent(checkout: checkout) {
                try? fm.removeItem(atPath: parent)
            } else if (try? fm.contentsOfDirectory(atPath: parent))?.isEmpty == true {
                try? fm.removeItem(atPath: parent)
            }
            print("removed \(directory): the embedded PostgreSQL cluster of \(checkout)\(note)")
            removed += 1
        }
        if removed == 0 {
            print("nothing to remove: no embedded PostgreSQL cluster at \(directories.joined(separator: " or "))")
        }
        return ExitCode.success
    }

    static func demoStamp() -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd-HHmmss"
        return f.string(from: Date())
    }

    /// Copies the valid example jobs into `dir` with campaign names made unique for this run
    /// and send windows removed, and writes the bulk campaign; returns the files to submit.
    static func prepareJobs(examples: String, into dir: String, suffix: String, bulk: Int) throws -> [String] {
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var files: [String] = []
        let names = ((try? fm.contentsOfDirectory(atPath: examples)) ?? []).sorted()
        for name in names where name.hasSuffix(".json") && !name.contains("mistake") {
            guard let data = fm.contents(atPath: examples + "/" + name),
                  var job = try JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let campaign = job["campaign"] as? String else { continue }
            job["campaign"] = campaign + suffix
            job.removeValue(forKey: "window")
            if let csv = job["csv"] as? String {
                try? fm.removeItem(atPath: dir + "/" + csv)
                try fm.copyItem(atPath: examples + "/" + csv, toPath: dir + "/" + csv)
            }
            try JSONSerialization.data(withJSONObject: job, options: [.sortedKeys]).write(to: URL(fileURLWithPath: dir + "/" + name))
            files.append(dir + "/" + name)
        }
        if bulk > 0 {
            // 202-555-01xx: the sandbox's test numbers (10 invalid, 11 unsubscribed, 12 landline,
            // 13-15 undelivered, ...) among ordinary ones, and a few long (two-segment) bodies.
            var csv = "id,to,name,when\n"
            for i in 0..<bulk {
                let number = i % 10 == 0 ? String(format: "202555%04d", 110 + (i / 10) % 12) : String(format: "20255%05d", 20_000 + i)
                csv += "bulk-\(i),\(number),Patient \(i),\(i % 7 == 0 ? "\"Tue 10:30 at the Elm St clinic, second floor; please bring your insurance card and arrive ten minutes early\"" : "Tue 10:30")\n"
            }
            try csv.write(toFile: dir + "/bulk.csv", atomically: true, encoding: .utf8)
            let manifest: [String: Any] = [
                "campaign": "bulk-reminders" + suffix, "from": "2435678910", "provider": "plum", "csv": "bulk.csv",
                "template": "Hi {{name}}, reminder: your appointment is {{when}}. Reply CONFIRM to confirm, STOP to opt out.",
            ]
            try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys]).write(to: URL(fileURLWithPath: dir + "/bulk.json"))
            files.append(dir + "/bulk.json")
        }
        return files
    }
}

/// Progress for people: a redrawn bar on a terminal, a plain line every few seconds otherwise.
final class DemoOutput {
    let isTTY = isatty(STDOUT_FILENO) == 1
    private var lastLine = -10.0
    private var drew = false

    func step(_ text: String) {
        endProgress()
        print("• " + text)
        fflush(nil)
    }

    func progress(done: Int, total: Int, counts: [String: Int], elapsed: Double) {
        let order = MessageState.allCases.map(\.rawValue)
        let parts = order.compactMap { s in counts[s].flatMap { $0 > 0 ? "\(s) \($0)" : nil } }
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        if isTTY {
            let width = 30
            let filled = total > 0 ? min(width, width * done / total) : width
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            let line = "\r\u{1B}[2K\(bar) \(done)/\(total) final  \(String(format: "%.1f", rate))/s  " + parts.joined(separator: " · ")
            print(line, terminator: "")
            fflush(nil)
            drew = true
        } else if elapsed - lastLine >= 2 || done >= total {
            lastLine = elapsed
            print(String(format: "[%5.1fs] ", elapsed) + "\(done)/\(total) final (\(String(format: "%.1f", rate))/s): " + parts.joined(separator: ", "))
            fflush(nil)
        }
    }

    func endProgress() {
        if drew {
            print("")
            drew = false
        }
    }
}
