import Foundation
import Testing
import WireProtocol

@testable import RESTGateway

/// `GET /api/v1/vm` entries are written field by field (`InstanceListWriter`); they must be
/// the very bytes the `Encodable` reference (`InstanceListEntryJSON`) produces, for every
/// shape of instance.
@Suite struct InstanceListWriterTests {
    static let texts = [
        "", "a", "ubuntu-22.04", "quote \" and back\\slash", "line\nbreak\ttab\u{01}", "ünïcödé ✓ 🚀",
        "0e562635-19f8-4557-bbb8-13fa284dd001",
    ]

    static func text<G: RandomNumberGenerator>(_ random: inout G) -> String {
        texts.randomElement(using: &random)!
    }

    static func record<G: RandomNumberGenerator>(_ random: inout G) -> InstanceRecord {
        var record = InstanceRecord()
        record.instanceID = text(&random)
        record.state = InstanceState.allCases.randomElement(using: &random)!
        record.message = text(&random)
        record.templateID = text(&random)
        record.tag = text(&random)
        record.version = [0, 1, 42].randomElement(using: &random)!
        record.nodeID = text(&random)
        record.inflightRequestID = text(&random)
        record.tsMicros = [0, 1, 1_733_300_000_123_456, 4_102_444_799_999_999].randomElement(using: &random)!
        record.createdMicros = [0, 951_782_400_000_001, 1_733_300_000_000_000].randomElement(using: &random)!
        record.progress = [0, 0.5, 1, 0.123456789, 1e-7].randomElement(using: &random)!
        record.groupID = text(&random)
        record.name = text(&random)
        record.externalID = text(&random)
        record.metadataJSON = [#""#, #"{"a":1,"b":"x"}"#, #"["not an object"]"#].randomElement(using: &random)!
        record.arch = text(&random)
        record.vlan = text(&random)
        record.waitReason = text(&random)
        record.macAddress = text(&random)
        record.usbDevice = text(&random)
        if Bool.random(using: &random) {
            var info = VMInfo()
            info.uuid = text(&random)
            info.name = text(&random)
            info.status = text(&random)
            info.cpuCores = Int.random(in: 0...64, using: &random)
            info.ramMB = [0, 1536, 4096, 8192].randomElement(using: &random)!
            info.hostIP = text(&random)
            info.ip = text(&random)
            info.vncPort = Int.random(in: 0...65_535, using: &random)
            info.portForwarding = (0..<Int.random(in: 0...3, using: &random)).map {
                PortForward(guestPort: 22 + $0, hostPort: 10_000 + $0, proto: "tcp", name: text(&random))
            }
            info.creationDateMicros = [0, 1_733_300_000_000_000].randomElement(using: &random)!
            info.startDateMicros = [0, 1_733_300_001_000_000].randomElement(using: &random)!
            info.stopDateMicros = [0, 1_733_300_002_000_000].randomElement(using: &random)!
            record.vmInfo = info
        }
        if Bool.random(using: &random) {
            record.scriptResult = ScriptResult(
                returnCode: Int.random(in: -1...2, using: &random),
                didTimeout: Bool.random(using: &random),
                stdout: text(&random),
                stderr: text(&random),
                errors: Bool.random(using: &random) ? [] : [text(&random)]
            )
        }
        record.deleteLock = Bool.random(using: &random)
        record.tags = [[], ["ci"], ["team=web", "os:linux"]].randomElement(using: &random)!
        if Bool.random(using: &random) {
            record.stopReason = InstanceStopReason.allCases.randomElement(using: &random)!.rawValue
            record.stoppedBy = text(&random)
            record.stoppedAtMicros = [1, 1_733_300_003_000_000].randomElement(using: &random)!
        }
        record.restartPolicy = ["", "always", "on_failure"].randomElement(using: &random)!
        record.restartCount = Int.random(in: 0...3, using: &random)
        record.maxRestarts = Int.random(in: 0...10, using: &random)
        record.restartAtMicros = [0, 1_733_300_004_000_000].randomElement(using: &random)!
        return record
    }

    @Test func theWriterProducesTheReferenceBytes() throws {
        var random = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let record = Self.record(&random)
            let registry = Self.text(&random)
            let reference = JSONSink()
            try reference.encodeValue(InstanceListEntryJSON(record, registry: registry))
            let written = JSONSink()
            try InstanceListWriter.appendEntry(record, registry: registry, to: written)
            #expect(
                String(decoding: written.bytes, as: UTF8.self) == String(decoding: reference.bytes, as: UTF8.self),
                "\(record)"
            )
            // And it is JSON.
            #expect((try? JSONSerialization.jsonObject(with: Data(written.bytes))) != nil)
        }
    }

    @Test func timestampsMatchTheStringForm() {
        for micros in [0, 1, 999_999, 1_733_300_000_123_456, 4_102_444_799_999_999] {
            let sink = JSONSink()
            sink.writeTimestamp(micros: micros)
            #expect(String(decoding: sink.bytes, as: UTF8.self) == "\"\(AnkaJSON.timestamp(micros: micros))\"")
        }
        #expect(AnkaJSON.timestamp(micros: 0) == "0001-01-01T00:00:00Z")
        // Against Foundation's calendar, over years 1970 to 9999.
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var random = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            let micros = Int.random(in: 1...253_402_300_799_999_999, using: &random)
            let date = Date(timeIntervalSince1970: Double(micros / 1_000_000))
            let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
            let expected = String(
                format: "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
                parts.year!,
                parts.month!,
                parts.day!,
                parts.hour!,
                parts.minute!,
                parts.second!,
                micros % 1_000_000
            )
            #expect(AnkaJSON.timestamp(micros: micros) == expected, "\(micros)")
        }
        #expect(AnkaJSON.timestamp(micros: 1_733_300_000_123_456) == "2024-12-04T08:13:20.123456Z")
    }
}
