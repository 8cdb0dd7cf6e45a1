import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// `berth vm`: instances, through a gateway's REST API.
struct VMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vm",
        abstract: "Work with VM instances through a gateway.",
        subcommands: [Start.self, List.self, Show.self, Wait.self, Terminate.self, Restart.self, PortForward.self]
    )

    /// `berth vm port-forward <instance> [<local>:]<guest>`.
    struct PortForward: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "port-forward",
            abstract: "Reach a port of an instance through the gateway and control plane.",
            discussion: """
                Listens on 127.0.0.1:<local> (0 or omitted: a free port, printed) and carries each \
                connection to <guest> on the instance, whatever network its node sits in. With \
                --stdio, one connection is stdin and stdout instead, for ssh's ProxyCommand:
                  ssh -o ProxyCommand='berth vm port-forward --stdio %h 22' admin@<instance-id>
                The credential is the root token, or an access token (bat1.…) from \
                POST /berth/v1/vm/access-token.
                """
        )

        @Argument(help: "The instance's id.")
        var instance: String

        @Argument(help: "[<local port>:]<guest port>, as 2222:22.")
        var ports: String

        @Option(help: "The gateway's URL (default: $BERTH_ADDR, else http://127.0.0.1:8090).")
        var gateway: String?

        @Option(help: "Root token or access token (default: $BERTH_TOKEN).")
        var token: String?

        @Option(help: "CA certificate (PEM) the gateway's HTTPS certificate chains to (default: $BERTH_CACERT).")
        var cacert: String?

        @Flag(help: "Carry one connection on stdin and stdout instead of listening.")
        var stdio = false

        func validate() throws {
            guard (try? Self.parse(ports)) != nil else {
                throw ValidationError("ports must be [<local>:]<guest>, each 0-65535 (guest 1-65535)")
            }
        }

        /// `(local, guest)` from `2222:22`, `:22` or `22` (local 0: any free port).
        static func parse(_ text: String) throws -> (local: Int, guest: Int) {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count <= 2, let guest = Int(parts.last ?? ""), (1...65_535).contains(guest) else {
                throw ValidationError("bad port")
            }
            let local = parts.count == 2 && !parts[0].isEmpty ? Int(parts[0]) : 0
            guard let local, (0...65_535).contains(local) else { throw ValidationError("bad port") }
            return (local, guest)
        }

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            let (local, guest) = try Self.parse(ports)
            var configuration = HTTPClient.Configuration()
            if let path = cacert ?? environment["BERTH_CACERT"] {
                var tls = TLSConfiguration.makeClientConfiguration()
                tls.trustRoots = .file(path)
                configuration.tlsConfiguration = tls
            }
            let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            let forwarder = PortForwarder(
                gateway: gateway ?? environment["BERTH_ADDR"] ?? "http://127.0.0.1:8090",
                authorization: PortForwarder.authorization(token ?? environment["BERTH_TOKEN"]),
                instance: instance,
                guestPort: guest,
                http: http
            )
            do {
                if stdio {
                    try await forwarder.runOnStandardStreams()
                } else {
                    try await forwarder.run(localPort: local) { port in
                        FileHandle.standardError.write(
                            Data("forwarding 127.0.0.1:\(port) -> \(instance):\(guest)\n".utf8)
                        )
                    }
                }
            } catch {
                try? await http.shutdown()
                throw error
            }
            try? await http.shutdown()
        }
    }
}
