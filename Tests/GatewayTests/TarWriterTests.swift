import BerthTestSupport
import Foundation
import TarFormat
import Testing

/// The archive writer behind `berth backup`, read back by GNU tar and by our own parser.
@Suite struct TarWriterTests {
    @Test func gnuTarAndTheParserReadWhatItWrites() async throws {
        let directory = TestPaths.temporaryDirectory("tar")
        let archive = directory.appendingPathComponent("out.tar")
        let source = directory.appendingPathComponent("source.bin")
        let big = (0..<1_300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try Data(big).write(to: source)
        // Past ustar's 100-byte name: split into its prefix field.
        let longPath = "berth-backup/" + String(repeating: "d", count: 60) + "/" + String(repeating: "f", count: 90)

        FileManager.default.createFile(atPath: archive.path, contents: nil)
        let handle = try FileHandle(forWritingTo: archive)
        var writer = TarWriter(output: handle)
        try writer.add(path: "berth-backup/empty", data: [])
        #expect(try writer.add(path: longPath, contentsOf: source) == big.count)
        try writer.add(path: "berth-backup/small.json", data: Array("{}".utf8), mode: 0o644)
        try writer.finish()
        try handle.close()

        let listing = try await Shell.run("/usr/bin/tar", ["-tvf", archive.path])
        #expect(listing.exitCode == 0, "\(listing.stderr)")
        #expect(listing.stdout.contains(longPath))
        #expect(listing.stdout.contains("1300000"))
        let out = directory.appendingPathComponent("x")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let extract = try await Shell.run("/usr/bin/tar", ["-xf", archive.path, "-C", out.path])
        #expect(extract.exitCode == 0, "\(extract.stderr)")
        #expect(try Data(contentsOf: out.appendingPathComponent(longPath)) == Data(big))

        var parser = TarStreamParser()
        var files: [String: [UInt8]] = [:]
        var current = ""
        let bytes = [UInt8](try Data(contentsOf: archive))
        // Fed in odd-sized slices, as a file read in blocks would be.
        for start in stride(from: 0, to: bytes.count, by: 7_777) {
            for event in try parser.feed(bytes[start..<min(start + 7_777, bytes.count)]) {
                switch event {
                case .fileStart(let path, _):
                    current = path
                    files[path] = []
                case .data(let data): files[current, default: []] += data
                case .fileEnd: break
                }
            }
        }
        try parser.finish()
        #expect(files["berth-backup/empty"] == [])
        #expect(files[longPath] == big)
        #expect(files["berth-backup/small.json"] == Array("{}".utf8))
    }
}
