import Foundation

/// Line charts of the last hour, drawn as SVG on the server.
///
/// Colours come from the stylesheet (`series-N`), so they follow light and dark mode;
/// each chart has a text title and a legend with the latest values, so nothing depends
/// on telling colours apart.
enum SVGChart {
    struct Series {
        var label: String
        var values: [Double]
    }

    static let width = 640.0
    static let height = 170.0
    static let left = 44.0
    static let right = 8.0
    static let top = 10.0
    static let bottom = 22.0
    static let window = 3600.0

    /// `times` are microseconds, one per value; the chart spans the hour up to the last one.
    /// The y axis runs to `maxValue`, or to a round number at least `minimumTop`.
    static func lines(
        id: String,
        title: String,
        times: [Int],
        series: [Series],
        maxValue: Double? = nil,
        minimumTop: Double = 2,
        format: (Double) -> String
    ) -> HTML {
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        let end = Double(times.last ?? 0) / 1_000_000
        let start = end - window
        let highest = series.flatMap(\.values).max() ?? 0
        let top = maxValue ?? niceCeiling(max(highest, minimumTop))
        func x(_ micros: Int) -> Double { left + (Double(micros) / 1_000_000 - start) / window * plotWidth }
        func y(_ value: Double) -> Double { self.top + plotHeight - min(value, top) / top * plotHeight }

        var grid = ""
        for fraction in [0.0, 0.5, 1.0] {
            let value = top * fraction
            let lineY = y(value)
            grid += "<line class=\"grid\" x1=\"\(left)\" x2=\"\(width - right)\" y1=\"\(lineY)\" y2=\"\(lineY)\"/>"
            grid += "<text class=\"axis\" x=\"\(left - 6)\" y=\"\(lineY + 4)\" text-anchor=\"end\">"
            grid += HTML.escape(format(value)) + "</text>"
        }
        for (minutes, anchor) in [(60, "start"), (30, "middle"), (0, "end")] {
            let labelX = left + plotWidth * (1 - Double(minutes) / 60)
            let label = minutes == 0 ? "now" : "−\(minutes) min"
            grid += "<text class=\"axis\" x=\"\(labelX)\" y=\"\(height - 6)\" text-anchor=\"\(anchor)\">\(label)</text>"
        }
        var paths = ""
        for (index, line) in series.enumerated() {
            let points = zip(times, line.values)
                .filter { Double($0.0) / 1_000_000 >= start }
                .map { String(format: "%.1f,%.1f", x($0.0), y($0.1)) }
            guard !points.isEmpty else { continue }
            let shape = points.count == 1 ? "\(points[0]) \(points[0])" : points.joined(separator: " ")
            paths += "<polyline class=\"line series-\(index + 1)\" points=\"\(shape)\"/>"
        }
        let latest = series.map { "\($0.label) \(format($0.values.last ?? 0))" }.joined(separator: ", ")
        let legend = series.enumerated().html { index, line in
            "<li><span class=\"swatch series-\(index + 1)\" aria-hidden=\"true\"></span>\(line.label): <strong>\(format(line.values.last ?? 0))</strong></li>"
        }
        return """
            <figure class="chart">
            <figcaption id="\(id)-title">\(title)</figcaption>
            <svg viewBox="0 0 \(Int(width)) \(Int(height))" role="img" aria-labelledby="\(id)-title \(id)-desc" preserveAspectRatio="none">
            <desc id="\(id)-desc">Last hour. Now: \(latest).</desc>
            \(HTML(unsafe: grid))\(HTML(unsafe: paths))
            </svg>
            <ul class="legend">\(legend)</ul>
            </figure>
            """
    }

    /// 1, 2, 5, 10, 20, 50... at or above `value`.
    static func niceCeiling(_ value: Double) -> Double {
        var step = 1.0
        while true {
            for factor in [1.0, 2.0, 5.0] where step * factor >= value { return step * factor }
            step *= 10
        }
    }
}
