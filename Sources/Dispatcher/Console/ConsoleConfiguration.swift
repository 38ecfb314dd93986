import HTTP
import Support
/// Whether and for whom the operator console is served.
///
/// The console shows recipients' numbers and message texts, so it is off unless configured:
///
/// - with credentials (`DISPATCHER_CONSOLE_OPERATOR=user:password`,
///   `DISPATCHER_CONSOLE_VIEWER=user:password`): every request carries HTTP Basic
///   credentials, compared in constant time;
/// - or in loopback mode, only on a loopback listen address: whoever can connect is an
///   operator (named `loopback`), and requests that came through a proxy are refused.
public struct ConsoleConfiguration: Sendable {
    /// What a user may do.
    public enum Role: String, Sendable, Equatable, Comparable {
        /// Reads figures; numbers masked to their last 4 digits, message texts hidden; no actions.
        case viewer
        /// Everything: actions, full numbers and texts.
        case `operator`

        public static func < (a: Role, b: Role) -> Bool { a == .viewer && b == .operator }
    }

    /// One user with a password.
    public struct User: Sendable, Equatable {
        public var name: String
        public var password: Secret
        public var role: Role

        public init(name: String, password: Secret, role: Role) {
            self.name = name
            self.password = password
            self.role = role
        }
    }

    /// Who may use the console.
    public enum Access: Sendable, Equatable {
        /// Not served: no route exists.
        case off
        /// HTTP Basic authentication against these users.
        case credentials([User])
        /// No credentials: any client of the loopback listen address is an operator.
        case loopback
    }

    /// How pages learn that something changed.
    public enum LiveUpdates: String, Sendable, Equatable {
        /// `LISTEN` on the worker's channels (the default); a timed refresh when it fails.
        case listen
        /// A timed refresh only: for a database reached through PgBouncer in transaction
        /// mode, where `LISTEN` does not work.
        case poll
    }

    public var access: Access
    public var liveUpdates: LiveUpdates = .listen
    /// Pages refresh at least this often (and this often when `LISTEN` is unavailable).
    public var refreshInterval: Duration = .seconds(10)
    /// At most one change event per this interval, however many notifications arrive.
    public var debounceInterval: Duration = .seconds(1)
    /// The campaigns page's figures are recomputed in the background once older than this
    /// (or after a change notification), and served from the last computation meanwhile
    /// (see `ConsoleListCache`). Zero: computed on every request.
    public var campaignsListFresh: Duration = .seconds(5)
    /// The campaigns page never shows figures older than this: past it a request computes
    /// them itself. Zero: computed on every request.
    public var campaignsListMaxAge: Duration = .seconds(30)

    public init(access: Access) {
        self.access = access
    }

    public var isEnabled: Bool { access != .off }

    /// The environment variables read by `fromEnvironment`.
    public static let operatorVariable = "DISPATCHER_CONSOLE_OPERATOR"
    public static let viewerVariable = "DISPATCHER_CONSOLE_VIEWER"
    /// `loopback`: serve without credentials on a loopback address; `off`: never serve.
    public static let modeVariable = "DISPATCHER_CONSOLE"
    /// `listen` (default) or `poll`.
    public static let liveVariable = "DISPATCHER_CONSOLE_LIVE"

    /// Fewest characters of a password.
    public static let minimumPasswordLength = 12

    /// The console's settings from the environment, for a server listening on `listenHost`.
    ///
    /// Credentials in `DISPATCHER_CONSOLE_OPERATOR` / `DISPATCHER_CONSOLE_VIEWER` turn it on
    /// with Basic auth. Without them, `DISPATCHER_CONSOLE=loopback` (or
    /// `loopbackByDefault`, as `dispatcher console` has) turns on loopback mode, which is
    /// refused on an address other hosts can reach. `DISPATCHER_CONSOLE=off` keeps it off.
    public static func fromEnvironment(_ environment: [String: String], listenHost: String,
                                       loopbackByDefault: Bool) throws(ConsoleConfigurationError) -> ConsoleConfiguration {
        let mode = environment[modeVariable].map { $0.lowercased() } ?? ""
        guard ["", "loopback", "off", "on"].contains(mode) else {
            throw ConsoleConfigurationError("\(modeVariable) must be loopback, on or off, got '\(environment[modeVariable] ?? "")'")
        }
        var live = LiveUpdates.listen
        if let value = environment[liveVariable], !value.isEmpty {
            guard let parsed = LiveUpdates(rawValue: value.lowercased()) else {
                throw ConsoleConfigurationError("\(liveVariable) must be listen or poll, got '\(value)'")
            }
            live = parsed
        }
        if mode == "off" { return ConsoleConfiguration(access: .off) }
        var users: [User] = []
        for (variable, role) in [(operatorVariable, Role.operator), (viewerVariable, Role.viewer)] {
            guard let value = environment[variable], !value.isEmpty else { continue }
            users.append(try user(value, role: role, variable: variable))
        }
        if users.count == 2 && users[0].name == users[1].name {
            throw ConsoleConfigurationError("\(operatorVariable) and \(viewerVariable) name the same user '\(users[0].name)'")
        }
        var configuration: ConsoleConfiguration
        if !users.isEmpty {
            configuration = ConsoleConfiguration(access: .credentials(users))
        } else if mode == "loopback" || mode == "on" || loopbackByDefault {
            guard isLoopback(host: listenHost) else {
                throw ConsoleConfigurationError(
                    "refusing to serve the console on \(listenHost), which other hosts can reach, without credentials: "
                    + "set \(operatorVariable) (and \(viewerVariable)) to user:password, or listen on 127.0.0.1")
            }
            configuration = ConsoleConfiguration(access: .loopback)
        } else {
            configuration = ConsoleConfiguration(access: .off)
        }
        configuration.liveUpdates = live
        return configuration
    }

    private static func user(_ value: String, role: Role, variable: String) throws(ConsoleConfigurationError) -> User {
        guard let colon = value.firstIndex(of: ":") else {
            throw ConsoleConfigurationError("\(variable) must be user:password")
        }
        let name = String(value[..<colon])
        let password = String(value[value.index(after: colon)...])
        guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-@".contains($0)) }) else {
            throw ConsoleConfigurationError("\(variable): the user name must be letters, digits, '.', '_', '-' or '@'")
        }
        guard password.count >= minimumPasswordLength else {
            throw ConsoleConfigurationError("\(variable): the password must have at least \(minimumPasswordLength) characters")
        }
        return User(name: name, password: Secret(password), role: role)
    }

    /// True for addresses only this host can reach: `127.0.0.0/8`, `::1`, `localhost`.
    public static func isLoopback(host: String) -> Bool {
        var h = host.lowercased()
        if h.hasPrefix("[") && h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
        if h == "localhost" || h == "::1" { return true }
        let parts = h.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }
}

/// A console setting that cannot be served; `description` names the variable, never a password.
public struct ConsoleConfigurationError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
