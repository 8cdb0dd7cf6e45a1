import Foundation
import NIOCore
import NIOPosix
import TLSTransport
import WireProtocol
import X509

/// The result of joining: the node's id, its identity (key + certificate chain) and the CA.
public struct EnrolledNode: Sendable {
    public var nodeID: String
    public var identity: TLSIdentity
    public var caCertificate: Certificate

    /// Writes `node.crt`, `node.key` (0600) and `ca.crt` into `directory`.
    public func write(to directory: URL) throws {
        try identity.write(to: directory, name: "node")
        try Data((try caCertificate.serializeAsPEM().pemString + "\n").utf8)
            .write(to: directory.appendingPathComponent("ca.crt"), options: .atomic)
    }

    /// Reads what ``write(to:)`` wrote.
    public static func read(from directory: URL) throws -> EnrolledNode {
        let identity = try TLSIdentity.read(from: directory, name: "node")
        let ca = try CertificateAuthority.readCertificate(from: directory.appendingPathComponent("ca.crt"))
        guard let peer = PeerIdentity(certificate: identity.leaf), peer.role == .node else {
            throw NodeAgentError(.enrollmentRefused, "node.crt in \(directory.path) is not a node certificate")
        }
        return EnrolledNode(nodeID: peer.id, identity: identity, caCertificate: ca)
    }
}

/// Joins a node to a control plane with a join token, as `kubeadm join` does.
///
/// The key is generated here and never sent. The control plane is trusted only if its
/// chain contains the CA matching `pin`; only then is the token sent.
public enum NodeEnrollment {
    public static func join(
        host: String,
        port: Int,
        token: String,
        pin: CAPin,
        nodeName: String,
        key: NodeKey = NodeKey(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> EnrolledNode {
        let csr = try key.makeCSR(nodeName: nodeName)
        let connection = try await FramedChannel.connect(
            host: host,
            port: port,
            configuration: TLSConfigurations.enrollmentClient(),
            pinnedCA: PinnedCAVerifier(pin: pin),
            group: group
        )
        let reply: Frame? = try await connection.executeThenClose { inbound, outbound in
            try await outbound.write(EnrollRequest(token: token, csrDER: csr, nodeName: nodeName).frame())
            var frames = inbound.makeAsyncIterator()
            return try await frames.next()
        }
        guard let reply else { throw NodeAgentError(.enrollmentRefused, "the control plane closed the connection") }
        switch reply.type {
        case .enrollResponse:
            let response = try EnrollResponse(payload: reply.payload)
            let leaf = try Certificate(derEncoded: response.certificateDER)
            let ca = try Certificate(derEncoded: response.caCertificateDER)
            guard pin.matches(ca) else {
                throw NodeAgentError(.enrollmentRefused, "the returned CA does not match pin \(pin)")
            }
            guard leaf.publicKey == key.privateKey.publicKey else {
                throw NodeAgentError(.enrollmentRefused, "the issued certificate is not for this node's key")
            }
            guard let identity = PeerIdentity(certificate: leaf), identity.role == .node, identity.id == response.nodeID
            else {
                throw NodeAgentError(.enrollmentRefused, "the issued certificate does not name node \(response.nodeID)")
            }
            return EnrolledNode(
                nodeID: response.nodeID,
                identity: TLSIdentity(certificateChain: [leaf, ca], privateKey: key.privateKey),
                caCertificate: ca
            )
        case .error:
            throw NodeAgentError(.enrollmentRefused, try ErrorFrame(payload: reply.payload).message)
        default:
            throw NodeAgentError(.protocolError, "unexpected \(reply.type) in answer to enrollment")
        }
    }
}
