import Foundation

/// A small logger in swift-log's shape: a label, a level, dotted metadata keys, one line per
/// entry on standard error. Passed in, never created inside a library type. Callers never put
/// bound values (phone numbers, bodies) or secrets in messages or metadata.
public struct Logger: Sendable {
    public enum Level: Int, Sendable, Comparable, CustomStringConvertible {
        case debug, info, notice, warning, error, critical
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
        public var description: String { ["debug", "info", "notice", "warning", "error", "critical"][rawValue] }
    }

    public var label: String
    public var level: Level
    /// Where lines go (standard error by default; tests may collect them).
    public var sink: @Sendable (String) -> Void

    public init(label: String, level: Level = .info, sink: @escaping @Sendable (String) -> Void = Logger.standardError) {
        self.label = label
        self.level = level
        self.sink = sink
    }

    public static let standardError: @Sendable (String) -> Void = { line in
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Discards everything.
    public static var silent: Logger { Logger(label: "silent", level: .critical, sink: { _ in }) }

    public func log(_ level: Level, _ message: @autoclosure () -> String, _ metadata: [String: String] = [:]) {
        guard level >= self.level else { return }
        var line = "\(Self.timestamp()) \(level) \(label): \(message())"
        for key in metadata.keys.sorted() { line += " \(key)=\(metadata[key]!)" }
        sink(line)
    }

    public func debug(_ m: @autoclosure () -> String, _ md: [String: String] = [:]) { log(.debug, m(), md) }
    public func info(_ m: @autoclosure () -> String, _ md: [String: String] = [:]) { log(.info, m(), md) }
    public func notice(_ m: @autoclosure () -> String, _ md: [String: String] = [:]) { log(.notice, m(), md) }
    public func warning(_ m: @autoclosure () -> String, _ md: [String: String] = [:]) { log(.warning, m(), md) }
    public func error(_ m: @autoclosure () -> String, _ md: [String: String] = [:]) { log(.error, m(), md) }
    public func critical(_ m: @autoclosure () -> String, _ md: [String: String] = [:]) { log(.critical, m(), md) }

    private static func timestamp() -> String {
        var t = timespec()
        clock_gettime(CLOCK_REALTIME, &t)
        var tmValue = tm()
        var seconds = t.tv_sec
        gmtime_r(&seconds, &tmValue)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tmValue.tm_year + 1900, tmValue.tm_mon + 1, tmValue.tm_mday,
                      tmValue.tm_hour, tmValue.tm_min, tmValue.tm_sec, t.tv_nsec / 1_000_000)
    }
}
