import X509

/// Who a certificate speaks for: its role and id, carried as a SAN URI
/// `berth://<role>/<id>` (and mirrored in the subject as `OU=<role>`, `CN=<id>`).
///
/// The control plane decides what a connection may do from this identity alone: a
/// node certificate can never act as a gateway, nor one node as another.
public struct PeerIdentity: Hashable, Sendable, CustomStringConvertible {
    public enum Role: String, Sendable {
        case node
        case gateway
        case controlPlane = "controlplane"
    }

    public var role: Role
    public var id: String

    public init(role: Role, id: String) {
        self.role = role
        self.id = id
    }

    public var uri: String { "berth://\(role.rawValue)/\(id)" }
    public var description: String { uri }

    /// Parses a `berth://<role>/<id>` URI.
    public init?(uri: String) {
        guard uri.hasPrefix("berth://") else { return nil }
        let rest = uri.dropFirst("berth://".count)
        guard let slash = rest.firstIndex(of: "/"),
            let role = Role(rawValue: String(rest[..<slash]))
        else { return nil }
        let id = String(rest[rest.index(after: slash)...])
        guard !id.isEmpty, !id.contains("/") else { return nil }
        self.init(role: role, id: id)
    }

    /// The identity named by a certificate's SAN URI, if it has exactly one Berth URI.
    public init?(certificate: Certificate) {
        guard let sans = try? certificate.extensions.subjectAlternativeNames else { return nil }
        let identities = sans.compactMap { name -> PeerIdentity? in
            if case .uniformResourceIdentifier(let uri) = name { return PeerIdentity(uri: uri) }
            return nil
        }
        guard identities.count == 1 else { return nil }
        self = identities[0]
    }
}
