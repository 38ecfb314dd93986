import Dispatcher
import Foundation
import HTTP

/// Benchmark helper for bench/http.sh: pushes sends through a provider client and prints
/// sends/s and CPU µs per send of this process (the sandbox runs elsewhere).
enum BenchClientCommand: CLICommand {
    static let name = "bench-client"
    static let summary = "(benchmark) send through a provider client as fast as possible"
    static let usage = """
    usage: dispatcher bench-client --url BASE [--provider plum|restcomm] [--sends N]
                                   [--concurrency C] [--transport sockets|urlsession]

    Sends N messages with C in flight to a running sandbox and prints sends/s and the
    CPU time (user+system) of this process per send.
    """

    static func run(_ args: inout Arguments, _ context: CommandContext) async throws -> Int32 {
        let url: URL, provider: String, sends: Int, concurrency: Int, transport: HTTPClient.Transport
        guard let u = try args.option("--url").flatMap(URL.init(string:)) else { throw CLIFailure.usage("--url BASE is required") }
        url = u
        provider = try args.option("--provider") ?? "plum"
        sends = Int(try args.option("--sends") ?? "20000") ?? 20000
        concurrency = Int(try args.option("--concurrency") ?? "32") ?? 32
        guard let t = HTTPClient.Transport(rawValue: try args.option("--transport") ?? "sockets") else {
            throw CLIFailure.usage("--transport is sockets or urlSession")
        }
        transport = t
        _ = try args.positionals()
        var httpConfiguration = HTTPClient.Configuration()
        httpConfiguration.plainHTTPTransport = transport
        let http = HTTPClient(configuration: httpConfiguration)
        let client: any SMSProvider = provider == "restcomm"
            ? RestcommClient(configuration: .init(baseURL: url.appending(path: "restcomm"), accountSID: "ACsandbox", authToken: "sandbox"), http: http)
            : PlumClient(configuration: .init(baseURL: url, username: "sandbox", password: "sandbox"), http: http)

        let cpuBefore = cpuMicroseconds()
        let started = ContinuousClock.now
        let accepted = await withTaskGroup(of: Int.self) { group in
            let perWorker = sends / concurrency
            for worker in 0..<concurrency {
                group.addTask {
                    var ok = 0
                    for i in 0..<perWorker {
                        let to = "+1303555\(String(format: "%04d", (worker * perWorker + i) % 10000))"
                        let result = await client.send(OutgoingSMS(from: "+12435678910", to: to, body: "bench \(worker)-\(i)"))
                        if result.providerID != nil { ok += 1 }
                    }
                    return ok
                }
            }
            return await group.reduce(0, +)
        }
        let elapsed = ContinuousClock.now - started
        let cpu = cpuMicroseconds() - cpuBefore
        let total = (sends / concurrency) * concurrency
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print(String(format: "bench-client %@ %@: %d sends (%d accepted) in %.2f s = %.0f sends/s, %.0f µs CPU per send (concurrency %d)",
                     provider, transport.rawValue, total, accepted, seconds, Double(total) / seconds,
                     Double(cpu) / Double(max(1, total)), concurrency))
        await http.shutdown()
        return accepted == total ? ExitCode.success : ExitCode.unavailable
    }

    private static func cpuMicroseconds() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1_000_000 + Int(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
    }
}
