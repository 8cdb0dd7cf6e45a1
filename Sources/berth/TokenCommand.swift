import ArgumentParser
import ControlPlane
import Foundation
import Logging

/// `berth token`: join tokens for node enrollment.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Manage node join tokens.",
        subcommands: [Create.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Mint a short-lived, single-use join token.")

        @Option(help: "Control plane data directory.")
        var dataDir: String

        @Option(help: "Lifetime in seconds.")
        var ttl = 3600.0

        @Option(help: "Address nodes use to reach the control plane, for the printed join command.")
        var server = "127.0.0.1:7420"

        @Option(help: "A note stored with the token.")
        var description = ""

        func run() async throws {
            let directory = DataDirectory(URL(directoryPath: dataDir))
            let authority = try directory.loadAuthority()
            let enrollment = EnrollmentService(
                database: try directory.openDatabase(),
                authority: authority,
                certificateValidity: ControlPlaneConfiguration().nodeCertificateValidity,
                logger: Logger(label: "berth.token")
            )
            let token = try await enrollment.createToken(ttl: ttl, description: description)
            print("token:   \(token)")
            print("ca-hash: \(authority.pin)")
            print("expires: in \(Int(ttl))s, single use")
            print("")
            print(
                "BERTH_JOIN_TOKEN=\(token) berth node join --server \(server) --ca-hash \(authority.pin) --data-dir <node dir>"
            )
        }
    }
}
