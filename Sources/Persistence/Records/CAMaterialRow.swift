/// The row of `ca_material`: the CA that replicas on one database share, its key sealed
/// (AES-GCM under a key derived from a secret every replica is given; the sealing is
/// TLSTransport's `SealedCertificateAuthority`). There is one row at most, id 1.
public struct CAMaterialRow: Codable, Sendable, Equatable, SQLRecord {
    public static var tableName: String { "ca_material" }

    public var id: Int64 = 1
    public var certificatePem: String
    public var salt: [UInt8]
    /// AES-GCM's combined form: nonce, ciphertext and tag.
    public var sealedKey: [UInt8]
    public var createdAt: Int64

    public init(certificatePem: String, salt: [UInt8], sealedKey: [UInt8], createdAt: Int64) {
        self.certificatePem = certificatePem
        self.salt = salt
        self.sealedKey = sealedKey
        self.createdAt = createdAt
    }
}
