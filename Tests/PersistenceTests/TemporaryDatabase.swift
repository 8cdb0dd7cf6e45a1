import Foundation

/// A database path in a fresh temporary directory, one per test.
enum TemporaryDatabase {
    static func path(_ prefix: String) throws -> String {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(prefix)-\(UInt64.random(in: .min ... .max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent("berth.sqlite").path
    }
}
