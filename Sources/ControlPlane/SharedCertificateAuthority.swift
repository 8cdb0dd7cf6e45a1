import Foundation
import Persistence
import TLSTransport

/// The CA of control planes that share a PostgreSQL database: stored there once, its key
/// sealed under a secret every replica is given (``SealedCertificateAuthority``), so that a
/// node enrolled by one replica is trusted by every other, and none needs the others' files.
public enum SharedCertificateAuthority {
    /// The database's CA, opened with `secret`. A database without one takes the CA of
    /// `directory` (the first replica's `berth ca init`). A data directory holding another
    /// CA than the database's is refused: its nodes would not be trusted by the others.
    public static func resolve(
        database: BerthDatabase,
        directory: DataDirectory,
        secret: [UInt8]
    ) async throws -> CertificateAuthority {
        let local = directory.isInitialized ? try directory.loadAuthority() : nil
        let shared: CertificateAuthority
        if let stored = try await stored(in: database, secret: secret) {
            shared = stored
        } else {
            guard let local else {
                throw PersistenceError(
                    .notFound,
                    "the database holds no CA and \(directory.url.path) has none: run `berth ca init` with --database"
                )
            }
            let sealed = try SealedCertificateAuthority.seal(local, secret: secret)
            let winner = try await database.storeCAMaterial(
                CAMaterialRow(
                    certificatePem: sealed.certificatePEM,
                    salt: sealed.salt,
                    sealedKey: sealed.sealedKey,
                    createdAt: BerthDatabase.nowMicros()
                )
            )
            shared = try open(winner, secret: secret)
        }
        if let local, local.certificate != shared.certificate {
            throw PersistenceError(
                .conflict,
                "\(directory.url.path) holds CA \(local.pin), but the database's CA is \(shared.pin): "
                    + "a replica must use the database's CA (initialise an empty data directory with `berth ca init --database`)"
            )
        }
        return shared
    }

    /// The CA the database holds, opened with `secret`; `nil` if it holds none.
    public static func stored(in database: BerthDatabase, secret: [UInt8]) async throws -> CertificateAuthority? {
        guard let row = try await database.caMaterial() else { return nil }
        return try open(row, secret: secret)
    }

    static func open(_ row: CAMaterialRow, secret: [UInt8]) throws -> CertificateAuthority {
        try SealedCertificateAuthority(certificatePEM: row.certificatePem, salt: row.salt, sealedKey: row.sealedKey)
            .open(secret: secret)
    }
}
