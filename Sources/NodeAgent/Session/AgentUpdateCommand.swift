import Foundation

/// Runs an operator's agent-update command with `sh -c`, off the cooperative pool.
enum AgentUpdateCommand {
    /// The exit status, or -1 when the command could not be started.
    static func run(_ command: String) async -> Int32 {
        await withCheckedContinuation { continuation in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", command]
            process.standardInput = FileHandle.nullDevice
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                continuation.resume(returning: -1)
            }
        }
    }
}
