import Crypto
import Foundation
import Hummingbird
import WireProtocol

/// The chunk-level push that `berth template push` speaks: which chunks the registry lacks,
/// one chunk's upload (checked against its hash), and the commit of a version whose chunks
/// are all stored. A client sends only what is missing; the tar push
/// (`/berth/v1/registry/push`) stays for curl.
struct ChunkRoutes {
    let client: ControlPlaneClient

    /// Hashes one query may ask about (640 KB of hex).
    static let maxHashesPerQuery = 10_000
    static let maxChunkSize = ChunkHash.maximumChunkSize
    /// A commit's JSON: 125,000 chunks of 64 hex digits, with room for the rest.
    static let maxCommitBody = 16 << 20

    func register(on router: Router<GatewayContext>) {
        router.post("/berth/v1/registry/chunks/missing") { request, context -> Response in
            let json = try await RequestJSON.read(request)
            guard let hexes = try json.stringArray("hashes") else { throw GatewayError(.badRequest, "hashes is required") }
            guard hexes.count <= Self.maxHashesPerQuery else {
                throw GatewayError(.badRequest, "at most \(Self.maxHashesPerQuery) hashes per query, not \(hexes.count)")
            }
            let hashes = try hexes.map(Self.hash)
            let missing: ChunkList = try await client.rpc(
                RPCCatalog.missingChunks,
                principal: context.principal,
                body: ChunkList(requestID: 0, hashes: hashes)
            )
            return AnkaJSON.ok(MissingJSON(missing: missing.hashes.map(\.hex)))
        }
        router.put("/berth/v1/registry/chunks/:hash") { request, context -> Response in
            let expected = try Self.hash(context.parameters.get("hash") ?? "")
            var request = request
            let body = try await request.collectBody(upTo: Self.maxChunkSize)
            let bytes = Array(body.readableBytesView)
            guard !bytes.isEmpty else { throw GatewayError(.badRequest, "the chunk is empty") }
            let actual = ChunkHash(bytes: Array(SHA256.hash(data: bytes)))!
            guard actual == expected else {
                throw GatewayError(.badRequest, "the body's SHA-256 is \(actual.hex), not \(expected.hex)")
            }
            let stored: ChunkList = try await client.rpc(
                RPCCatalog.putChunk,
                principal: context.principal,
                body: ChunkData(requestID: 0, data: bytes)
            )
            guard stored.hashes == [expected] else {
                throw GatewayError(.badGateway, "the control plane stored the chunk under another hash")
            }
            return AnkaJSON.ok(StoredJSON(hash: expected.hex, size: bytes.count))
        }
        router.post("/berth/v1/registry/commit") { request, context -> Response in
            var incoming = request
            let body = try await incoming.collectBody(upTo: Self.maxCommitBody)
            let commit: CommitJSON
            do {
                commit = try JSONDecoder().decode(CommitJSON.self, from: Data(body.readableBytesView))
            } catch {
                throw GatewayError(.badRequest, "the commit is not valid JSON of the documented shape: \(error)")
            }
            var request = CommitVersionRequest()
            request.templateID = commit.template_id ?? ""
            request.templateName = commit.name ?? ""
            request.tag = commit.tag ?? ""
            request.description = commit.description ?? ""
            request.arch = commit.arch ?? ""
            request.cpuCores = commit.cpu ?? 0
            request.ramMB = commit.ram_mb ?? 0
            guard !request.tag.isEmpty else { throw GatewayError(.badRequest, "tag is required") }
            guard request.arch.isEmpty || request.arch == "amd64" || request.arch == "arm64" else {
                throw GatewayError(.badRequest, "arch must be amd64 or arm64")
            }
            guard !commit.files.isEmpty else { throw GatewayError(.badRequest, "files is empty") }
            request.manifest = TemplateManifest(
                files: try commit.files.map { file in
                    guard file.size >= 0, (1...Self.maxChunkSize).contains(file.chunk_size) else {
                        throw GatewayError(
                            .badRequest,
                            "file \(file.path): size must be ≥ 0 and chunk_size 1 to \(Self.maxChunkSize)"
                        )
                    }
                    return ManifestFile(
                        path: file.path,
                        size: file.size,
                        chunkSize: file.chunk_size,
                        chunks: try file.chunks.map(Self.hash)
                    )
                }
            )
            let template: TemplateRecord = try await client.rpc(
                RPCCatalog.commitTemplateVersion,
                principal: context.principal,
                body: request
            )
            let version = template.versions.first
            return AnkaJSON.ok(
                TemplatePushRoutes.PushedJSON(
                    template_id: template.id,
                    name: template.name,
                    tag: version?.tag ?? request.tag,
                    number: version?.number ?? 0,
                    size: version?.sizeBytes ?? 0,
                    files: commit.files.count,
                    chunks: commit.files.reduce(0) { $0 + $1.chunks.count },
                    uploaded_bytes: 0
                )
            )
        }
    }

    static func hash(_ hex: String) throws -> ChunkHash {
        guard let hash = ChunkHash(hex: hex) else {
            throw GatewayError(.badRequest, "\(hex.prefix(80)) is not a SHA-256 in hex")
        }
        return hash
    }

    struct MissingJSON: Encodable { let missing: [String] }
    struct StoredJSON: Encodable {
        let hash: String
        let size: Int
    }

    /// `POST /berth/v1/registry/commit`'s body.
    struct CommitJSON: Decodable {
        struct File: Decodable {
            let path: String
            let size: Int
            let chunk_size: Int
            let chunks: [String]
        }
        let name: String?
        let template_id: String?
        let tag: String?
        let description: String?
        let arch: String?
        let cpu: Int?
        let ram_mb: Int?
        let files: [File]
    }
}
