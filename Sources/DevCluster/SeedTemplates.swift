import ControlPlane
import Persistence

/// The templates `berth dev` starts with, with fixed ids so documentation can name them.
public enum SeedTemplates {
    public struct Seed: Sendable {
        public var id: String
        public var name: String
        public var arch: String
        public var cpuCores: Int
        public var ramMB: Int
        /// Tags, oldest first (version numbers 1, 2, ...).
        public var tags: [String]
    }

    public static let all: [Seed] = [
        Seed(
            id: "6b135004-0c89-43bb-b892-74796b8d266c",
            name: "macos-14-xcode15",
            arch: "arm64",
            cpuCores: 4,
            ramMB: 8192,
            tags: ["vanilla", "xcode-15.4"]
        ),
        Seed(
            id: "c12ccfa5-8757-411e-9505-128190e9854e",
            name: "ubuntu-22.04",
            arch: "amd64",
            cpuCores: 2,
            ramMB: 4096,
            tags: ["base", "ci"]
        ),
        Seed(
            id: "d792c6f6-198c-470f-9526-9c998efe7ab4",
            name: "ubuntu-24.04-arm",
            arch: "arm64",
            cpuCores: 2,
            ramMB: 2048,
            tags: ["base"]
        ),
    ]

    /// Inserts the seeds into an empty registry, with real (small) content: a 4 MiB disk
    /// image, a config file and an nvram per tag. Each newer tag changes one 1 MiB chunk
    /// of the disk, so pulling it onto a node that holds the older tag moves 1 MiB.
    /// Does nothing if any template exists.
    public static func seed(_ controlPlane: ControlPlane) async throws {
        let database = controlPlane.database
        guard try await database.templates().isEmpty else { return }
        let now = BerthDatabase.nowMicros()
        for (index, seed) in all.enumerated() {
            try await database.insertTemplate(
                TemplateRow(
                    id: seed.id,
                    name: seed.name,
                    arch: seed.arch,
                    cpuCores: seed.cpuCores,
                    ramMb: seed.ramMB,
                    createdAt: now
                ),
                versions: []
            )
            var disk = pseudoRandom(count: 4 << 20, seed: UInt64(index + 1))
            for (number, tag) in seed.tags.enumerated() {
                if number > 0 {
                    let block = (number % 4) << 20
                    for offset in block..<block + 4096 { disk[offset] ^= UInt8(truncatingIfNeeded: number) }
                }
                try await controlPlane.addTemplateVersion(
                    templateID: seed.id,
                    tag: tag,
                    description: "seeded by berth dev",
                    files: [
                        ("disk.img", disk),
                        (
                            "\(seed.id).yaml",
                            Array("name: \(seed.name)\ncpu: \(seed.cpuCores)\nram: \(seed.ramMB)M\n".utf8)
                        ),
                        ("nvram", pseudoRandom(count: 64 << 10, seed: UInt64(100 + index))),
                    ]
                )
            }
        }
    }

    static func pseudoRandom(count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        var bytes = [UInt8](repeating: 0, count: count)
        for index in bytes.indices {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            bytes[index] = UInt8(truncatingIfNeeded: state >> 33)
        }
        return bytes
    }
}
