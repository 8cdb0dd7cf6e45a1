import ArgumentParser
import Foundation
import Logging
import Telemetry

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
    /// Logs to stderr at `level` (BERTH_LOG_LEVEL overrides), as text or one JSON object
    /// per line (`--log-format json`, or BERTH_LOG_FORMAT).
    static func bootstrap(_ level: Logger.Level, format: LogFormat = .text) {
        let environment = ProcessInfo.processInfo.environment
        let resolved = environment["BERTH_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? level
        let format = environment["BERTH_LOG_FORMAT"].flatMap(LogFormat.init(rawValue:)) ?? format
        LoggingSystem.bootstrap { label in
            switch format {
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = resolved
                return handler
            case .json:
                var handler = JSONLogHandler(label: label)
                handler.logLevel = resolved
                return handler
            }
        }
    }
}

/// How logs are written.
enum LogFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// swift-log's line format, for people.
    case text
    /// One JSON object per line, for log shippers.
    case json
}

/// `--log-format`, shared by the commands that run services.
struct LogFormatOption: ParsableArguments {
    @Option(help: "Log format: text, or json (one object per line).")
    var logFormat: LogFormat = .text
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
