import ArgumentParser
import Foundation
import Logging

/// `host:port` parsing shared by the subcommands.
struct HostPort: ExpressibleByArgument, Sendable {
    var host: String
    var port: Int

    init?(argument: String) {
        guard let colon = argument.lastIndex(of: ":"), let port = Int(argument[argument.index(after: colon)...]),
            (1...65535).contains(port)
        else { return nil }
        var host = String(argument[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self.host = host
        self.port = port
    }
}

enum LogSetup {
    /// Logs to stderr at `level` (BERTH_LOG_LEVEL overrides).
    static func bootstrap(_ level: Logger.Level) {
        let resolved =
            ProcessInfo.processInfo.environment["BERTH_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? level
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = resolved
            return handler
        }
    }
}

extension URL {
    init(directoryPath: String) {
        self.init(fileURLWithPath: (directoryPath as NSString).expandingTildeInPath, isDirectory: true)
    }
}

/// A failure reported as `Error: <message>` without the usage text (that is for bad arguments).
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ message: String) { self.description = message }
}
