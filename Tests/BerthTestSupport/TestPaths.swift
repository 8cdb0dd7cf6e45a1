import Foundation
import Logging

/// Temporary directories for tests, one per call.
public enum TestPaths {
    public static func temporaryDirectory(_ prefix: String) -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("berth-test-\(prefix)-\(UUID().uuidString.prefix(8).lowercased())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Quiet loggers for tests (warnings and errors only; BERTH_TEST_LOG=debug for more).
public enum TestLogging {
    public static func logger(_ label: String) -> Logger {
        var logger = Logger(label: "berth.test.\(label)")
        logger.logLevel =
            ProcessInfo.processInfo.environment["BERTH_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        return logger
    }
}
