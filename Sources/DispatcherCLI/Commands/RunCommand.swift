import Dispatcher
import Foundation
import Store
import Support

enum RunCommand: CLICommand {
    static let name = "run"
    static let errorPrefix = "dispatcher run"
    static let summary = "the worker: dispatch due messages (until SIGTERM, or --until-idle)"
    static let usage = """
    usage: dispatcher run [--config FILE] [--until-idle] [--worker-id ID] [--bench]

    The long-running worker. Claims due messages from DATABASE_URL (FOR UPDATE SKIP LOCKED,
    under a lease with a fencing token), sends them at the configured rates through the
    configured providers, records every outcome, retries with backoff, and settles messages
    in doubt (a timeout, a dead worker) by looking them up at the provider. Several workers
    may share one database.

      --config FILE     configuration (default dispatcher.json if present)
      --until-idle      exit 0 once this worker has nothing in hand and no message of its
                        providers is 'sending' or 'in_doubt', or 'pending' and due
                        (next_attempt_at passed) in an active campaign whose sender and
                        provider are not halted. Retries scheduled later, paused campaigns and
                        halted senders do not keep it running; the next run picks them up.
      --worker-id ID    lease owner name (default HOST:PID)
      --bench           allow providers of kind "null" (accept everything in-process)
      --no-spool        do not pick up job files from the spool directory
      --grace-s N       on SIGTERM/SIGINT, wait at most N seconds (default 30) for sends in
                        flight before cancelling them (they are then settled as in doubt)

    The operator console is served under /console/ on the same address when
    DISPATCHER_CONSOLE_OPERATOR / DISPATCHER_CONSOLE_VIEWER (user:password, Basic auth) or
    DISPATCHER_CONSOLE=loopback (no credentials, loopback listen address only) are set; it is
    off otherwise (/console/ is 404). A console setting it refuses exits 65. See docs/console.md.

    Inbound SMS (replies, STOP, START) from Plum arrive at POST /inbound/plum/KEY, KEY being
    the Plum account's inbound_key (or the variable named by inbound_key_env; at least 32
    letters, digits, '-' or '_'), addressed to one of that account's sender numbers;
    everything else there is 404, and with no key inbound SMS are off.

    SIGTERM/SIGINT: stop claiming, let sends in flight finish, record their outcomes,
    release claimed but unsent messages back to pending, exit 0.

    Each message goes through the provider account it was submitted to (a key of
    "providers"). Its callback URL is {public_url}/callbacks/{account}/{id}.{token}; the key
    is checked before the body (a wrong one is 404 whatever the body), and a status not
    acted on is kept as an event and triggers a status poll. Plum's result URL says "sent";
    Plum delivery (delivered, undelivered) comes from status polls, poll.after_s after
    acceptance and then backing off. Restcomm's callbacks bring delivery; polls settle what
    callbacks miss. After poll.give_up_after_s a message without a final state is
    'unconfirmed'.

    See docs/configuration.md, docs/endpoints.md and docs/operations.md.
    """

    static func run(_ args: inout Arguments, _ context: CommandContext) async throws -> Int32 {
        let logger = Logger(label: "dispatcher.run")
        let untilIdle = args.flag("--until-idle")
        let bench = args.flag("--bench")
        let workerID = try args.option("--worker-id")
        let grace = try args.option("--grace-s")
        let noSpool = args.flag("--no-spool")
        let rest = try args.positionals()
        guard rest.isEmpty else { throw CLIFailure.usage("run takes no arguments (got '\(rest[0])')") }
        var configuration = try context.configuration(needsSecrets: true)
        if !bench, let null = configuration.accounts.values.first(where: { $0.kind == .null }) {
            throw CLIFailure(exitCode: ExitCode.dataError,
                             message: "providers.\(null.name): kind \"null\" accepts everything without sending; it is for benchmarks (run --bench)")
        }
        var gracePeriod: Duration?
        if let grace {
            guard let s = Double(grace), s >= 0 else { throw CLIFailure.usage("--grace-s needs a number of seconds") }
            gracePeriod = .milliseconds(Int64(s * 1000))
        }
        let target = try await DatabaseTarget.resolve(allowEmbedded: false)
        // Fail fast (69) when the database is unreachable.
        let probe = try await Connection.connect(target.conninfo)
        await probe.close()
        var options = Worker.Configuration(dispatcher: configuration, conninfo: target.conninfo)
        options.untilIdle = untilIdle
        if let workerID { options.workerID = workerID }
        if let gracePeriod { options.gracePeriod = gracePeriod }
        options.spool = !noSpool
        // The console under /console/: off unless credentials or DISPATCHER_CONSOLE=loopback are set.
        let listenHost = options.listenAddress.lastIndex(of: ":").map { String(options.listenAddress[..<$0]) } ?? options.listenAddress
        do {
            options.console = try ConsoleConfiguration.fromEnvironment(ProcessInfo.processInfo.environment,
                                                                       listenHost: listenHost.isEmpty ? "0.0.0.0" : listenHost,
                                                                       loopbackByDefault: false)
        } catch {
            throw CLIFailure(exitCode: ExitCode.dataError, message: "console: \(error)")
        }
        let worker = Worker(configuration: options, logger: logger)
        do {
            // binds the listener: a bad or used address fails here, before anything is claimed
            try await worker.start()
        } catch let error as CallbackServer.ListenAddressError {
            throw CLIFailure(exitCode: ExitCode.dataError, message: "\(error)")
        } catch let error as ServiceConfigurationError {
            throw CLIFailure(exitCode: ExitCode.dataError, message: "\(error)")
        } catch {
            throw CLIFailure(exitCode: ExitCode.unavailable, message: "cannot listen on \(configuration.listen): \(error)")
        }
        configuration = worker.dispatcherConfiguration
        let signals = TerminationSignals(shutdown: worker.shutdown, logger: logger)
        logger.info("worker \(options.workerID) started: providers \(configuration.accounts.keys.sorted().joined(separator: ", ")), concurrency \(configuration.concurrency)\(untilIdle ? ", until idle" : "")")
        // the bound address (a `listen` port of 0 picks one)
        let listening = worker.port.flatMap { port in
            configuration.listen.lastIndex(of: ":").map { "\(configuration.listen[..<$0]):\(port)" }
        } ?? configuration.listen
        logger.info("listening on \(listening) (callbacks, inbound, /healthz, /metrics); callback URLs under \(configuration.publicURL?.absoluteString ?? "-")")
        switch options.console.access {
        case .off:
            logger.info("console is off (/console/ is 404): set \(ConsoleConfiguration.operatorVariable) or \(ConsoleConfiguration.viewerVariable), or \(ConsoleConfiguration.modeVariable)=loopback on a loopback address, to serve it (docs/console.md)")
        case .credentials(let users):
            logger.info("console on http://\(listening)/console/ (Basic auth for \(users.map { "\($0.name) (\($0.role.rawValue))" }.joined(separator: ", ")))")
        case .loopback:
            logger.info("console on http://\(listening)/console/ (loopback clients only, as operators)")
        }
        let inboundAccounts = configuration.accounts.values.filter { $0.kind == .plum && $0.inboundKey != nil }.map(\.name).sorted()
        if inboundAccounts.isEmpty {
            logger.info("inbound SMS is off (every /inbound request gets 404): no Plum account has an inbound_key or inbound_key_env")
        } else {
            logger.info("inbound SMS for Plum account(s) \(inboundAccounts.joined(separator: ", ")) at /inbound/plum/KEY, to their sender numbers")
        }
        try await worker.run()
        signals.cancel()
        logger.info("worker \(options.workerID) stopped (\(worker.shutdown.reason ?? "done"))")
        return ExitCode.success
    }
}
