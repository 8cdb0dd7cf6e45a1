import Logging
import Synchronization

/// Keeps every log line of a component so tests can check what an operator would read.
public final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])
    /// Waiters for a line containing all their fragments.
    private let waiters = Mutex<[(done: @Sendable ([String]) -> Bool, continuation: CheckedContinuation<Void, Never>)]>([])

    /// The lowest level kept (`.trace` for tests that follow steps logged only at trace).
    public let level: Logger.Level

    public init(level: Logger.Level = .info) {
        self.level = level
    }

    public var all: [String] { lines.withLock { $0 } }

    /// `true` when some line contains every fragment.
    public func contains(_ fragments: String...) -> Bool {
        all.contains { line in fragments.allSatisfy { line.contains($0) } }
    }

    /// How many lines contain `fragment`.
    public func count(of fragment: String) -> Int {
        all.filter { $0.contains(fragment) }.count
    }

    /// Returns once some line contains every fragment (at once if one does already).
    public func waitForLine(_ fragments: String...) async {
        await waitForLines(count: 1, fragments)
    }

    /// Returns once `count` lines contain every fragment (at once if they do already).
    public func waitForLines(count: Int, _ fragments: [String]) async {
        let done: @Sendable ([String]) -> Bool = { all in
            all.lazy.filter { line in fragments.allSatisfy { line.contains($0) } }.prefix(count).count >= count
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            // Registered under the lines' lock, so no line can slip in between check and wait.
            let found = lines.withLock { all -> Bool in
                if done(all) { return true }
                waiters.withLock { $0.append((done, continuation)) }
                return false
            }
            if found { continuation.resume() }
        }
    }

    func append(_ line: String) {
        let ready = lines.withLock { all in
            all.append(line)
            return waiters.withLock { waiting in
                let matched = waiting.filter { $0.done(all) }
                waiting.removeAll { $0.done(all) }
                return matched.map(\.continuation)
            }
        }
        for continuation in ready { continuation.resume() }
    }

    public func logger(_ label: String) -> Logger {
        Logger(label: label) { label in Handler(capture: self, label: label, logLevel: self.level) }
    }

    struct Handler: LogHandler {
        let capture: LogCapture
        let label: String
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level

        init(capture: LogCapture, label: String, logLevel: Logger.Level) {
            self.capture = capture
            self.label = label
            self.logLevel = logLevel
        }

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
            let rendered = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            capture.append("\(event.level) \(event.message) \(rendered)")
        }
    }
}
