import ArgumentParser
import Foundation
import Logging
import TLSTransport
import Telemetry

/// `host:port` parsing shared by the subcommands (as ``ControlPlaneAddress`` parses it).
struct HostPort: ExpressibleByArgument, Sendable {
    var host: String
    var port: Int

    init?(argument: String) {
        guard let address = ControlPlaneAddress(parsing: argument) else { return nil }
        self.host = address.host
        self.port = address.port
    }
}

/// `host:port[,host:port…]`: the control-plane replicas a node or gateway may reach, tried
/// in turn; a follower's answer names the leader (docs/ha.md).
struct ControlPlaneList: ExpressibleByArgument, Sendable {
    var addresses: [ControlPlaneAddress]

    init?(argument: String) {
        guard let addresses = ControlPlaneAddress.list(parsing: argument) else { return nil }
        self.addresses = addresses
    }

    var first: ControlPlaneAddress { addresses[0] }
    var others: [ControlPlaneAddress] { Array(addresses.dropFirst()) }
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

/// Secrets kept in files (`--root-token-file`, `--join-token-file`,
/// `--oidc-client-secret-file`), so that none has to be given on the command line.
enum SecretFile {
    /// The file's content without surrounding white space; an unreadable or empty file is
    /// an error naming the option.
    static func read(_ path: String, option: String) throws -> String {
        let value: String
        do {
            value = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            throw ValidationError("\(option) \(path) cannot be read: \(error.localizedDescription)")
        }
        guard !value.isEmpty else { throw ValidationError("\(option) \(path) is empty") }
        return value
    }

    /// The secret given directly or in a file (not both).
    static func resolve(_ direct: String?, file: String?, option: String) throws -> String? {
        if direct != nil, file != nil { throw ValidationError("give --\(option) or --\(option)-file, not both") }
        if let file { return try read(file, option: "--\(option)-file") }
        return direct
    }
}

/// `--config`, shared by the commands that read settings from a file (``ConfigSources``
/// reads it before ArgumentParser runs; declared here so that the option is known and shown).
struct ConfigFileOption: ParsableArguments {
    @Option(help: "YAML file of settings: each key an option name (e.g. `http-port: 8090`). Flags override it, then BERTH_* variables.")
    var config: String?
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
