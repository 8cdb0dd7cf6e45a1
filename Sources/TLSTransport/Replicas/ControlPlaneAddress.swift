import Foundation

/// One control plane's address, as nodes and gateways dial it.
public struct ControlPlaneAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port` (`[v6]:port` for an IPv6 address); `nil` if it is not one.
    public init?(parsing text: some StringProtocol) {
        let text = String(text).trimmingCharacters(in: .whitespaces)
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (1...65535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, !host.contains(",") else { return nil }
        self.init(host: host, port: port)
    }

    /// Parses a comma-separated list (`h1:7420,h2:7420`); `nil` if any entry is not an
    /// address or the list is empty.
    public static func list(parsing text: String) -> [ControlPlaneAddress]? {
        let entries = text.split(separator: ",", omittingEmptySubsequences: false).map { ControlPlaneAddress(parsing: $0) }
        guard !entries.isEmpty, !entries.contains(where: { $0 == nil }) else { return nil }
        return entries.compactMap { $0 }
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
