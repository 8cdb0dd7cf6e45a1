import ArgumentParser
import Foundation

/// The entry point: merges the config file and the environment into the arguments
/// (``ConfigSources``), then lets ArgumentParser parse and run as usual.
@main
enum Main {
    static func main() async {
        do {
            let arguments = try await ConfigSources.expand(
                Array(CommandLine.arguments.dropFirst()),
                environment: ProcessInfo.processInfo.environment
            )
            var command = try Berth.parseAsRoot(arguments)
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            Berth.exit(withError: error)
        }
    }
}
