import ArgumentParser
import Foundation

/// `berth config`: settings files.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check a settings file.",
        subcommands: [Check.self]
    )

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a YAML settings file for a command and print the effective settings, secrets redacted.",
            discussion: """
                The effective settings are the file's, under the BERTH_* environment variables of \
                this shell, as `berth <command> --config FILE` would run with them. Unknown keys, \
                values of the wrong type, missing required settings and unreadable secret files \
                are errors (exit 1).
                """
        )

        @Argument(help: "The YAML file.")
        var file: String

        @Option(name: .customLong("for"), help: "The command it is for: controlplane, gateway, node, node-join, dev.")
        var role: String

        func run() async throws {
            guard let role = ConfigSources.roles.first(where: { $0.name == self.role }) else {
                throw ValidationError(
                    "--for must be one of \(ConfigSources.roles.map(\.name).joined(separator: ", "))"
                )
            }
            let sources = ConfigSources(role: role)
            let found = try await sources.read(
                path: file,
                environment: ProcessInfo.processInfo.environment,
                unsetIn: []
            )
            do {
                // The command's own parsing and validation, as it would run.
                _ = try Berth.parseAsRoot(role.path + ConfigSources.arguments(for: found))
            } catch {
                throw CommandFailure("\(file) is not valid for `berth \(role.path.joined(separator: " "))`: \(Berth.message(for: error))")
            }
            let byName = Dictionary(found.map { ($0.setting.name, $0) }, uniquingKeysWith: { first, _ in first })
            var rows: [(String, String, String)] = []
            for setting in sources.settings {
                if let entry = byName[setting.name] {
                    let value = setting.isSecret ? "<redacted>" : entry.values.joined(separator: ", ")
                    rows.append((setting.name, value, entry.source.rawValue))
                } else if let value = setting.defaultValue {
                    rows.append((setting.name, value, "default"))
                } else {
                    rows.append((setting.name, setting.takesValue ? "-" : "false", "default"))
                }
            }
            let width = rows.map(\.0.count).max() ?? 0
            let valueWidth = min(48, rows.map(\.1.count).max() ?? 0)
            print("\(file) is valid for `berth \(role.path.joined(separator: " "))`. Effective settings:")
            for (name, value, source) in rows {
                print(
                    "  \(name.padding(toLength: width, withPad: " ", startingAt: 0))  "
                        + "\(value.padding(toLength: max(valueWidth, value.count), withPad: " ", startingAt: 0))  \(source)"
                )
            }
        }
    }
}
