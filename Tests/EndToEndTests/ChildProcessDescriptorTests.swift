import Foundation
import NodeAgent
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A child process holds no descriptor of this process but the ones it was handed, even one
/// opened while it was being spawned. NIO accepts connections without close-on-exec; a child
/// that inherited one kept that connection open after the server had closed it.
@Suite struct ChildProcessDescriptorTests {
    @Test func descriptorsOpenedDuringASpawnDoNotLeakIntoTheChild() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-fd-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // Another thread opens and closes descriptors without close-on-exec all the time, as
        // an event loop accepting connections does.
        let stop = Atomic(false)
        let churn = Thread {
            while !stop.load(ordering: .relaxed) {
                let fd = dup(2)
                if fd >= 0 { close(fd) }
            }
        }
        churn.start()
        defer { stop.store(true, ordering: .relaxed) }
        var leaks: [String] = []
        for attempt in 0..<60 {
            let listing = directory.appendingPathComponent("fds-\(attempt)")
            // `ls` lists its own descriptors: 0, 1 and 2, and 3 for the directory it reads.
            let child = try ChildProcess(
                arguments: ["/bin/ls", "/proc/self/fd"],
                directory: directory,
                environment: [:],
                stdin: nil,
                stdout: listing,
                stderr: directory.appendingPathComponent("err")
            )
            let status = await child.waitForExit(within: .seconds(30))
            #expect(status == 0)
            let held = try String(contentsOf: listing, encoding: .utf8).split(separator: "\n").map(String.init)
            if held.count != 4 { leaks.append("spawn \(attempt): \(held)") }
        }
        #expect(leaks.isEmpty, "\(leaks.prefix(5))")
    }
}
