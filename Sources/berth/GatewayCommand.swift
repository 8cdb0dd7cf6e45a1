import ArgumentParser
import Foundation
import Logging
import RESTGateway
import TLSTransport

/// `berth gateway`: the stateless REST front door.
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Run a REST gateway in front of a control plane."
    )

    @Option(help: "Control plane address, host:port; several replicas as host:port,host:port (tried in turn).")
    var controlPlane: ControlPlaneList

    @Option(help: "Directory with gateway.crt, gateway.key and ca.crt (`berth ca issue-gateway`).")
    var certDir: String

    @Option(help: "HTTP listen address.")
    var host = "127.0.0.1"

    @Option(help: "HTTP port.")
    var httpPort = 8090

    @Option(help: "Root token; turns authentication on.")
    var rootToken: String?

    @Option(help: "File holding the root token (keeps it off the command line; or set BERTH_ROOT_TOKEN).")
    var rootTokenFile: String?

    @Option(help: "PEM certificate chain for HTTPS (HTTP/1.1 and HTTP/2 by ALPN).")
    var tlsCert: String?

    @Option(help: "PEM private key of --tls-cert.")
    var tlsKey: String?

    @Flag(help: "Refuse TLS 1.2 on HTTPS (by default TLS 1.2 is offered with AEAD suites only).")
    var tls13Only = false

    @Option(help: "PEM CA whose client certificates authenticate callers (CN user; OU, else O, groups).")
    var clientCa: String?

    @OptionGroup var oidc: OIDCOptions

    @Option(help: "MiB of `GET /api/v1/vm` entries kept as JSON between polls (0: none).")
    var listCacheMib = 64

    @Option(help: "Log level.")
    var logLevel = "info"

    @OptionGroup var logFormatOption: LogFormatOption

    @OptionGroup var configFile: ConfigFileOption

    func validate() throws {
        if let rootToken = try SecretFile.resolve(rootToken, file: rootTokenFile, option: "root-token"), rootToken.count < 10 {
            throw ValidationError("--root-token must be at least 10 characters")
        }
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
        if clientCa != nil && tlsCert == nil {
            throw ValidationError("--client-ca needs HTTPS (--tls-cert, --tls-key)")
        }
    }

    func run() async throws {
        LogSetup.bootstrap(Logger.Level(rawValue: logLevel) ?? .info, format: logFormatOption.logFormat)
        // Every session holds a descriptor: take the hard limit, not the default 1,024.
        ProcessLimits.raiseOpenFileLimit()
        let directory = URL(directoryPath: certDir)
        let identity = try TLSIdentity.read(from: directory, name: "gateway")
        let trustRoot = try CertificateAuthority.readCertificate(from: directory.appendingPathComponent("ca.crt"))
        var clientConfiguration = ControlPlaneClient.Configuration(
            host: controlPlane.first.host,
            port: controlPlane.first.port,
            identity: identity,
            trustRoot: trustRoot
        )
        clientConfiguration.otherControlPlanes = controlPlane.others
        // Renewed certificates are written back over gateway.crt (the key stays).
        clientConfiguration.certificateDirectory = directory
        let client = ControlPlaneClient(configuration: clientConfiguration)
        var configuration = GatewayConfiguration()
        configuration.host = host
        configuration.port = httpPort
        configuration.rootToken = try SecretFile.resolve(rootToken, file: rootTokenFile, option: "root-token")
        configuration.listCacheBytes = max(0, listCacheMib) << 20
        configuration.oidc = oidc.configuration
        if let tlsCert, let tlsKey {
            configuration.tls = try GatewayTLS.load(
                certificatePath: tlsCert,
                keyPath: tlsKey,
                clientCAPath: clientCa,
                tls13Only: tls13Only
            )
        }
        let scheme = configuration.tls == nil ? "http" : "https"
        let gateway = Gateway(configuration: configuration, client: client)
        try await RunService.run(label: "berth.gateway") {
            try await gateway.run { port in
                Logger(label: "berth.gateway").info("REST API listening on \(scheme)://\(host):\(port)")
            }
        }
    }
}
