import ArgumentParser
import ControlPlane
import Foundation
import Persistence
import TLSTransport
import X509

/// `berth ca`: the control plane's certificate authority.
struct CACommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ca",
        abstract: "Manage the control plane's certificate authority.",
        subcommands: [Init.self, IssueGateway.self, Revoke.self, Status.self]
    )

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the CA (ECDSA P-256) and the control plane's server certificate."
        )

        @Option(help: "Control plane data directory.")
        var dataDir: String

        @OptionGroup var database: DatabaseOption

        @Option(help: "Extra DNS name or IP address of the control plane (repeatable).")
        var host: [String] = []

        func run() async throws {
            let directory = DataDirectory(URL(directoryPath: dataDir))
            guard database.location != nil else {
                let authority = try directory.initialize(hosts: host)
                _ = try await database.open(directory)
                print("CA created in \(directory.pkiDirectory.path)")
                print("CA hash: \(authority.pin)")
                return
            }
            guard let secret = try database.caKeySecret() else { return }
            let opened = try await database.open(directory)
            // A replica joins the CA its database holds; the first one makes it and stores it.
            if let shared = try await SharedCertificateAuthority.stored(in: opened, secret: secret) {
                try directory.initialize(hosts: host, authority: shared)
                print("CA of the database written to \(directory.pkiDirectory.path), with this replica's server certificate")
                print("CA hash: \(shared.pin)")
                return
            }
            let authority = try directory.initialize(hosts: host)
            _ = try await SharedCertificateAuthority.resolve(database: opened, directory: directory, secret: secret)
            print("CA created in \(directory.pkiDirectory.path) and stored in the database, its key sealed")
            print("CA hash: \(authority.pin)")
        }
    }

    struct IssueGateway: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "issue-gateway",
            abstract: "Issue a gateway client certificate (gateway.crt, gateway.key, ca.crt) into a directory."
        )

        @Option(help: "Control plane data directory.")
        var dataDir: String

        @OptionGroup var database: DatabaseOption

        @Option(help: "Gateway name, recorded in its certificate.")
        var name: String

        @Option(help: "Directory to write the gateway's files to.")
        var out: String

        @Option(help: "Validity in days.")
        var days = 365

        func run() async throws {
            let directory = DataDirectory(URL(directoryPath: dataDir))
            let authority = try directory.loadAuthority()
            let database = try await self.database.open(directory)
            let identity = try await ControlPlane.issueGatewayIdentity(
                name: name,
                authority: authority,
                database: database,
                validity: Double(days) * 86_400
            )
            let outDirectory = URL(directoryPath: out)
            try identity.write(to: outDirectory, name: "gateway")
            try Data((try authority.certificate.serializeAsPEM().pemString + "\n").utf8)
                .write(to: outDirectory.appendingPathComponent("ca.crt"))
            print("gateway certificate for \(name) written to \(outDirectory.path)")
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a certificate by serial, or every certificate of a gateway.",
            discussion: """
                The revocation is written to the control plane's database. A running control \
                plane reads it within its revocation poll interval (2 s by default), closes \
                the peer's connection and refuses its next call and handshake.
                """
        )

        @Option(help: "Control plane data directory.")
        var dataDir: String

        @OptionGroup var database: DatabaseOption

        @Option(help: "Serial number (hex) of the certificate to revoke.")
        var serial: String?

        @Option(help: "Gateway name: revokes every certificate issued to it.")
        var gateway: String?

        @Option(help: "Why, recorded with the revocation and in the event log.")
        var reason = "revoked by an operator"

        func validate() throws {
            guard (serial == nil) != (gateway == nil) else {
                throw ValidationError("give exactly one of --serial or --gateway")
            }
        }

        func run() async throws {
            let database = try await self.database.open(DataDirectory(URL(directoryPath: dataDir)))
            let revoked = try await database.revokeCertificates(
                serial: serial?.lowercased().replacingOccurrences(of: ":", with: ""),
                role: gateway == nil ? nil : "gateway",
                subjectID: gateway,
                reason: reason,
                now: BerthDatabase.nowMicros()
            )
            guard !revoked.isEmpty else {
                throw ValidationError(
                    "no unrevoked certificate matches \(serial.map { "serial \($0)" } ?? "gateway \(gateway ?? "")")"
                )
            }
            for row in revoked { print("revoked \(row.role) certificate \(row.serial) (\(row.subjectId))") }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the CA's and the certificates' expiry; warn 90 days ahead.",
            discussion: "Exits 1 when the CA or the control plane's certificate expires within 90 days (or has)."
        )

        @Option(help: "Control plane data directory.")
        var dataDir: String

        @OptionGroup var database: DatabaseOption

        func run() async throws {
            let directory = DataDirectory(URL(directoryPath: dataDir))
            guard directory.isInitialized else { throw CommandFailure("\(directory.url.path) has no CA") }
            let authority = try directory.loadAuthority()
            let server = try directory.loadServerIdentity().leaf
            let now = Date()
            func line(_ name: String, _ notAfter: Date) -> (String, Bool) {
                let days = Int(notAfter.timeIntervalSince(now) / 86_400)
                let soon = days < CertificateLifetimes.expiryWarningDays
                let when = notAfter.formatted(.iso8601)
                return ("\(name.padding(toLength: 22, withPad: " ", startingAt: 0)) expires \(when) (\(days) days)"
                    + (soon ? "  WARNING: under \(CertificateLifetimes.expiryWarningDays) days" : ""), soon)
            }
            print("CA hash: \(authority.pin)")
            print("subject: \(authority.certificate.subject)")
            let (caLine, caSoon) = line("CA", authority.certificate.notValidAfter)
            let (serverLine, serverSoon) = line("control plane server", server.notValidAfter)
            print(caLine)
            print(serverLine)
            let database = try await self.database.open(directory)
            for entry in try await database.certificatesInForce(now: BerthDatabase.nowMicros()) {
                let soonest = Date(timeIntervalSince1970: Double(entry.soonestExpiry) / 1_000_000)
                print(line("\(entry.count) \(entry.role)\(entry.count == 1 ? "" : "s")", soonest).0.replacingOccurrences(of: "expires", with: "soonest expires"))
            }
            if caSoon || serverSoon { throw ExitCode(1) }
        }
    }
}
