import Dispatcher
import Dispatch
import Foundation
import Sandbox

enum SandboxCommand: CLICommand {
    static let name = "sandbox"
    static let summary = "run a local SMS provider speaking the Plum and Restcomm APIs"
    static let usage = """
    usage: dispatcher sandbox [--listen HOST:PORT] [--config FILE] [--profile NAME] [KNOBS…]

    A local SMS provider on one port: Plum under /ws/sms/…, Restcomm under
    /restcomm/2012-04-24/…, and /sandbox/stats, /sandbox/messages, /sandbox/knobs,
    /sandbox/reset. Runs until SIGINT or SIGTERM, then stops gracefully.

    By default it answers as the providers' documentation shows: each answer, list item and
    callback has exactly the fields of the documented example. Plum's result_url hears only
    "sent" (or "failed") and its message lists carry no delivery_status: delivery is read from
    status.json. Restcomm posts a "sent" event, then a delivery event.

      --listen HOST:PORT   address (default 127.0.0.1:8787, where run's default providers look)
      --config FILE        JSON profile: listen, profile, plum/restcomm credentials, knobs
      --profile NAME       realistic (default), perfect, chaos
      --event-loops N      server threads (default 1)

    knobs (override the profile; rates are fractions, durations seconds):
      --server-error-rate R        sends answered 500 without accepting
      --slow-answer-rate R         sends accepted, answered after --slow-answer-delay-s
      --slow-answer-delay-s S
      --sent-delay-s S             accepted → sent
      --delivery-delay-min-s S     accepted → final state, uniform in [min, max]
      --delivery-delay-max-s S
      --no-callbacks               no status callbacks
      --delivery-callbacks BOOL    Restcomm delivery event after "sent" (default true;
                                   false: delivery is learnt by polling)
      --plum-callback-delivery W   what Plum's result_url hears about delivery:
                                   none (default) only sent/failed; status: then a second POST
                                   status=delivered|undelivered; delivery_status: then a second
                                   POST status=sent&delivery_status=delivered|undelivered
      --plum-list-delivery-status BOOL
                                   Plum messages.json items also carry delivery_status once
                                   known (default false, as documented)
      --duplicate-callback-rate R  callbacks posted twice
      --out-of-order-callback-rate R
      --segments-per-second N      per-sender rate; above it 429 (Plum) / 30001 (Restcomm); 0 = off
      --burst-segments N
      --seed N

    faults that leave acceptance unknown, outages, stored bodies (all off by default):
      --accept-then-5xx-rate R     sends accepted, then answered with a 5xx and no provider
                                   envelope (a front end failing after the commit)
      --accept-then-5xx-count N    the first N accepted sends answer that way
      --accept-then-5xx-status N   their status (default 0: drawn from 500, 502, 504)
      --late-commit-rate R         sends whose answer hangs --late-commit-delay-s and whose
                                   message shows in list/status only after that delay
      --late-commit-delay-s S
      --list-lag-s S               accepted messages show in list/status S seconds late
      --outage-s S                 refuse every provider request (reads too) for S seconds,
      --outage-start-s S           starting S seconds after start (or after POST /sandbox/knobs)
      --outage-mode W              refuse (default): answer 503; reset: read the request,
                                   then reset the connection without an answer
      --body-normalisation W       what is stored of a body, and listed: none (default),
                                   trim (surrounding whitespace), crlf (CRLF and CR → LF)
    POST /sandbox/knobs (the knobs as JSON) changes them while running; an outage then
    starts outage_start_s after that request.

    Credentials: Plum sandbox/sandbox, Restcomm account ACsandbox token sandbox.
    Test recipients +1 202-555-01xx trigger the documented cases (table in
    Sources/Sandbox/SandboxTestNumbers.swift): 10 invalid number, 11 unsubscribed,
    12 landline, 13 unreachable (30003), 14 unknown handset (30005), 15 30006, 16 blocked
    (30004), 17 account suspended (30002), 18 unconfirmed, 19 carrier violation (30007),
    20 unknown error (30008), 21 price exceeds max (30010); anything else is delivered.
    """

    static func run(_ args: inout Arguments, _ context: CommandContext) async throws -> Int32 {
        var configuration: SandboxConfiguration
        // the sandbox's own configuration file (a profile), not the worker's
        if let file = context.configPath {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw CLIFailure(exitCode: ExitCode.dataError, message: "cannot read \(file)")
            }
            do { configuration = try SandboxConfiguration.load(json: data) } catch {
                throw CLIFailure(exitCode: ExitCode.dataError, message: "\(file): \(error)")
            }
        } else {
            configuration = SandboxConfiguration()
        }
        if let profile = try args.option("--profile") {
            guard let knobs = SandboxKnobs.profile(named: profile) else {
                throw CLIFailure.usage("unknown profile '\(profile)' (perfect, realistic, chaos)")
            }
            configuration.knobs = knobs
        }
        if let listen = try args.option("--listen") {
            do { try configuration.setListen(listen) } catch { throw CLIFailure.usage("\(error)") }
        } else if configuration.port == 0 {
            configuration.port = 8787  // a profile file without "listen"
        }
        if let loops = try args.option("--event-loops") {
            guard let n = Int(loops), n >= 1 else { throw CLIFailure.usage("--event-loops needs a positive number") }
            configuration.server.eventLoops = n
        }
        for knob in SandboxConfiguration.knobNames.sorted() {
            let flag = "--" + knob.replacingOccurrences(of: "_", with: "-")
            if let value = try args.option(flag) {
                do { try configuration.setKnob(knob, value) } catch { throw CLIFailure.usage("\(error)") }
            }
        }
        if args.flag("--no-callbacks") { configuration.knobs.callbacks = false }
        let rest = try args.positionals()
        if !rest.isEmpty { throw CLIFailure.usage("sandbox takes no arguments, got '\(rest[0])'") }

        let sandbox = SandboxServer(configuration: configuration)
        let port: Int
        do { port = try sandbox.start() } catch {
            printError("sandbox: cannot listen on \(configuration.host):\(configuration.port): \(error)")
            return ExitCode.unavailable
        }
        let banner = """
        sandbox listening on http://\(configuration.host):\(port)
          plum:     base_url http://\(configuration.host):\(port)  user \(configuration.plumUsername)
          restcomm: base_url http://\(configuration.host):\(port)/restcomm  account_sid \(configuration.restcommAccountSID)

        """
        FileHandle.standardOutput.write(Data(banner.utf8))  // unbuffered: scripts wait for this line
        let signal = await waitForTerminationSignal()
        printError("sandbox: \(signal), stopping")
        await sandbox.stop()
        return ExitCode.success
    }

    /// Suspends until SIGINT or SIGTERM (delivered through DispatchSource, not a handler).
    static func waitForTerminationSignal() async -> String {
        let queue = DispatchQueue(label: "dispatcher.signals")
        return await withCheckedContinuation { continuation in
            let fired = SignalLatch(continuation)
            for (number, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
                Foundation.signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
                source.setEventHandler { fired.fire(name) }
                source.resume()
                fired.keep(source)
            }
        }
    }
}

/// Resumes the waiting task once, on the first signal; keeps the signal sources alive.
private final class SignalLatch: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<String, Never>?
    private var sources: [any DispatchSourceSignal] = []

    init(_ continuation: CheckedContinuation<String, Never>) { self.continuation = continuation }

    func keep(_ source: any DispatchSourceSignal) {
        lock.lock(); sources.append(source); lock.unlock()
    }

    func fire(_ name: String) {
        lock.lock()
        let c = continuation
        continuation = nil
        lock.unlock()
        c?.resume(returning: name)
    }
}
