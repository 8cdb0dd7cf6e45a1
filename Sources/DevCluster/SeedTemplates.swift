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
        public var sizeBytes: Int64
    }

    public static let all: [Seed] = [
        Seed(
            id: "6b135004-0c89-43bb-b892-74796b8d266c",
            name: "macos-14-xcode15",
            arch: "arm64",
            cpuCores: 4,
            ramMB: 8192,
            tags: ["vanilla", "xcode-15.4"],
            sizeBytes: 38 * 1 << 30
        ),
        Seed(
            id: "c12ccfa5-8757-411e-9505-128190e9854e",
            name: "ubuntu-22.04",
            arch: "amd64",
            cpuCores: 2,
            ramMB: 4096,
            tags: ["base", "ci"],
            sizeBytes: 6 * 1 << 30
        ),
        Seed(
            id: "d792c6f6-198c-470f-9526-9c998efe7ab4",
            name: "ubuntu-24.04-arm",
            arch: "arm64",
            cpuCores: 2,
            ramMB: 2048,
            tags: ["base"],
            sizeBytes: 5 * 1 << 30
        ),
    ]

    /// Inserts the seeds into an empty registry; does nothing if any template exists.
    public static func seed(_ database: BerthDatabase) async throws {
        guard try await database.templates().isEmpty else { return }
        let now = BerthDatabase.nowMicros()
        for seed in all {
            try await database.insertTemplate(
                TemplateRow(
                    id: seed.id,
                    name: seed.name,
                    arch: seed.arch,
                    cpuCores: seed.cpuCores,
                    ramMb: seed.ramMB,
                    createdAt: now
                ),
                versions: seed.tags.enumerated().map { index, tag in
                    TemplateVersionRow(
                        templateId: seed.id,
                        number: index + 1,
                        tag: tag,
                        size: seed.sizeBytes,
                        createdAt: now
                    )
                }
            )
        }
    }
}
