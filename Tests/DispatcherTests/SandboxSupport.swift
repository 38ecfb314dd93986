import Foundation
import Testing
@testable import Dispatcher
import HTTP
import Sandbox

/// A running sandbox with clients for both APIs.
struct SandboxFixture {
    let sandbox: SandboxServer
    let base: URL
    let http: HTTPClient

    static func start(_ configure: (inout SandboxKnobs) -> Void = { _ in }) throws -> SandboxFixture {
        var knobs = SandboxKnobs.perfect
        configure(&knobs)
        let sandbox = SandboxServer(configuration: SandboxConfiguration(knobs: knobs))
        let port = try sandbox.start()
        return SandboxFixture(sandbox: sandbox, base: URL(string: "http://127.0.0.1:\(port)")!, http: HTTPClient())
    }

    func plum(password: String = "sandbox", timeout: Duration = .seconds(5)) -> PlumClient {
        PlumClient(configuration: .init(baseURL: base, username: "sandbox", password: password, timeout: timeout), http: http)
    }

    func restcomm(token: String = "sandbox", timeout: Duration = .seconds(5)) -> RestcommClient {
        RestcommClient(configuration: .init(baseURL: base.appending(path: "restcomm"), accountSID: "ACsandbox",
                                            authToken: token, timeout: timeout), http: http)
    }

    func stop() async {
        await sandbox.stop()
        await http.shutdown()
    }
}

/// A tiny callback receiver on our own server: collects posted forms per path.
actor CallbackReceiver {
    private(set) var forms: [[String: String]] = []
    private var server: HTTPServer?
    private(set) var url: URL?
    /// Requests being answered now, and the most there were at once.
    private(set) var inFlight = 0
    private(set) var maxInFlight = 0

    /// `answerDelay`: each callback is answered only after this long.
    func start(answerDelay: Duration? = nil) throws {
        var router = HTTPRouter()
        router.post("/cb/{token}") { request in
            guard var form = request.formFields() else { return .status(400) }
            form["_token"] = request.pathParameters["token"]
            await self.record(form)
            if let answerDelay { try? await Task.sleep(for: answerDelay) }
            await self.answered()
            return .status(204)
        }
        let server = HTTPServer(configuration: .init(host: "127.0.0.1", port: 0), router: router)
        let port = try server.start()
        self.server = server
        url = URL(string: "http://127.0.0.1:\(port)/cb/tok123")!
    }

    private func record(_ form: [String: String]) {
        forms.append(form)
        inFlight += 1
        maxInFlight = max(maxInFlight, inFlight)
    }

    private func answered() { inFlight -= 1 }

    /// Waits (briefly, polling) until at least `count` callbacks arrived.
    func waitFor(_ count: Int, timeout: Duration = .seconds(15)) async -> [[String: String]] {
        let deadline = ContinuousClock.now + timeout
        while forms.count < count && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return forms
    }

    func stop() async { await server?.stop() }
}
