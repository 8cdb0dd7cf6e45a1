import Synchronization

/// Gauges set when the registry is scraped, from state the process already holds (nodes
/// by state, each node's capacity): a family whose label sets come and go. Each
/// ``update(_:)`` replaces the whole family, so a deleted node's series simply vanish.
///
/// The family renders its own lines into the exposition instead of registering one
/// swift-prometheus gauge per label set: the registry copies a family's table on every
/// registration, so the first scrape of 10,000 nodes (110,000 per-node series) took 17 s
/// and a core (docs/performance.md). Here an update is one dictionary build, and rendering
/// is a pass over it.
public final class ScrapedGauges: Sendable {
    public let description: MetricDescription
    private let values = Mutex<[(labels: [String], value: Double)]>([])

    public init(_ description: MetricDescription, in registry: MetricsRegistry) {
        self.description = description
        registry.attach(self)
    }

    /// Sets the family to exactly these series; label values are in
    /// ``MetricDescription/labels`` order.
    public func update(_ values: [(labels: [String], value: Double)]) {
        self.values.withLock { $0 = values }
    }

    /// Appends the family in the text format (0.0.4): HELP, TYPE, one line per series.
    func render(into out: inout [UInt8]) {
        let series = values.withLock { $0 }
        out += Array("# HELP \(description.name) \(Self.escapeHelp(description.help))\n".utf8)
        out += Array("# TYPE \(description.name) gauge\n".utf8)
        let name = Array(description.name.utf8)
        let labelNames = description.labels.map { Array($0.utf8) }
        for (labels, value) in series {
            out += name
            if !labels.isEmpty {
                out.append(UInt8(ascii: "{"))
                for (index, labelValue) in labels.enumerated() where index < labelNames.count {
                    if index > 0 { out.append(UInt8(ascii: ",")) }
                    out += labelNames[index]
                    out += [UInt8(ascii: "="), UInt8(ascii: "\"")]
                    Self.appendEscaped(labelValue, to: &out)
                    out.append(UInt8(ascii: "\""))
                }
                out.append(UInt8(ascii: "}"))
            }
            out.append(UInt8(ascii: " "))
            out += Array(Self.format(value).utf8)
            out.append(UInt8(ascii: "\n"))
        }
    }

    /// A label value with `\`, `"` and newlines escaped, as the format requires.
    static func appendEscaped(_ value: String, to out: inout [UInt8]) {
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\n"): out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            default: out.append(byte)
            }
        }
    }

    static func escapeHelp(_ help: String) -> String {
        help.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }

    /// Integers without a fraction, others as Swift prints them; NaN and infinities by name.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
