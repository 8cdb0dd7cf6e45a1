import Persistence
import WireProtocol

extension ControlPlane {
    /// Adds a version to an existing template from files in memory, cut into chunks of
    /// `chunkSize` bytes (dev mode's seed; an operator pushes through the gateway instead).
    @discardableResult
    public func addTemplateVersion(
        templateID: String,
        tag: String,
        description: String = "",
        files: [(path: String, data: [UInt8])],
        chunkSize: Int = 1 << 20
    ) async throws -> TemplateRecord {
        var request = CommitVersionRequest()
        request.templateID = templateID
        request.tag = tag
        request.description = description
        for file in files {
            var hashes: [ChunkHash] = []
            for start in stride(from: 0, to: file.data.count, by: chunkSize) {
                let chunk = Array(file.data[start..<min(file.data.count, start + chunkSize)])
                hashes.append(try await fleet.registry.content.put(chunk))
            }
            request.manifest.files.append(
                ManifestFile(path: file.path, size: file.data.count, chunkSize: chunkSize, chunks: hashes)
            )
        }
        return try await fleet.registry.commit(request)
    }
}
