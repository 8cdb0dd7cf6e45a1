import Foundation
import WireProtocol

#if canImport(Glibc)
import Glibc
#endif

/// Runs a startup script the way Anka does (`anka run <vm> sh` with the script on stdin):
/// the shell reads the script from standard input in the instance's working directory,
/// under a timeout, with stdout and stderr captured.
///
/// The shell is bash where the host has it, as `sh` is bash in a macOS VM: scripts written
/// for Anka use bash (Veertu's GitHub Action starts with `set -exo pipefail`, which dash, a
/// Debian `/bin/sh`, rejects). Without bash it is `/bin/sh`. The result names the shell.
///
/// The script runs in its own process group, so a timeout ends everything it started.
public enum ScriptRunner {
    /// Captured output is cut to this many bytes per stream.
    public static let outputLimit = 64 * 1024

    /// Where bash is looked for, in order; `/bin/sh` when none is executable.
    static let bashPaths = ["/bin/bash", "/usr/bin/bash", "/usr/local/bin/bash", "/opt/homebrew/bin/bash"]

    /// The shell scripts run with on this host.
    public static let shell: String =
        bashPaths.first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/bin/sh"

    public static func run(
        _ script: [UInt8],
        in directory: URL,
        timeout: Duration,
        environment: [String: String] = [:]
    ) async -> ScriptResult {
        let shell = Self.shell
        let files = FileManager.default
        let scriptURL = directory.appendingPathComponent("startup-script.sh")
        let outURL = directory.appendingPathComponent("startup-script.stdout")
        let errURL = directory.appendingPathComponent("startup-script.stderr")
        do {
            try files.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(script).write(to: scriptURL)
        } catch {
            return ScriptResult(returnCode: -1, errors: ["could not prepare the script: \(error)"], shell: shell)
        }
        let child: ChildProcess
        do {
            child = try ChildProcess(
                arguments: [shell],
                directory: directory,
                environment: ProcessInfo.processInfo.environment.merging(environment) { _, new in new },
                stdin: scriptURL,
                stdout: outURL,
                stderr: errURL
            )
        } catch {
            return ScriptResult(returnCode: -1, errors: ["could not start \(shell): \(error)"], shell: shell)
        }
        let status = await child.waitForExit(within: timeout)
        var result = ScriptResult(shell: shell)
        if let status {
            result.returnCode = Int(status)
        } else {
            // The whole process group: the shell and anything it started.
            child.signal(SIGKILL)
            _ = await child.exit.wait()
            result.returnCode = -1
            result.didTimeout = true
        }
        result.stdout = read(outURL)
        result.stderr = read(errURL)
        return result
    }

    static func read(_ url: URL) -> String {
        guard let data = try? Data(contentsOf: url) else { return "" }
        return String(decoding: data.prefix(outputLimit), as: UTF8.self)
    }
}

/// The exit status of a process, awaited by any number of tasks.
public final class ExitBox: @unchecked Sendable {
    private let lock = NSLock()
    private var status: Int32?
    private var waiters: [CheckedContinuation<Int32?, Never>] = []

    /// The status, once the process has exited.
    public var finished: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return status
    }

    func finish(_ value: Int32) {
        lock.lock()
        status = value
        let pending = waiters
        waiters = []
        lock.unlock()
        for waiter in pending { waiter.resume(returning: value) }
    }

    /// The status once the process exits. Cancelling the waiting task returns `nil`.
    public func wait() async -> Int32? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                lock.lock()
                if let status {
                    lock.unlock()
                    continuation.resume(returning: status)
                } else if Task.isCancelled {
                    lock.unlock()
                    continuation.resume(returning: nil)
                } else {
                    waiters.append(continuation)
                    lock.unlock()
                }
            }
        } onCancel: {
            lock.lock()
            let pending = waiters
            waiters = []
            lock.unlock()
            for waiter in pending { waiter.resume(returning: nil) }
        }
    }
}
