import Foundation
import SwiftASN1
import X509

/// Small helpers to read and write PEM files.
enum PEMFile {
    static func readText(_ url: URL) throws -> String {
        do {
            return try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw TLSTransportError(.unreadableFile, "cannot read \(url.path): \(error.localizedDescription)")
        }
    }

    static func readCertificates(_ url: URL) throws -> [Certificate] {
        let text = try readText(url)
        let documents = try PEMDocument.parseMultiple(pemString: text)
        return try documents.map { try Certificate(pemDocument: $0) }
    }

    /// Writes a file readable by its owner only.
    static func writeSecret(_ text: String, to url: URL) throws {
        guard FileManager.default.createFile(atPath: url.path, contents: nil, attributes: [.posixPermissions: 0o600])
        else {
            throw TLSTransportError(.unreadableFile, "cannot create \(url.path)")
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path)
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: Data(text.utf8))
    }
}
