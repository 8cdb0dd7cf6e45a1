import ArgumentParser
import Crypto
import Foundation
import NIOCore
import WireProtocol

/// `berth template push DIR`: sends only the chunks the registry lacks, then commits.
///
/// The directory's files are cut into chunks and hashed here; the registry is asked which
/// hashes it lacks (`POST /berth/v1/registry/chunks/missing`), those are uploaded four at a
/// time (`PUT /berth/v1/registry/chunks/<sha256>`), and the version is committed
/// (`POST /berth/v1/registry/commit`), which the control plane refuses unless every chunk is
/// stored. Progress: a bar on a terminal, plain lines otherwise.
extension TemplateCommand {
    struct Push: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Push a template directory as a new version, uploading only the chunks the registry lacks."
        )

        @Argument(help: "The template's directory (every regular file in it, recursively).") var directory: String
        @Option(help: "Name of a new or existing template.") var name: String?
        @Option(help: "An existing template's id (instead of --name).") var templateID: String?
        @Option(help: "The version's tag.") var tag: String
        @Option(help: "A description of the version.") var description: String?
        @Option(help: "amd64 or arm64 (a new template's).") var arch: String?
        @Option(help: "Chunk size in bytes, 4096 to 4190208.") var chunkSize = 1 << 20
        @Flag(help: "Plain progress lines even on a terminal.") var plain = false
        @OptionGroup var gateway: GatewayOptions

        func validate() throws {
            guard (name == nil) != (templateID == nil) else { throw ValidationError("give --name or --template-id") }
            guard (4096...ChunkHash.maximumChunkSize).contains(chunkSize) else {
                throw ValidationError("--chunk-size must be 4096 to \(ChunkHash.maximumChunkSize)")
            }
        }

        func run() async throws {
            let root = URL(fileURLWithPath: directory).standardizedFileURL
            let files = try Self.files(in: root)
            guard !files.isEmpty else { throw CommandFailure("\(directory) holds no files") }
            var pieces: [ChunkHash: Piece] = [:]
            var manifest: [[String: Any]] = []
            var totalBytes = 0
            var totalChunks = 0
            for file in files {
                let hashes = try Self.hashChunks(of: root.appendingPathComponent(file.path), size: file.size, chunkSize: chunkSize) {
                    hash, offset, length in
                    if pieces[hash] == nil { pieces[hash] = Piece(path: file.path, offset: offset, length: length) }
                }
                totalBytes += file.size
                totalChunks += hashes.count
                manifest.append(["path": file.path, "size": file.size, "chunk_size": chunkSize, "chunks": hashes.map(\.hex)])
            }
            try await APIClient.with(gateway) { api in
                var missing: [ChunkHash] = []
                let unique = Array(pieces.keys)
                for start in stride(from: 0, to: unique.count, by: 10_000) {
                    let batch = unique[start..<min(start + 10_000, unique.count)].map(\.hex)
                    let answer = try await api.call(.POST, "/berth/v1/registry/chunks/missing", body: ["hashes": batch])
                    let hexes = (answer.body as? [String: Any])?["missing"] as? [String] ?? []
                    missing += hexes.compactMap(ChunkHash.init(hex:))
                }
                let toUpload = missing.reduce(0) { $0 + (pieces[$1]?.length ?? 0) }
                let skipped = unique.count - missing.count
                let progress = PushProgress(
                    total: toUpload,
                    live: !plain && !gateway.json && isatty(STDOUT_FILENO) != 0,
                    quiet: gateway.json
                )
                progress.started(files: files.count, chunks: unique.count, bytes: totalBytes, missing: missing.count)
                try await withThrowingTaskGroup(of: Int.self) { group in
                    var next = missing.makeIterator()
                    func submit() -> Bool {
                        guard let hash = next.next(), let piece = pieces[hash] else { return false }
                        let file = root.appendingPathComponent(piece.path)
                        group.addTask {
                            let bytes = try Self.read(file, offset: piece.offset, length: piece.length)
                            _ = try await api.upload("/berth/v1/registry/chunks/\(hash.hex)", bytes: bytes)
                            return bytes.count
                        }
                        return true
                    }
                    for _ in 0..<4 where submit() {}
                    while let sent = try await group.next() {
                        progress.advance(sent)
                        _ = submit()
                    }
                }
                progress.finished()
                var commit: [String: Any] = ["tag": tag, "files": manifest]
                if let name { commit["name"] = name }
                if let templateID { commit["template_id"] = templateID }
                if let description { commit["description"] = description }
                if let arch { commit["arch"] = arch }
                let pushed = try await api.call(.POST, "/berth/v1/registry/commit", body: commit).body as? [String: Any] ?? [:]
                if gateway.json {
                    var result = pushed
                    result["uploaded_bytes"] = toUpload
                    result["uploaded_chunks"] = missing.count
                    result["skipped_chunks"] = skipped
                    return ClientOutput.printJSON(result)
                }
                print(
                    "pushed \(ClientOutput.string(pushed["name"])):\(tag) (template \(ClientOutput.string(pushed["template_id"])), "
                        + "version \(ClientOutput.string(pushed["number"]))): \(files.count) files, \(ByteSize.text(totalBytes))"
                )
                print(
                    "uploaded \(missing.count) chunks (\(ByteSize.text(toUpload))); skipped \(skipped) chunks the registry already had"
                        + (totalChunks > unique.count ? " and \(totalChunks - unique.count) repeated within the push" : "")
                )
            }
        }

        /// Where a chunk's bytes are: the first file and offset that hold them.
        struct Piece: Sendable {
            let path: String
            let offset: Int
            let length: Int
        }

        /// Regular files under `root`, by relative path, sorted.
        static func files(in root: URL) throws -> [(path: String, size: Int)] {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw CommandFailure("\(root.path) is not a directory")
            }
            guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey, .fileSizeKey])
            else { throw CommandFailure("cannot read \(root.path)") }
            var found: [(path: String, size: Int)] = []
            let prefix = root.path.hasSuffix("/") ? root.path : root.path + "/"
            for case let url as URL in walker {
                let values = try url.resourceValues(forKeys: [.isRegularFileKey, .fileSizeKey])
                guard values.isRegularFile == true else { continue }
                let path = String(url.standardizedFileURL.path.dropFirst(prefix.count))
                found.append((path, values.fileSize ?? 0))
            }
            return found.sorted { $0.path < $1.path }
        }

        /// The file's chunk hashes, in order; `each` sees every chunk's hash and place.
        static func hashChunks(
            of file: URL,
            size: Int,
            chunkSize: Int,
            each: (ChunkHash, Int, Int) -> Void
        ) throws -> [ChunkHash] {
            let handle = try FileHandle(forReadingFrom: file)
            defer { try? handle.close() }
            var hashes: [ChunkHash] = []
            var offset = 0
            while offset < size {
                let block = try handle.read(upToCount: min(chunkSize, size - offset)) ?? Data()
                guard !block.isEmpty else { throw CommandFailure("\(file.path) shrank while it was read") }
                let hash = ChunkHash(bytes: Array(SHA256.hash(data: block)))!
                each(hash, offset, block.count)
                hashes.append(hash)
                offset += block.count
            }
            return hashes
        }

        static func read(_ file: URL, offset: Int, length: Int) throws -> [UInt8] {
            let handle = try FileHandle(forReadingFrom: file)
            defer { try? handle.close() }
            try handle.seek(toOffset: UInt64(offset))
            return [UInt8](try handle.read(upToCount: length) ?? Data())
        }
    }
}

/// A push's progress: a bar redrawn in place on a terminal (bytes, rate, ETA), or a plain
/// line at every tenth otherwise.
final class PushProgress: @unchecked Sendable {
    let total: Int
    let live: Bool
    let quiet: Bool
    private let lock = NSLock()
    private var sent = 0
    private var lastDraw = Date.distantPast
    private var lastTenth = 0
    private let began = Date()

    init(total: Int, live: Bool, quiet: Bool) {
        self.total = total
        self.live = live
        self.quiet = quiet
    }

    func started(files: Int, chunks: Int, bytes: Int, missing: Int) {
        guard !quiet else { return }
        print("\(files) files, \(ByteSize.text(bytes)) in \(chunks) distinct chunks; the registry lacks \(missing) (\(ByteSize.text(total)))")
    }

    func advance(_ bytes: Int) {
        lock.lock()
        defer { lock.unlock() }
        sent += bytes
        guard !quiet, total > 0 else { return }
        if live {
            guard Date().timeIntervalSince(lastDraw) >= 0.1 || sent == total else { return }
            lastDraw = Date()
            let fraction = Double(sent) / Double(total)
            let width = 30
            let filled = Int(fraction * Double(width))
            let elapsed = max(0.001, Date().timeIntervalSince(began))
            let rate = Double(sent) / elapsed
            let eta = rate > 0 ? Double(total - sent) / rate : 0
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            let line =
                "\r[\(bar)] \(Int(fraction * 100))%  \(ByteSize.text(sent))/\(ByteSize.text(total))  "
                + "\(ByteSize.text(Int(rate)))/s  ETA \(Int(eta.rounded()))s   "
            FileHandle.standardOutput.write(Data(line.utf8))
        } else {
            let tenth = Int(Double(sent) / Double(total) * 10)
            guard tenth > lastTenth else { return }
            lastTenth = tenth
            print("uploaded \(ByteSize.text(sent)) of \(ByteSize.text(total)) (\(tenth * 10)%)")
        }
    }

    func finished() {
        if live, total > 0 { FileHandle.standardOutput.write(Data("\n".utf8)) }
    }
}
