import ArgumentParser
import Foundation

/// `berth key`: UAK/TAP API keys through the REST API.
struct KeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Work with API keys (UAK/TAP) through a gateway.",
        subcommands: [Create.self, List.self, Delete.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a key. Its private key (PKCS#1 DER, base64) is shown once: --out writes it to a file (0600)."
        )
        @Argument(help: "The key's id.") var id: String
        @Option(help: "Lifetime in seconds.") var ttl = 86_400 * 365
        @Option(help: "Permission group (repeatable).") var group: [String] = []
        @Option(help: "File to write the private key to, instead of printing it.") var out: String?
        @OptionGroup var gateway: GatewayOptions

        func run() async throws {
            try await APIClient.with(gateway) { api in
                let created = try await api.call(.POST, "/api/v1/apikey", body: ["id": id, "ttl": ttl, "groups": group])
                let privateKey = created.body as? String ?? ""
                if let out {
                    guard FileManager.default.createFile(atPath: out, contents: Data(privateKey.utf8), attributes: [.posixPermissions: 0o600])
                    else { throw CommandFailure("cannot write \(out)") }
                }
                if gateway.json { return ClientOutput.printJSON(["id": id, "private_key": out == nil ? privateKey : ""]) }
                print(out == nil ? privateKey : "key \(id) created; private key in \(out!)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys.")
        @OptionGroup var gateway: GatewayOptions

        func run() async throws {
            try await APIClient.with(gateway) { api in
                let keys = try await api.call(.GET, "/api/v1/apikey").body as? [[String: Any]] ?? []
                if gateway.json { return ClientOutput.printJSON(keys) }
                ClientOutput.printTable(
                    ["KEY", "GROUPS", "EXPIRES", "CREATED"],
                    keys.map { key in
                        [
                            ClientOutput.string(key["id"]), (key["groups"] as? [String] ?? []).joined(separator: ","),
                            ClientOutput.string(key["expiration"]), ClientOutput.string(key["created"]),
                        ]
                    }
                )
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a key; its sessions end.")
        @Argument(help: "The key's id.") var id: String
        @OptionGroup var gateway: GatewayOptions

        func run() async throws {
            try await APIClient.with(gateway) { api in
                _ = try await api.call(.DELETE, "/api/v1/apikey", body: ["id": id])
                if gateway.json { ClientOutput.printJSON(["id": id]) } else { print("key \(id) deleted") }
            }
        }
    }
}
