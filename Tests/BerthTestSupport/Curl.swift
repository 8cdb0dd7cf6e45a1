import Foundation
import NodeAgent

/// Runs the real `curl` (and shell commands around it) for tests that must behave as
/// documented curl examples do.
public enum Curl {
    public struct Result: Sendable {
        public var exitCode: Int32
        public var status: Int
        public var httpVersion: String
        public var body: String
        public var stderr: String

        public var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
        }
    }

    /// `curl -s <arguments>`, returning status, negotiated HTTP version and body.
    public static func run(_ arguments: [String]) async throws -> Result {
        let marker = "\n@@berth-status@@"
        let output = try await Shell.run(
            "/usr/bin/env",
            ["curl", "-s", "-S", "-w", "\(marker)%{http_code} %{http_version}"] + arguments
        )
        let parts = output.stdout.components(separatedBy: marker)
        let trailer = parts.count > 1 ? parts[parts.count - 1].split(separator: " ") : []
        return Result(
            exitCode: output.exitCode,
            status: trailer.first.flatMap { Int($0) } ?? 0,
            httpVersion: trailer.count > 1 ? String(trailer[1]) : "",
            body: parts.count > 1 ? parts.dropLast().joined(separator: marker) : output.stdout,
            stderr: output.stderr
        )
    }
}

/// Runs a program to completion and collects its output.
public enum Shell {
    public struct Output: Sendable {
        public var exitCode: Int32
        public var stdout: String
        public var stderr: String
    }

    public static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil
    )
        async throws -> Output
    {
        // Files, not pipes: a full pipe would block the child before it exits.
        let directory = TestPaths.temporaryDirectory("shell")
        let outURL = directory.appendingPathComponent("stdout")
        let errURL = directory.appendingPathComponent("stderr")
        // posix_spawn and a waiting thread, not Foundation's Process (see ChildProcess).
        let child = try ChildProcess(
            arguments: [executable] + arguments,
            directory: URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
            environment: environment ?? ProcessInfo.processInfo.environment,
            stdin: nil,
            stdout: outURL,
            stderr: errURL
        )
        let exit = await child.exit.wait() ?? -1
        let stdout = try Data(contentsOf: outURL)
        let stderr = try Data(contentsOf: errURL)
        try? FileManager.default.removeItem(at: directory)
        return Output(
            exitCode: exit,
            stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self)
        )
    }
}
