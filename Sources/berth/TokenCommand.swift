import ArgumentParser
import ControlPlane
import Foundation
import Logging
import WireProtocol

/// `berth token`: join tokens for node enrollment, through a gateway (`/berth/v1/tokens`),
/// or with `--data-dir` straight on the control plane's database, on its host.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Manage node join tokens (through a gateway, or --data-dir on the control plane's host).",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    /// `--data-dir`: work on the control plane's files instead of through a gateway.
    struct LocalOptions: ParsableArguments {
        @Option(help: "Control plane data directory: work on its database directly instead of through a gateway.")
        var dataDir: String?

        @OptionGroup var database: DatabaseOption

        /// The control plane's enrollment service over its database, when `--data-dir` is given.
        func enrollment() async throws -> EnrollmentService? {
            guard let dataDir else { return nil }
            let directory = DataDirectory(URL(directoryPath: dataDir))
            return EnrollmentService(
                database: try await database.open(directory),
                authority: try directory.loadAuthority(),
                certificateValidity: ControlPlaneConfiguration().nodeCertificateValidity,
                logger: Logger(label: "berth.token")
            )
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Mint short-lived, single-use join tokens, and print the join command."
        )

        @Option(help: "Lifetime in seconds (60 to 2592000, 30 days).")
        var ttl = 3600

        @Option(help: "How many tokens (1 to 1000), one per host.")
        var count = 1

        @Option(help: "A note stored with the tokens, such as the hosts they are for.")
        var description = ""

        @Option(help: "Address nodes use to reach the control plane, for the printed join command.")
        var server: String?

        @OptionGroup var local: LocalOptions
        @OptionGroup var gateway: GatewayOptions

        func run() async throws {
            let created: (tokens: [String], expires: String, caHash: String)
            if let enrollment = try await local.enrollment() {
                let answer = try await Self.failing {
                    try await enrollment.createTokens(
                        JoinTokenCreateRequest(count: count, ttlSeconds: ttl, description: description),
                        by: "cli"
                    )
                }
                created = (answer.tokens, TokenCommand.timestamp(micros: answer.expiresMicros), answer.caPin)
            } else {
                created = try await APIClient.with(gateway) { api in
                    let body = try await api.call(
                        .POST,
                        "/berth/v1/tokens",
                        body: ["ttl": ttl, "count": count, "description": description]
                    ).body as? [String: Any] ?? [:]
                    let tokens = (body["tokens"] as? [[String: Any]] ?? []).map { ClientOutput.string($0["token"]) }
                    return (tokens, ClientOutput.string(body["expires"]), ClientOutput.string(body["ca_hash"]))
                }
            }
            if gateway.json {
                return ClientOutput.printJSON([
                    "tokens": created.tokens.map { ["id": String($0.prefix { $0 != "." }), "token": $0] },
                    "expires": created.expires, "ca_hash": created.caHash,
                ])
            }
            for token in created.tokens { print("token:   \(token)") }
            print("ca-hash: \(created.caHash)")
            print("expires: \(created.expires) (in \(ttl)s), single use")
            print("")
            let address = server ?? (local.dataDir == nil ? "<control-plane-host>:7420" : "127.0.0.1:7420")
            let token = created.tokens.count == 1 ? created.tokens[0] : "<one token per host>"
            print(
                "BERTH_JOIN_TOKEN=\(token) berth node join --server \(address) --ca-hash \(created.caHash) --data-dir <node dir>"
            )
        }

        /// Runs a local change, turning the control plane's refusal into the command's error.
        static func failing<T>(_ body: () async throws -> T) async throws -> T {
            do { return try await body() } catch let error as ControlPlaneError {
                throw CommandFailure(error.message)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List join tokens, newest first (never a secret).")

        @Option(help: "Only tokens in this state: usable, used, expired or revoked.")
        var state: String?

        @OptionGroup var local: LocalOptions
        @OptionGroup var gateway: GatewayOptions

        func run() async throws {
            var tokens: [[String: Any]]
            if let enrollment = try await local.enrollment() {
                tokens = try await enrollment.listTokens().map(TokenCommand.fields)
                if let state { tokens = tokens.filter { $0["state"] as? String == state } }
            } else {
                tokens = try await APIClient.with(gateway) { api in
                    let query = state.map { "?state=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }
                    return try await api.call(.GET, "/berth/v1/tokens" + (query ?? "")).body as? [[String: Any]] ?? []
                }
            }
            if gateway.json { return ClientOutput.printJSON(tokens) }
            ClientOutput.printTable(
                ["ID", "STATE", "EXPIRES", "USED BY", "CREATED BY", "DESCRIPTION"],
                tokens.map { token in
                    ["id", "state", "expires", "used_by", "created_by", "description"].map {
                        ClientOutput.string(token[$0])
                    }
                }
            )
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke an unused join token, so that it can no longer enroll a node."
        )

        @Argument(help: "The token's id (the part before the dot), or the whole token.")
        var id: String

        @OptionGroup var local: LocalOptions
        @OptionGroup var gateway: GatewayOptions

        func run() async throws {
            let tokenID = JoinToken.id(of: id)
            let revoked: [String: Any]
            if let enrollment = try await local.enrollment() {
                revoked = TokenCommand.fields(try await Create.failing { try await enrollment.revokeToken(id: tokenID, by: "cli") })
            } else {
                revoked = try await APIClient.with(gateway) { api in
                    try await api.call(.DELETE, "/berth/v1/tokens", body: ["id": tokenID]).body as? [String: Any] ?? [:]
                }
            }
            if gateway.json { return ClientOutput.printJSON(revoked) }
            print("join token \(tokenID): \(ClientOutput.string(revoked["state"]))")
        }
    }

    /// A token as `GET /berth/v1/tokens` lists it.
    static func fields(_ record: JoinTokenRecord) -> [String: Any] {
        var fields: [String: Any] = [
            "id": record.id, "description": record.description, "state": record.state,
            "created_by": record.createdBy, "created": timestamp(micros: record.createdMicros),
            "expires": timestamp(micros: record.expiresMicros),
        ]
        if record.usedMicros != 0 { fields["used_at"] = timestamp(micros: record.usedMicros) }
        if !record.usedBy.isEmpty { fields["used_by"] = record.usedBy }
        if record.revokedMicros != 0 { fields["revoked_at"] = timestamp(micros: record.revokedMicros) }
        return fields
    }

    static func timestamp(micros: Int) -> String {
        Date(timeIntervalSince1970: Double(micros) / 1_000_000).formatted(.iso8601)
    }
}
