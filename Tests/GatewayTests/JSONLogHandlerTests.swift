import Foundation
import Logging
import Telemetry
import Testing

/// `--log-format json`: each line one JSON object that a log shipper can parse.
@Suite struct JSONLogHandlerTests {
    @Test func eachLineIsAnObjectWithEscapedFieldsAndMetadataOnTop() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("berth-jsonlog-\(UInt64.random(in: 0...UInt64.max))")
        FileManager.default.createFile(atPath: path.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: path) }
        let sink = JSONLogHandler.Sink(try FileHandle(forWritingTo: path))
        var logger = Logger(label: "berth.test") { JSONLogHandler(label: $0, sink: sink) }
        logger.logLevel = .debug
        logger[metadataKey: "node"] = "n-1"
        logger.info("a \"quoted\"\nline\u{1}", metadata: ["request_id": "abc", "msg": "shadowed"])
        logger.trace("not written")
        logger.error("second")
        let lines = try String(contentsOf: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: String])
        #expect(first["msg"] == "a \"quoted\"\nline\u{1}")
        #expect(first["level"] == "info")
        #expect(first["logger"] == "berth.test")
        #expect(first["request_id"] == "abc")
        #expect(first["node"] == "n-1")
        #expect(first["meta_msg"] == "shadowed")
        let stamp = try #require(first["ts"])
        #expect(stamp.count == 24 && stamp.hasSuffix("Z"), "\(stamp)")
        let second = try #require(try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: String])
        #expect(second["level"] == "error")
    }
}

/// Scraped families render themselves: escaped label values, and series that vanish when
/// the next update leaves them out.
@Suite struct ScrapedGaugesTests {
    @Test func seriesRenderEscapedAndVanishWhenLeftOut() {
        let description = MetricDescription("test_nodes", .gauge, labels: ["id", "name"], help: "Nodes.")
        let registry = MetricsRegistry([description])
        let family = ScrapedGauges(description, in: registry)
        family.update([(["n1", #"mac "mini"\1"#], 2), (["n2", "line\nbreak"], 0.5)])
        let first = String(decoding: registry.exposition(), as: UTF8.self)
        #expect(first.contains("# TYPE test_nodes gauge\n"))
        #expect(first.contains(#"test_nodes{id="n1",name="mac \"mini\"\\1"} 2"# + "\n"))
        #expect(first.contains(#"test_nodes{id="n2",name="line\nbreak"} 0.5"# + "\n"))
        family.update([(["n2", "b"], 1)])
        let second = String(decoding: registry.exposition(), as: UTF8.self)
        #expect(!second.contains("n1"))
        #expect(second.contains(#"test_nodes{id="n2",name="b"} 1"#))
    }
}
