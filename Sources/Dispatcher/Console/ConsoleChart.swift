import HTTP
import Support
import Foundation
import Store

/// Charts drawn on the server as inline SVG: no script, no style attributes (classes in
/// app.css give the colours), only numbers and fixed words interpolated.
enum ConsoleChart {
    /// A stacked bar of a campaign's messages by state, in lifecycle order.
    static func progress(states: [String: Int], total: Int) -> HTML {
        guard total > 0 else { return "<svg class=\"progress\" viewBox=\"0 0 1000 14\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"no messages\"><rect class=\"empty\" x=\"0\" y=\"0\" width=\"1000\" height=\"14\"/></svg>" }
        var x = 0.0
        var parts: [HTML] = []
        var label: [String] = []
        for state in ConsoleRows.states {
            let n = states[state] ?? 0
            guard n > 0 else { continue }
            let width = 1000 * Double(n) / Double(total)
            parts.append("<rect class=\"st-\(state)\" x=\"\(number(x))\" y=\"0\" width=\"\(number(width))\" height=\"14\"><title>\(ConsoleFormat.stateName(state)): \(n)</title></rect>")
            label.append("\(ConsoleFormat.stateName(state)) \(n)")
            x += width
        }
        return "<svg class=\"progress\" viewBox=\"0 0 1000 14\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"\(label.joined(separator: ", "))\">\(parts)</svg>"
    }

    /// Sends, acceptances and deliveries per minute as three lines.
    static func series(_ minutes: [ConsoleRows.Minute]) -> HTML {
        let width = 720.0, height = 200.0, left = 40.0, bottom = 24.0, top = 10.0, right = 10.0
        guard minutes.count > 1 else { return "<p class=\"muted\">No activity yet.</p>" }
        let peak = max(1, minutes.map { max($0.sends, $0.acceptances, $0.deliveries) }.max() ?? 1)
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        func point(_ i: Int, _ value: Int) -> String {
            let x = left + plotWidth * Double(i) / Double(minutes.count - 1)
            let y = top + plotHeight * (1 - Double(value) / Double(peak))
            return number(x) + "," + number(y)
        }
        func line(_ name: String, _ label: String, _ value: (ConsoleRows.Minute) -> Int) -> HTML {
            let points = minutes.indices.map { point($0, value(minutes[$0])) }.joined(separator: " ")
            let total = minutes.reduce(0) { $0 + value($1) }
            return "<polyline class=\"line-\(name)\" fill=\"none\" points=\"\(points)\"><title>\(label): \(total) in \(minutes.count) minutes</title></polyline>"
        }
        let yAxis = number(top + plotHeight)
        let first = ConsoleFormat.minute(minutes.first!.minute), last = ConsoleFormat.minute(minutes.last!.minute)
        return """
            <svg class="chart" viewBox="0 0 \(number(width)) \(number(height))" role="img" aria-label="sends, acceptances and deliveries per minute">\
            <line class="axis" x1="\(number(left))" y1="\(number(top))" x2="\(number(left))" y2="\(yAxis)"/>\
            <line class="axis" x1="\(number(left))" y1="\(yAxis)" x2="\(number(width - right))" y2="\(yAxis)"/>\
            <text class="tick" x="\(number(left - 4))" y="\(number(top + 8))" text-anchor="end">\(peak)</text>\
            <text class="tick" x="\(number(left - 4))" y="\(yAxis)" text-anchor="end">0</text>\
            <text class="tick" x="\(number(left))" y="\(number(height - 6))">\(first)</text>\
            <text class="tick" x="\(number(width - right))" y="\(number(height - 6))" text-anchor="end">\(last) UTC</text>\
            \(line("sends", "sends", \.sends))\(line("acceptances", "acceptances", \.acceptances))\(line("deliveries", "deliveries", \.deliveries))\
            </svg>\
            <p class="legend"><span class="key key-sends">sends</span> <span class="key key-acceptances">acceptances</span> \
            <span class="key key-deliveries">deliveries</span> per minute</p>
            """
    }

    static func number(_ value: Double) -> String { String(format: "%.1f", value) }
}
