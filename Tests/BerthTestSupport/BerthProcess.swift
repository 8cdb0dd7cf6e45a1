import Foundation
import Synchronization

/// A `berth` subprocess from the build directory, with its stderr captured line by line.
public final class BerthProcess: Sendable {
    public let arguments: [String]
    private let process: Process
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
    public static func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (
            process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self)
        )
    }

    /// Starts `berth <arguments>` in the background.
    public init(_ arguments: [String]) throws {
        self.arguments = arguments
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["BERTH_LOG_LEVEL"] = "info"
        process.environment = environment
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        let (lines, continuation) = AsyncStream.makeStream(of: String.self)
        self.lines = lines
        self.process = process
        let splitter = LineSplitter()
        let output = self.output
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
                continuation.finish()
                return
            }
            for line in splitter.feed(data) {
                output.append(line)
                continuation.yield(line)
            }
        }
        try process.run()
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
    public func kill() {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM, then wait.
    public func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    deinit { if process.isRunning { process.terminate() } }
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
