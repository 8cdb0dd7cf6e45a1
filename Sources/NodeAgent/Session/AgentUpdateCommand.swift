import Foundation

/// Runs an operator's agent-update command with `sh -c`, off the cooperative pool.
enum AgentUpdateCommand {
    /// The exit status, or -1 when the command could not be started.
    static func run(_ command: String) async -> Int32 {
        let null = URL(fileURLWithPath: "/dev/null")
        do {
            // Its output goes where the agent's goes.
            let child = try ChildProcess(
                arguments: ["/bin/sh", "-c", command],
                directory: URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
                environment: ProcessInfo.processInfo.environment,
                stdin: nil,
                stdout: null,
                stderr: null,
                descriptors: [1: 1, 2: 2]
            )
            return await child.exit.wait() ?? -1
        } catch {
            return -1
        }
    }
}
