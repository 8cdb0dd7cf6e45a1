import ArgumentParser
import Foundation
import Yams

/// Where the client commands (`berth vm`, `node`, `group`, `key`, `template`, `events`) find
/// the gateway and their credential: flags, then `BERTH_ADDR`/`BERTH_TOKEN`/`BERTH_CACERT`,
/// then a profile of the client file (`--profile`, `BERTH_PROFILE`, else its `default`).
///
/// The client file is `$BERTH_CLIENT_CONFIG`, else `~/.config/berth/client.yaml`:
/// ```yaml
/// default: prod
/// profiles:
///   prod: {addr: "https://gw1.example.com:8443", token-file: /home/me/.berth/token, cacert: /home/me/.berth/ca.pem}
///   dev: {addr: "http://127.0.0.1:8090", token: dev-root-token}
/// ```
struct GatewayOptions: ParsableArguments {
    @Option(help: "The gateway's URL (default: $BERTH_ADDR, a profile's addr, else http://127.0.0.1:8090).")
    var addr: String?

    @Option(help: "Root token, or an access token (bat1.…) (default: $BERTH_TOKEN, or the profile's).")
    var token: String?

    @Option(help: "CA certificate (PEM) of the gateway's HTTPS certificate (default: $BERTH_CACERT, or the profile's).")
    var cacert: String?

    @Option(help: "Profile of the client file to use (default: $BERTH_PROFILE, else the file's `default`).")
    var profile: String?

    @Flag(help: "Print the API's JSON instead of a table.")
    var json = false

    /// The effective address, credential and CA, by the order above.
    func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> GatewayTarget {
        let profile = try Self.profile(named: profile ?? environment["BERTH_PROFILE"], environment: environment)
        var token = token ?? environment["BERTH_TOKEN"] ?? profile["token"]
        if token == nil, let file = profile["token-file"] {
            token = try SecretFile.read(file, option: "token-file")
        }
        return GatewayTarget(
            address: (addr ?? environment["BERTH_ADDR"] ?? profile["addr"] ?? "http://127.0.0.1:8090"),
            token: token,
            caCertificate: cacert ?? environment["BERTH_CACERT"] ?? profile["cacert"]
        )
    }

    /// The named profile (or the file's default) as key → value; empty without a file.
    static func profile(named name: String?, environment: [String: String]) throws -> [String: String] {
        let path =
            environment["BERTH_CLIENT_CONFIG"]
            ?? (environment["HOME"].map { "\($0)/.config/berth/client.yaml" } ?? "")
        guard !path.isEmpty, FileManager.default.fileExists(atPath: path) else {
            if let name { throw CommandFailure("profile \(name): no client file (\(path.isEmpty ? "set BERTH_CLIENT_CONFIG" : path))") }
            return [:]
        }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        guard let root = try Yams.load(yaml: text) as? [String: Any] else {
            throw CommandFailure("\(path): expected a mapping with `profiles`")
        }
        let profiles = root["profiles"] as? [String: Any] ?? [:]
        guard let chosen = name ?? root["default"] as? String else { return [:] }
        guard let entry = profiles[chosen] as? [String: Any] else {
            throw CommandFailure("\(path): no profile \(chosen) (have: \(profiles.keys.sorted().joined(separator: ", ")))")
        }
        let known: Set<String> = ["addr", "token", "token-file", "cacert"]
        if let unknown = entry.keys.first(where: { !known.contains($0) }) {
            throw CommandFailure("\(path): profile \(chosen) has an unknown key \(unknown) (known: \(known.sorted().joined(separator: ", ")))")
        }
        return entry.compactMapValues { "\($0)" }
    }
}

/// A resolved gateway address and credential.
struct GatewayTarget: Sendable {
    var address: String
    var token: String?
    var caCertificate: String?
}
