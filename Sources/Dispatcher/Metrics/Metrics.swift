import Support

/// Process-wide counters, gauges and summaries, rendered in Prometheus text format.
///
/// Names follow Prometheus conventions (`dispatcher_…_total` for counters); label values
/// are escaped. Nothing personal (numbers, bodies) ever becomes a label.
public final class Metrics: Sendable {
    private struct Series: Hashable {
        var name: String
        var labels: [String]  // "key=value" pairs, sorted
    }

    private struct Summary {
        var count = 0.0
        var sum = 0.0
        var buckets: [Double: Double] = [:]
    }

    private struct State {
        var counters: [Series: Double] = [:]
        var gauges: [Series: Double] = [:]
        var summaries: [Series: Summary] = [:]
        var help: [String: (type: String, text: String)] = [:]
    }

    private let state = LockedValue(State())
    /// Histogram bucket bounds (seconds) for every observed distribution.
    static let bounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]

    public init() {}

    private static func series(_ name: String, _ labels: [String: String]) -> Series {
        Series(name: name, labels: labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
    }

    public func describe(_ name: String, type: String, _ text: String) {
        state.withLock { $0.help[name] = (type, text) }
    }

    public func increment(_ name: String, _ labels: [String: String] = [:], by amount: Double = 1) {
        let s = Self.series(name, labels)
        state.withLock { $0.counters[s, default: 0] += amount }
    }

    public func set(_ name: String, _ labels: [String: String] = [:], to value: Double) {
        let s = Self.series(name, labels)
        state.withLock { $0.gauges[s] = value }
    }

    /// Records one observation (seconds, or a size) in a histogram.
    public func observe(_ name: String, _ labels: [String: String] = [:], _ value: Double) {
        let s = Self.series(name, labels)
        state.withLock { st in
            var summary = st.summaries[s] ?? Summary()
            summary.count += 1
            summary.sum += value
            for b in Self.bounds where value <= b { summary.buckets[b, default: 0] += 1 }
            st.summaries[s] = summary
        }
    }

    public func counter(_ name: String, _ labels: [String: String] = [:]) -> Double {
        let s = Self.series(name, labels)
        return state.withLock { $0.counters[s] ?? 0 }
    }

    /// The Prometheus text exposition of everything recorded.
    public func render() -> String {
        let st = state.current
        var out = ""
        func header(_ name: String, _ fallback: String) {
            let h = st.help[name]
            out += "# HELP \(name) \(h?.text ?? name)\n# TYPE \(name) \(h?.type ?? fallback)\n"
        }
        func labelText(_ labels: [String], extra: String? = nil) -> String {
            var parts = labels.map { pair -> String in
                let i = pair.firstIndex(of: "=")!
                return "\(pair[..<i])=\"\(Self.escape(String(pair[pair.index(after: i)...])))\""
            }
            if let extra { parts.append(extra) }
            return parts.isEmpty ? "" : "{" + parts.joined(separator: ",") + "}"
        }
        for (name, group) in Dictionary(grouping: st.counters, by: { $0.key.name }).sorted(by: { $0.key < $1.key }) {
            header(name, "counter")
            for (s, v) in group.sorted(by: { $0.key.labels.joined() < $1.key.labels.joined() }) { out += "\(name)\(labelText(s.labels)) \(Self.number(v))\n" }
        }
        for (name, group) in Dictionary(grouping: st.gauges, by: { $0.key.name }).sorted(by: { $0.key < $1.key }) {
            header(name, "gauge")
            for (s, v) in group.sorted(by: { $0.key.labels.joined() < $1.key.labels.joined() }) { out += "\(name)\(labelText(s.labels)) \(Self.number(v))\n" }
        }
        for (name, group) in Dictionary(grouping: st.summaries, by: { $0.key.name }).sorted(by: { $0.key < $1.key }) {
            header(name, "histogram")
            for (s, summary) in group.sorted(by: { $0.key.labels.joined() < $1.key.labels.joined() }) {
                for b in Self.bounds {
                    out += "\(name)_bucket\(labelText(s.labels, extra: "le=\"\(Self.number(b))\"")) \(Self.number(summary.buckets[b] ?? 0))\n"
                }
                out += "\(name)_bucket\(labelText(s.labels, extra: "le=\"+Inf\"")) \(Self.number(summary.count))\n"
                out += "\(name)_sum\(labelText(s.labels)) \(Self.number(summary.sum))\n"
                out += "\(name)_count\(labelText(s.labels)) \(Self.number(summary.count))\n"
            }
        }
        return out
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }

    static func number(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }
}
