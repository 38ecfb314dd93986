import Foundation
import Glibc

/// A headless Chromium driven through the DevTools protocol over `--remote-debugging-pipe`:
/// the browser reads JSON commands, each ended by a NUL byte, on its descriptor 3 and writes
/// answers and events the same way on its descriptor 4. No websocket, no port.
///
/// Calls are synchronous with a timeout (a test helper: each call answers in milliseconds).
final class ChromiumDevTools: @unchecked Sendable {
    static let executable = "/usr/bin/chromium"
    static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: executable) }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let pid: pid_t
    let userDataDirectory: String
    private let toBrowser: Int32
    private let fromBrowser: Int32
    private var buffer: [UInt8] = []
    private var nextID = 0
    /// The page's session (flat mode).
    private var session: String?

    /// Starts Chromium headless with a fresh profile in `userDataDirectory`, its output to `log`.
    init(userDataDirectory: String, log: String, width: Int = 1280, height: Int = 900) throws {
        self.userDataDirectory = userDataDirectory
        var commands: [Int32] = [0, 0], answers: [Int32] = [0, 0]
        guard pipe(&commands) == 0, pipe(&answers) == 0 else { throw Failure(description: "pipe failed") }
        for fd in commands + answers { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        // high numbers first, so neither end is already 3 or 4 when they are moved there
        let childRead = fcntl(commands[0], F_DUPFD_CLOEXEC, 100), childWrite = fcntl(answers[1], F_DUPFD_CLOEXEC, 100)
        Glibc.close(commands[0])
        Glibc.close(answers[1])
        defer {
            Glibc.close(childRead)
            Glibc.close(childWrite)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_adddup2(&actions, childRead, 3)
        posix_spawn_file_actions_adddup2(&actions, childWrite, 4)
        // nothing else of ours (sockets of other tests) goes to the browser
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") {
            _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 5)
        }
        let arguments = [Self.executable, "--headless=new", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
                         "--user-data-dir=\(userDataDirectory)", "--window-size=\(width),\(height)", "--no-first-run",
                         "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars", "about:blank"]
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, Self.executable, &actions, nil, argv, environ)
        guard rc == 0 else {
            Glibc.close(commands[1])
            Glibc.close(answers[0])
            throw Failure(description: "posix_spawn \(Self.executable): \(String(cString: strerror(rc)))")
        }
        self.pid = pid
        toBrowser = commands[1]
        fromBrowser = answers[0]
        // the page Chromium opened, attached in flat mode: commands carry its session id
        let targets = try call("Target.getTargets")["targetInfos"] as? [[String: Any]] ?? []
        guard let page = targets.first(where: { $0["type"] as? String == "page" })?["targetId"] as? String else {
            throw Failure(description: "no page target: \(targets)")
        }
        session = try call("Target.attachToTarget", ["targetId": page, "flatten": true])["sessionId"] as? String
        _ = try call("Page.enable")
        _ = try call("Runtime.enable")
        _ = try call("Emulation.setDeviceMetricsOverride", ["width": width, "height": height, "deviceScaleFactor": 1, "mobile": false])
    }

    /// Sends `method` and returns its result; throws on an error answer or after `timeout` seconds.
    @discardableResult
    func call(_ method: String, _ params: [String: Any] = [:], timeout: Double = 30) throws -> [String: Any] {
        nextID += 1
        let id = nextID
        var message: [String: Any] = ["id": id, "method": method, "params": params]
        if let session { message["sessionId"] = session }
        var bytes = [UInt8](try JSONSerialization.data(withJSONObject: message))
        bytes.append(0)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { Glibc.write(toBrowser, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Failure(description: "write to the browser: \(String(cString: strerror(errno)))") }
            written += n
        }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            while let end = buffer.firstIndex(of: 0) {
                let frame = Array(buffer[..<end])
                buffer.removeSubrange(...end)
                guard let answer = try JSONSerialization.jsonObject(with: Data(frame)) as? [String: Any],
                      answer["id"] as? Int == id else { continue }  // events and others' answers
                if let error = answer["error"] { throw Failure(description: "\(method): \(error)") }
                return answer["result"] as? [String: Any] ?? [:]
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw Failure(description: "\(method): no answer in \(timeout) s") }
            var pfd = pollfd(fd: fromBrowser, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, Int32(min(left, 1) * 1000))
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fromBrowser, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Failure(description: "the browser closed its pipe") }
            buffer += chunk[..<n]
        }
    }

    /// Evaluates `expression` in the page and returns its value (JSON-like).
    func evaluate(_ expression: String) throws -> Any? {
        let result = try call("Runtime.evaluate", ["expression": expression, "returnByValue": true])
        if let exception = result["exceptionDetails"] { throw Failure(description: "\(expression): \(exception)") }
        return (result["result"] as? [String: Any])?["value"]
    }

    /// Starts loading `url` (wait with `loaded(_:)`).
    func navigate(_ url: String) throws {
        _ = try call("Page.navigate", ["url": url])
    }

    /// Whether the page at a URL for which `matches` holds has finished loading.
    func loaded(_ matches: (String) -> Bool) -> Bool {
        guard let state = try? evaluate("document.readyState + ' ' + location.href") as? String else { return false }
        let parts = state.split(separator: " ", maxSplits: 1)
        return parts.count == 2 && parts[0] == "complete" && matches(String(parts[1]))
    }

    /// A PNG of the viewport, written to `path`.
    func screenshot(_ path: String) throws {
        let result = try call("Page.captureScreenshot", ["format": "png"])
        guard let text = result["data"] as? String, let data = Data(base64Encoded: text) else {
            throw Failure(description: "no screenshot data")
        }
        try data.write(to: URL(fileURLWithPath: path))
    }

    /// Ends the browser and removes its profile.
    func close() {
        // Browser.close goes to the browser, not the page's session; SIGKILL if it does not end
        session = nil
        _ = try? call("Browser.close", timeout: 5)
        var status: Int32 = 0
        for _ in 0..<50 where waitpid(pid, &status, WNOHANG) == 0 { usleep(100_000) }
        if waitpid(pid, &status, WNOHANG) == 0 {
            kill(pid, SIGKILL)
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
        Glibc.close(toBrowser)
        Glibc.close(fromBrowser)
        try? FileManager.default.removeItem(atPath: userDataDirectory)
    }
}
