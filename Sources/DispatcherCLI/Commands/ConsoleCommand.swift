import HTTP
import Support
import Dispatcher
import Foundation
import Store

enum ConsoleCommand: CLICommand {
    static let name = "console"
    static let summary = "serve the operator console alone (default http://127.0.0.1:8090/console/)"
    static let usage = """
    usage: dispatcher console [--listen HOST:PORT]

    Serves the operator console (campaigns, messages, senders and providers) against
    DATABASE_URL, without the worker, until SIGINT or SIGTERM.

      --listen HOST:PORT   the address (default 127.0.0.1:8090; port 0 picks a free one)

    Access (see docs/console.md):
      DISPATCHER_CONSOLE_OPERATOR=user:password   Basic auth for an operator (actions, full numbers)
      DISPATCHER_CONSOLE_VIEWER=user:password     Basic auth for a viewer (read-only, numbers masked)
    Without credentials, the console serves loopback clients only, as operators, and
    refuses to start on an address other hosts can reach.
      DISPATCHER_CONSOLE_LIVE=poll                refresh pages on a timer instead of LISTEN
                                                  (PgBouncer in transaction mode)
    """

    static let defaultListen = "127.0.0.1:8090"

    static let errorPrefix = "dispatcher console"

    static func run(_ args: inout Arguments, _ context: CommandContext) async throws -> Int32 {
        let logger = Logger(label: "dispatcher.console")
        var target: DatabaseTarget?
        do {
            let listen = try args.option("--listen") ?? defaultListen
            let rest = try args.positionals()
            if !rest.isEmpty { throw CLIFailure.usage("console takes no arguments, got '\(rest[0])'") }
            guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
                  (0...65_535).contains(port), colon != listen.startIndex else {
                throw CLIFailure.usage("--listen: '\(listen)' is not HOST:PORT (for example 127.0.0.1:8090)")
            }
            let host = String(listen[..<colon])
            let configuration: ConsoleConfiguration
            do {
                configuration = try ConsoleConfiguration.fromEnvironment(ProcessInfo.processInfo.environment, listenHost: host,
                                                                         loopbackByDefault: true)
            } catch {
                throw CLIFailure.usage("\(error)")
            }
            guard configuration.isEnabled else {
                throw CLIFailure.usage("the console is off (\(ConsoleConfiguration.modeVariable)=off)")
            }

            target = try await DatabaseTarget.resolve(allowEmbedded: true)
            let pool = ConnectionPool(conninfo: target!.conninfo, maxConnections: 4, maxWaiters: 64, settings: .http)
            guard try await pool.withConnection({ try await Admin.schemaPresent($0) }) else {
                throw CLIFailure(exitCode: ExitCode.unavailable, message: "the database has no dispatcher schema: run 'dispatcher migrate'")
            }
            let console = ConsoleRoutes(pool: pool, configuration: configuration, logger: logger)
            var router = HTTPRouter()
            console.register(on: &router)
            let server = HTTPServer(configuration: HTTPServerConfiguration(host: host, port: port), router: router)
            let bound: Int
            do { bound = try server.start() } catch {
                throw CLIFailure(exitCode: ExitCode.unavailable, message: "cannot listen on \(listen): \(error)")
            }
            let listening = await console.startLiveUpdates()
            let access: String
            switch configuration.access {
            case .credentials(let users): access = "Basic auth for " + users.map { "\($0.name) (\($0.role.rawValue))" }.joined(separator: ", ")
            default: access = "loopback clients only, as operators"
            }
            let shownHost = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
            FileHandle.standardOutput.write(Data("console on http://\(shownHost):\(bound)/console/\n".utf8))
            logger.info("console: \(access); live updates by \(listening ? "LISTEN" : "timed refresh")")
            let signal = await SandboxCommand.waitForTerminationSignal()
            logger.info("console: \(signal), stopping")
            await console.stop()
            await server.stop()
            await pool.close()
            await target?.finish()
            return ExitCode.success
        } catch {
            await target?.finish()
            throw error
        }
    }
}
