import Crypto
import Foundation
import Hummingbird
import TarFormat
import WireProtocol

/// `POST|PUT /berth/v1/registry/push`: adds a template version from a tar stream.
///
/// The body is read as it arrives; each file is cut into chunks, and only the chunks the
/// registry lacks are sent to the control plane. The version is committed once every
/// chunk is stored, so an interrupted upload adds nothing (its stray chunks are
/// collected later). See `docs/registry.md`.
struct TemplatePushRoutes {
    let client: ControlPlaneClient

    static let defaultChunkSize = 1 << 20

    func register(on router: Router<GatewayContext>) {
        for method in [HTTPRequest.Method.post, .put] {
            router.on("/berth/v1/registry/push", method: method) { request, context -> Response in
                try await push(request, principal: context.principal)
            }
        }
    }

    private func push(_ request: Request, principal: Principal) async throws -> Response {
        let query = request.uri.queryParameters
        var commit = CommitVersionRequest()
        commit.templateID = query.get("template_id") ?? query.get("id") ?? ""
        commit.templateName = query.get("name") ?? ""
        commit.tag = query.get("tag") ?? ""
        commit.description = query.get("description") ?? ""
        commit.arch = query.get("arch") ?? ""
        guard !commit.tag.isEmpty else { throw GatewayError(.badRequest, "tag is required") }
        guard !commit.templateID.isEmpty || !commit.templateName.isEmpty else {
            throw GatewayError(.badRequest, "name (of a new or existing template) or template_id is required")
        }
        guard commit.arch.isEmpty || commit.arch == "amd64" || commit.arch == "arm64" else {
            throw GatewayError(.badRequest, "arch must be amd64 or arm64")
        }
        commit.cpuCores = try Self.number(query.get("cpu"), "cpu", 1...256) ?? 0
        commit.ramMB = try Self.number(query.get("ram_mb"), "ram_mb", 256...4_194_304) ?? 0
        let chunkSize =
            try Self.number(query.get("chunk_size"), "chunk_size", 4096...ChunkHash.maximumChunkSize)
            ?? Self.defaultChunkSize

        var parser = TarStreamParser()
        var upload = ChunkUploader(client: client, principal: principal, chunkSize: chunkSize)
        var files: [ManifestFile] = []
        var paths = Set<String>()
        var current: (path: String, size: Int)?
        do {
            for try await buffer in request.body {
                for event in try parser.feed(buffer.readableBytesView) {
                    switch event {
                    case .fileStart(let path, let size):
                        guard ManifestFile.isSafe(path) else {
                            throw GatewayError(
                                .badRequest,
                                "file \(path) in the tar must be a relative path without .."
                            )
                        }
                        guard paths.insert(path).inserted else {
                            throw GatewayError(.badRequest, "file \(path) appears twice in the tar")
                        }
                        current = (path, size)
                    case .data(let bytes):
                        try await upload.append(bytes)
                    case .fileEnd:
                        guard let file = current else { continue }
                        let chunks = try await upload.finishFile()
                        files.append(
                            ManifestFile(path: file.path, size: file.size, chunkSize: chunkSize, chunks: chunks)
                        )
                        current = nil
                    }
                }
            }
            try parser.finish()
        } catch let failure as TarStreamParser.Failure {
            throw GatewayError(.badRequest, failure.description)
        }
        guard !files.isEmpty else { throw GatewayError(.badRequest, "the tar holds no files") }
        commit.manifest = TemplateManifest(files: files)
        let template: TemplateRecord = try await client.rpc(
            RPCCatalog.commitTemplateVersion,
            principal: principal,
            body: commit
        )
        let version = template.versions.first
        return AnkaJSON.ok(
            PushedJSON(
                template_id: template.id,
                name: template.name,
                tag: version?.tag ?? commit.tag,
                number: version?.number ?? 0,
                size: version?.sizeBytes ?? 0,
                files: files.count,
                chunks: files.reduce(0) { $0 + $1.chunks.count },
                uploaded_bytes: upload.uploadedBytes
            )
        )
    }

    static func number(_ text: String?, _ name: String, _ range: ClosedRange<Int>) throws -> Int? {
        guard let text else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw GatewayError(.badRequest, "\(name) must be a number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }
}

/// Cuts a file's bytes into chunks and stores the ones the registry lacks.
struct ChunkUploader {
    let client: ControlPlaneClient
    let principal: Principal
    let chunkSize: Int
    private var pending: [UInt8] = []
    private var hashes: [ChunkHash] = []
    private(set) var uploadedBytes = 0

    init(client: ControlPlaneClient, principal: Principal, chunkSize: Int) {
        self.client = client
        self.principal = principal
        self.chunkSize = chunkSize
    }

    mutating func append(_ bytes: [UInt8]) async throws {
        pending.append(contentsOf: bytes)
        while pending.count >= chunkSize {
            let chunk = Array(pending[0..<chunkSize])
            pending.removeFirst(chunkSize)
            try await store(chunk)
        }
    }

    /// Stores the file's last, short chunk and returns the file's chunk hashes.
    mutating func finishFile() async throws -> [ChunkHash] {
        if !pending.isEmpty {
            try await store(pending)
            pending = []
        }
        defer { hashes = [] }
        return hashes
    }

    private mutating func store(_ chunk: [UInt8]) async throws {
        let hash = ChunkHash(bytes: Array(SHA256.hash(data: chunk)))!
        let missing: ChunkList = try await client.rpc(
            RPCCatalog.missingChunks,
            principal: principal,
            body: ChunkList(requestID: 0, hashes: [hash])
        )
        if !missing.hashes.isEmpty {
            let stored: ChunkList = try await client.rpc(
                RPCCatalog.putChunk,
                principal: principal,
                body: ChunkData(requestID: 0, data: chunk)
            )
            guard stored.hashes == [hash] else {
                throw GatewayError(.badGateway, "the control plane stored a chunk under another hash")
            }
            uploadedBytes += chunk.count
        }
        hashes.append(hash)
    }
}

extension TemplatePushRoutes {
    /// What a push stored.
    struct PushedJSON: Encodable {
        let template_id: String
        let name: String
        let tag: String
        let number: Int
        let size: Int
        let files: Int
        let chunks: Int
        let uploaded_bytes: Int
    }
}
