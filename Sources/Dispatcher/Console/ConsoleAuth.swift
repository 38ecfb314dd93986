import HTTP
import Support
import Foundation

/// Who is asking: the user's name and role.
public struct ConsolePrincipal: Sendable, Equatable {
    public var user: String
    public var role: ConsoleConfiguration.Role
}

/// Authentication of console requests.
enum ConsoleAuth {
    /// What a request's credentials amount to.
    enum Verdict: Equatable {
        case allowed(ConsolePrincipal)
        /// No or wrong credentials: 401 with a challenge.
        case unauthenticated
        /// Loopback mode, but the request came through a proxy or names another host: 403.
        case forbidden
    }

    static let realm = "dispatcher console"

    static func authenticate(_ request: HTTPRequest, access: ConsoleConfiguration.Access) -> Verdict {
        switch access {
        case .off:
            return .forbidden
        case .loopback:
            // Whoever connects to a loopback address is local, unless a proxy on this host
            // forwarded the request (it says so) or a page elsewhere rebinds a name to us.
            for header in ["X-Forwarded-For", "Forwarded", "X-Real-IP", "X-Forwarded-Host"] where request.headers[header] != nil {
                return .forbidden
            }
            guard let host = request.headers["Host"], ConsoleConfiguration.isLoopback(host: hostName(host)) else { return .forbidden }
            return .allowed(ConsolePrincipal(user: "loopback", role: .operator))
        case .credentials(let users):
            guard let (name, password) = request.basicCredentials else { return .unauthenticated }
            // Every user is compared, in time that does not depend on where they differ.
            var found: ConsolePrincipal?
            for user in users {
                let nameMatches = InboundKey.equal(name, user.name)
                let passwordMatches = InboundKey.equal(password, user.password.value)
                if nameMatches && passwordMatches { found = ConsolePrincipal(user: user.name, role: user.role) }
            }
            return found.map(Verdict.allowed) ?? .unauthenticated
        }
    }

    /// The host of a `Host` header without its port (`[::1]:8090` → `[::1]`).
    static func hostName(_ header: String) -> String {
        let h = header.trimmingCharacters(in: .whitespaces)
        if h.hasPrefix("[") {
            guard let end = h.firstIndex(of: "]") else { return String(h) }
            return String(h[...end])
        }
        if let colon = h.lastIndex(of: ":"), h.firstIndex(of: ":") == colon { return String(h[..<colon]) }
        return String(h)
    }
}

/// Tokens against cross-site request forgery: one random token per user, made from this
/// process's random secret, sent in every form and checked in constant time on every POST.
/// A restart makes new ones (open pages then need a reload).
final class ConsoleCSRF: Sendable {
    private let tokens = LockedValue<[String: String]>([:])

    init() {}

    /// The token of `user`, made on first use.
    func token(for user: String) -> String {
        tokens.withLock { tokens in
            if let token = tokens[user] { return token }
            var generator = SystemRandomNumberGenerator()
            let token = (0..<4).map { _ in
                let n = generator.next() as UInt64
                let hex = String(n, radix: 16)
                return String(repeating: "0", count: 16 - hex.count) + hex
            }.joined()
            tokens[user] = token
            return token
        }
    }

    /// True when `presented` is `user`'s token.
    func verify(_ presented: String?, for user: String) -> Bool {
        guard let presented, !presented.isEmpty else { return false }
        return InboundKey.equal(presented, token(for: user))
    }
}
