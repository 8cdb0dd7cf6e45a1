import Foundation
import WireProtocol

#if canImport(Glibc)
import Glibc
#endif

/// An instance's log file on the node: appended to by the agent (and by the driver's VM
/// process), read in slices for the control plane.
enum InstanceLogFile {
    static let maximumChunk = 1 << 20

    /// Appends `text` with a UTC timestamp, creating the file if needed.
    static func append(_ url: URL, _ text: String) {
        let stamp = ISO8601DateFormatter().string(from: Date())
        let line =
            text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { "\(stamp) \($0)" }
            .joined(separator: "\n") + "\n"
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        // O_APPEND, so lines from the agent and a VM process never overwrite each other.
        let fd = open(url.path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array(line.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// The bytes from `offset` (negative: from the end), at most `limit`.
    static func read(_ url: URL, requestID: UInt64, offset: Int, limit: Int) -> LogChunk {
        guard let handle = try? FileHandle(forReadingFrom: url) else {
            return LogChunk(requestID: requestID, error: "no log for this instance on the node")
        }
        defer { try? handle.close() }
        let total = Int((try? handle.seekToEnd()) ?? 0)
        let start = offset < 0 ? max(0, total + offset) : min(offset, total)
        let count = min(limit <= 0 ? maximumChunk : min(limit, maximumChunk), total - start)
        try? handle.seek(toOffset: UInt64(start))
        let data: Data? = count > 0 ? (try? handle.read(upToCount: count)) ?? nil : nil
        return LogChunk(requestID: requestID, offset: start, totalSize: total, data: Array(data ?? Data()))
    }
}
