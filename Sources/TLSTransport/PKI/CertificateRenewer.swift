import Foundation
import Logging
import WireProtocol
import X509

/// Keeps a client's certificate (a node's or a gateway's) renewed over its live connection.
///
/// At a random point between 62% and 71% of the certificate's lifetime it asks the control
/// plane, over the connection it already has, to certify the same key again; the jitter
/// spreads a fleet enrolled together over a tenth of the lifetime, so no renewal storm
/// follows a mass enrollment. The new certificate is checked (same key, same identity,
/// signed by the trusted CA), written over `<name>.crt` in one atomic rename (the key file
/// never changes), and handed to the client for its next connection. The connection in use
/// is not touched: TLS checks a certificate only in the handshake.
///
/// A failed attempt (no connection, no answer in 30 s, a refusal) is retried after a twentieth
/// of the remaining lifetime, between 1 s and 5 min, until it succeeds.
public actor CertificateRenewer {
    /// Sends a request on the current connection; `false` when there is none, or its server
    /// does not renew (its welcome lacks ``CertificateRenewal/capability``).
    public typealias Send = @Sendable (CertificateRenewal) async -> Bool

    public private(set) var identity: TLSIdentity
    let trustRoot: Certificate
    let expected: PeerIdentity
    let file: URL?
    let logger: Logger
    let answerTimeout: Duration
    private var waiter: (id: UInt64, continuation: CheckedContinuation<CertificateRenewed, any Error>)?
    private var nextWaiterID: UInt64 = 0

    /// - Parameters:
    ///   - directory: where `<name>.crt` is rewritten after each renewal; `nil` keeps it in memory.
    public init(
        identity: TLSIdentity,
        trustRoot: Certificate,
        directory: URL?,
        name: String,
        logger: Logger,
        answerTimeout: Duration = .seconds(30)
    ) throws {
        guard let expected = PeerIdentity(certificate: identity.leaf) else {
            throw TLSTransportError(.unreadableFile, "the certificate names no Berth identity")
        }
        self.identity = identity
        self.trustRoot = trustRoot
        self.expected = expected
        self.file = directory?.appendingPathComponent("\(name).crt")
        self.logger = logger
        self.answerTimeout = answerTimeout
    }

    /// When the renewal of `certificate` is due: `fraction` of the way through its lifetime.
    public static func due(_ certificate: Certificate, fraction: Double) -> Date {
        let start = certificate.notValidBefore
        return start.addingTimeInterval(certificate.notValidAfter.timeIntervalSince(start) * fraction)
    }

    /// The delay before retrying after a failed attempt: a twentieth of what is left, 1 s to 5 min.
    static func retryDelay(for certificate: Certificate, now: Date) -> Duration {
        let left = certificate.notValidAfter.timeIntervalSince(now)
        return .milliseconds(Int64(min(300, max(1, left / 20)) * 1000))
    }

    /// Renews until cancelled; `renewed` receives each new identity.
    public func run(send: @escaping Send, renewed: @escaping @Sendable (TLSIdentity) async -> Void) async {
        while !Task.isCancelled {
            let due = Self.due(identity.leaf, fraction: Double.random(in: 0.62...0.71))
            let wait = due.timeIntervalSinceNow
            do {
                if wait > 0 { try await Task.sleep(for: .milliseconds(Int64(wait * 1000))) }
            } catch { return }
            while !Task.isCancelled {
                do {
                    let fresh = try await renewOnce(send: send)
                    identity = fresh
                    await renewed(fresh)
                    logger.info(
                        "certificate renewed",
                        metadata: [
                            "identity": "\(expected)", "serial": "\(fresh.leaf.serialHex)",
                            "expires": "\(fresh.leaf.notValidAfter.formatted(.iso8601))",
                        ]
                    )
                    break
                } catch is CancellationError {
                    return
                } catch {
                    let expired = identity.leaf.notValidAfter < Date()
                    logger.log(
                        level: expired ? .error : .warning,
                        expired
                            ? "certificate expired and could not be renewed; the next connection will be refused"
                            : "certificate renewal failed; retrying",
                        metadata: ["identity": "\(expected)", "error": "\(error)"]
                    )
                    do { try await Task.sleep(for: Self.retryDelay(for: identity.leaf, now: Date())) } catch { return }
                }
            }
        }
    }

    /// An answer the connection received.
    public func received(_ answer: CertificateRenewed) {
        waiter?.continuation.resume(returning: answer)
        waiter = nil
    }

    /// The connection dropped: a request waiting for its answer fails (and is retried).
    public func connectionLost() {
        fail(TLSTransportError(.peerSilent, "the connection closed before the renewal was answered"))
    }

    private func fail(_ error: any Error, waiter id: UInt64? = nil) {
        guard let waiter, id == nil || waiter.id == id else { return }
        self.waiter = nil
        waiter.continuation.resume(throwing: error)
    }

    private func renewOnce(send: @escaping Send) async throws -> TLSIdentity {
        let csr = try NodeKey(privateKey: identity.privateKey).makeCSR(nodeName: expected.id)
        let answer = try await ask(CertificateRenewal(csrDER: csr), send: send)
        guard answer.error.isEmpty else {
            throw TLSTransportError(.refusedByPeer, "the control plane refused: \(answer.error)")
        }
        let leaf = try Certificate(derEncoded: answer.certificateDER)
        let ca = try Certificate(derEncoded: answer.caCertificateDER)
        guard ca == trustRoot, trustRoot.publicKey.isValidSignature(leaf.signature, for: leaf) else {
            throw TLSTransportError(.refusedByPeer, "the renewed certificate is not signed by the trusted CA")
        }
        guard leaf.publicKey == identity.privateKey.publicKey else {
            throw TLSTransportError(.refusedByPeer, "the renewed certificate is not for this key")
        }
        guard PeerIdentity(certificate: leaf) == expected else {
            throw TLSTransportError(.refusedByPeer, "the renewed certificate does not name \(expected)")
        }
        let fresh = TLSIdentity(certificateChain: [leaf, ca], privateKey: identity.privateKey)
        if let file {
            let chainPEM = try fresh.certificateChain.map { try $0.serializeAsPEM().pemString }.joined(separator: "\n")
            try Data((chainPEM + "\n").utf8).write(to: file, options: .atomic)
        }
        return fresh
    }

    private func ask(_ request: CertificateRenewal, send: @escaping Send) async throws -> CertificateRenewed {
        fail(CancellationError())
        nextWaiterID += 1
        let id = nextWaiterID
        let timeout = answerTimeout
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                waiter = (id, continuation)
                Task {
                    if await !send(request) {
                        self.fail(TLSTransportError(.peerSilent, "not connected to a control plane that renews"), waiter: id)
                        return
                    }
                    try? await Task.sleep(for: timeout)
                    self.fail(TLSTransportError(.peerSilent, "no answer within \(timeout)"), waiter: id)
                }
            }
        } onCancel: {
            Task { await self.fail(CancellationError(), waiter: id) }
        }
    }
}
