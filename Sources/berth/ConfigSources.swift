import ArgumentParser
import Configuration
import Foundation
import SystemPackage
import Yams

/// Settings from a YAML file and the environment, under the command line.
///
/// Every option of a service command (`controlplane`, `gateway`, `node run`, `node join`,
/// `dev`) can also be set as a top-level key of a YAML file named by `--config` (or
/// `BERTH_CONFIG`), and as a `BERTH_` environment variable: `--metrics-port 9464` is
/// `metrics-port: 9464` in the file and `BERTH_METRICS_PORT=9464` in the environment. The
/// command line wins over the environment, which wins over the file. The file and the
/// environment are read through swift-configuration (`FileProvider<YAMLSnapshot>`, then
/// `EnvironmentVariablesProvider` under the `berth` prefix); what they set is handed to
/// ArgumentParser ahead of the real arguments, so one set of types, defaults and
/// validation applies to all three. Nothing read here is written to the process's own
/// arguments, so a secret from the file or the environment never shows in `ps`.
struct ConfigSources {
    /// A configurable command: where it sits in the arguments and what it accepts.
    struct Role: Sendable {
        let name: String
        /// The subcommand words, e.g. `["node", "run"]`.
        let path: [String]
        let command: any ParsableCommand.Type
    }

    static let roles: [Role] = [
        Role(name: "controlplane", path: ["controlplane"], command: ControlPlaneCommand.self),
        Role(name: "gateway", path: ["gateway"], command: GatewayCommand.self),
        Role(name: "node", path: ["node", "run"], command: NodeCommand.Run.self),
        Role(name: "node-join", path: ["node", "join"], command: NodeCommand.Join.self),
        Role(name: "dev", path: ["dev"], command: Dev.self),
    ]

    /// Where one effective value came from.
    enum Source: String { case flag, environment, file }

    /// One option the role accepts, as ArgumentParser declares it.
    struct Setting: Equatable {
        let name: String
        /// Other spellings on the command line (`--token` for `--join-token`).
        var aliases: [String] = []
        /// `false` for a flag (`--authorization`), which takes no value.
        let takesValue: Bool
        /// The default ArgumentParser shows, if any.
        var defaultValue: String?

        /// Holds a secret: shown redacted by `berth config check`.
        var isSecret: Bool {
            (name.contains("token") || name.contains("secret") || name.contains("password")) && !name.hasSuffix("-file")
        }
    }

    /// A value found for a setting.
    struct Found {
        let setting: Setting
        let values: [String]
        let source: Source
    }

    let role: Role
    let settings: [Setting]

    init(role: Role) {
        self.role = role
        self.settings = Self.settings(of: role)
    }

    /// The role the arguments run, with the index just past its subcommand words.
    static func role(in arguments: [String]) -> (Role, Int)? {
        guard let first = arguments.first else { return nil }
        if first == "node" {
            // `run` is the default subcommand: `berth node --data-dir …` runs too.
            if arguments.count > 1, arguments[1] == "join" { return (roles[3], 2) }
            if arguments.count > 1, arguments[1] == "run" { return (roles[2], 2) }
            // The client's `node list|show|drain|config|delete` take no service settings.
            if arguments.count > 1, !arguments[1].hasPrefix("-") { return nil }
            return (roles[2], 1)
        }
        guard let role = roles.first(where: { $0.path == [first] }) else { return nil }
        return (role, 1)
    }

    /// The options of `role`, read from ArgumentParser's own help for it, so the list
    /// cannot drift from the declarations.
    static func settings(of role: Role) -> [Setting] {
        let help = Berth.helpMessage(for: role.command, columns: 10_000)
        // One entry per option: its line and the help text ArgumentParser wraps onto the next.
        var entries: [String] = []
        for line in help.split(separator: "\n") {
            let trimmed = line.drop { $0 == " " }
            if trimmed.hasPrefix("-") {
                entries.append(String(trimmed))
            } else if !trimmed.isEmpty, line.hasPrefix(" "), !entries.isEmpty {
                entries[entries.count - 1] += "  " + trimmed
            }
        }
        var settings: [Setting] = []
        for trimmed in entries {
            guard trimmed.hasPrefix("--") || trimmed.hasPrefix("-h, --") else { continue }
            // The synopsis ends where the help text begins (two spaces), or at the line's end.
            let synopsis = trimmed.components(separatedBy: "  ").first ?? String(trimmed)
            let names = synopsis.split(separator: " ").compactMap { word -> String? in
                let word = word.hasSuffix(",") ? word.dropLast() : word
                guard word.hasPrefix("--") else { return nil }
                return String(word.dropFirst(2))
            }
            guard let name = names.first, name != "help", name != "config" else { continue }
            var defaultValue: String?
            if let range = trimmed.range(of: "default: ", options: .backwards) {
                defaultValue = String(trimmed[range.upperBound...].prefix { $0 != ")" })
            }
            settings.append(
                Setting(
                    name: name,
                    aliases: Array(names.dropFirst()),
                    takesValue: synopsis.contains("<"),
                    defaultValue: defaultValue
                )
            )
        }
        return settings
    }

    /// Whether the arguments set `name` themselves.
    static func argumentsSet(_ setting: Setting, in arguments: ArraySlice<String>) -> Bool {
        ([setting.name] + setting.aliases).contains { name in
            arguments.contains { $0 == "--\(name)" || $0.hasPrefix("--\(name)=") }
        }
    }

    /// The config file the arguments or the environment name.
    static func configPath(in arguments: [String], environment: [String: String]) -> String? {
        if let index = arguments.firstIndex(of: "--config"), index + 1 < arguments.count { return arguments[index + 1] }
        if let inline = arguments.first(where: { $0.hasPrefix("--config=") }) { return String(inline.dropFirst(9)) }
        return environment["BERTH_CONFIG"]
    }

    /// Values from the environment and the file (`path`) for every setting the arguments
    /// leave unset, the environment first. Unknown keys in the file are an error: a typo
    /// must not be ignored silently.
    func read(
        path: String?,
        environment: [String: String],
        unsetIn arguments: ArraySlice<String>
    ) async throws -> [Found] {
        let env = ConfigReader(
            provider: EnvironmentVariablesProvider(environmentVariables: environment).prefixKeys(with: "berth")
        )
        var file: ConfigReader?
        if let path {
            let text: String
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw CommandFailure("cannot read the config file \(path): \(error.localizedDescription)")
            }
            try checkKeys(yaml: text, path: path)
            file = ConfigReader(provider: try await FileProvider<YAMLSnapshot>(filePath: FilePath(path)))
        }
        var found: [Found] = []
        for setting in settings where !Self.argumentsSet(setting, in: arguments) {
            let key = ConfigKey(setting.name)
            if let value = env.string(forKey: key) {
                found.append(Found(setting: setting, values: [value], source: .environment))
            } else if let file {
                if let value = file.string(forKey: key) {
                    found.append(Found(setting: setting, values: [value], source: .file))
                } else if let values = file.stringArray(forKey: key) {
                    found.append(Found(setting: setting, values: values, source: .file))
                }
            }
        }
        return found
    }

    /// Refuses a file that is not a mapping of known option names.
    func checkKeys(yaml: String, path: String) throws {
        let node: Yams.Node?
        do {
            node = try Yams.compose(yaml: yaml)
        } catch {
            throw CommandFailure("\(path) is not valid YAML: \(error)")
        }
        guard let node else { return }
        guard let mapping = node.mapping else { throw CommandFailure("\(path) must be a mapping of option names to values") }
        let known = Set(settings.map(\.name))
        let unknown = mapping.keys.compactMap(\.string).filter { !known.contains($0) }.sorted()
        if !unknown.isEmpty {
            throw CommandFailure(
                "\(path): no such option for `berth \(role.path.joined(separator: " "))`: \(unknown.joined(separator: ", "))"
            )
        }
    }

    /// The arguments for ArgumentParser: what was found, then the real arguments, so the
    /// command line has the last word.
    static func arguments(for found: [Found]) -> [String] {
        var arguments: [String] = []
        for entry in found {
            if entry.setting.takesValue {
                for value in entry.values { arguments += ["--\(entry.setting.name)", value] }
            } else if let value = entry.values.first, ["true", "yes", "on", "1"].contains(value.lowercased()) {
                arguments.append("--\(entry.setting.name)")
            }
        }
        return arguments
    }

    /// The process's arguments with the file's and the environment's settings inserted
    /// after the subcommand words (unchanged for commands that take no configuration).
    static func expand(_ arguments: [String], environment: [String: String]) async throws -> [String] {
        guard let (role, index) = role(in: arguments) else { return arguments }
        if arguments.contains("--help") || arguments.contains("-h") { return arguments }
        let sources = ConfigSources(role: role)
        let found = try await sources.read(
            path: configPath(in: arguments, environment: environment),
            environment: environment,
            unsetIn: arguments[index...]
        )
        return Array(arguments[..<index]) + Self.arguments(for: found) + Array(arguments[index...])
    }
}
