import Foundation

/// Writes the SSH public keys an instance accepts, as OpenSSH reads them: the file
/// `authorized_keys` in the instance's directory, one key per line, readable by its owner
/// only (sshd refuses a file others may write).
enum AuthorizedKeys {
    static func install(_ keys: [String], in directory: URL) throws {
        guard !keys.isEmpty else { return }
        let file = directory.appendingPathComponent("authorized_keys")
        try Data((keys.joined(separator: "\n") + "\n").utf8).write(to: file, options: .atomic)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file.path)
    }
}
