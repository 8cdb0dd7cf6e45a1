import Foundation
import NodeAgent
import Synchronization

/// A `berth` subprocess from the build directory, with its stderr captured line by line.
public final class BerthProcess: Sendable {
    public let arguments: [String]
    private let child: ChildProcess
    private let output = LogCapture()
    private let lines: AsyncStream<String>

    /// The `berth` executable built beside the test bundle (`swift test` builds it).
    public static var executable: URL {
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = testBinary.deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("berth").path),
            directory.path != "/"
        {
            directory = directory.deletingLastPathComponent()
        }
        return directory.appendingPathComponent("berth")
    }

    /// Runs `berth <arguments>` to completion and returns its exit status and output.
    public static func run(
        _ arguments: [String],
        environment extra: [String: String] = [:]
    ) async throws -> (status: Int32, stdout: String, stderr: String) {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("BERTH_") }
        environment.merge(extra) { _, new in new }
        let output = try await Shell.run(executable.path, arguments, environment: environment)
        return (output.exitCode, output.stdout, output.stderr)
    }

    /// Starts `berth <arguments>` in the background, its stderr read line by line.
    ///
    /// Spawned with ``ChildProcess`` and read on a thread of its own: Foundation's
    /// `Process` and `readabilityHandler` go through libdispatch, which crashed the test
    /// process now and then.
    ///
    /// With `readingStandardOutput`, the lines read are its stdout instead (a client
    /// command's output), and its stderr goes to /dev/null.
    public init(
        _ arguments: [String],
        environment extra: [String: String] = [:],
        readingStandardOutput: Bool = false
    ) throws {
        self.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["BERTH_LOG_LEVEL"] = "info"
        environment.merge(extra) { _, new in new }
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw TestTimeout(what: "a pipe for berth's stderr (errno \(errno))") }
        let (readEnd, writeEnd) = (ends[0], ends[1])
        let null = URL(fileURLWithPath: "/dev/null")
        do {
            child = try ChildProcess(
                arguments: [Self.executable.path] + arguments,
                directory: URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
                environment: environment,
                stdin: nil,
                stdout: null,
                stderr: null,
                descriptors: [readingStandardOutput ? 1 : 2: writeEnd]
            )
        } catch {
            close(readEnd)
            close(writeEnd)
            throw error
        }
        close(writeEnd)
        let (lines, continuation) = AsyncStream.makeStream(of: String.self)
        self.lines = lines
        let output = self.output
        Thread.detachNewThread {
            let splitter = LineSplitter()
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = read(readEnd, &buffer, buffer.count)
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { break }
                for line in splitter.feed(Data(buffer[0..<count])) {
                    output.append(line)
                    continuation.yield(line)
                }
            }
            close(readEnd)
            continuation.finish()
        }
    }

    /// Everything the process logged so far.
    public var log: [String] { output.all }

    /// Waits for a log line containing `fragment` and returns it.
    public func line(containing fragment: String, timeout: Double = 30) async throws -> String {
        if let line = log.first(where: { $0.contains(fragment) }) { return line }
        let lines = self.lines
        return try await withTimeout(timeout, "'\(fragment)' from berth \(arguments.first ?? "")") {
            for await line in lines where line.contains(fragment) { return line }
            throw TestTimeout(what: "'\(fragment)': berth \(self.arguments.first ?? "") exited")
        }
    }

    /// SIGKILL: no shutdown code runs.
    public func kill() async {
        guard child.exit.finished == nil else { return }
        Foundation.kill(child.pid, SIGKILL)
        _ = await child.exit.wait()
    }

    /// SIGTERM, then wait.
    public func stop() async {
        guard child.exit.finished == nil else { return }
        Foundation.kill(child.pid, SIGTERM)
        _ = await child.exit.wait()
    }

    deinit { if child.exit.finished == nil { Foundation.kill(child.pid, SIGTERM) } }
}

/// Splits a byte stream into lines across reads.
final class LineSplitter: Sendable {
    private let pending = Mutex<String>("")

    func feed(_ data: Data) -> [String] {
        pending.withLock { text in
            text += String(decoding: data, as: UTF8.self)
            var lines = text.components(separatedBy: "\n")
            text = lines.removeLast()
            return lines
        }
    }
}
