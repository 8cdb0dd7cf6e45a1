import Foundation
import Testing
import WireProtocol

/// The RPC catalog is the one declaration of every gateway method; these check it is
/// consistent and that the protocol document shows it.
@Suite struct RPCCatalogTests {
    @Test func numbersAndNamesAreUnique() {
        let numbers = RPCCatalog.all.map(\.method.rawValue)
        #expect(Set(numbers).count == numbers.count, "a method number is declared twice")
        let names = RPCCatalog.all.map(\.name)
        #expect(Set(names).count == names.count, "a method name is declared twice")
        #expect(RPCCatalog.byMethod.count == RPCCatalog.all.count)
    }

    @Test func aMethodPrintsItsNameAndAnUnknownOneItsNumber() {
        #expect("\(RPCCatalog.startInstances.method)" == "startInstances")
        #expect("\(RPCMethod(rawValue: 9_999))" == "method(9999)")
        #expect(RPCCatalog.startInstances.descriptor.requestType == "StartInstancesRequest")
        #expect(RPCCatalog.startInstances.descriptor.responseType == "IDList")
    }

    /// docs/PROTOCOL.md holds the table ``RPCCatalog/markdownTable()`` renders, between
    /// markers. `BERTH_WRITE_PROTOCOL_TABLE=1 swift test --filter RPCCatalogTests` rewrites it.
    @Test func theProtocolDocumentShowsTheCatalog() throws {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/PROTOCOL.md")
        let document = try String(contentsOf: url, encoding: .utf8)
        let begin = "<!-- rpc-table:begin (generated from RPCCatalog; see RPCCatalogTests) -->\n"
        let end = "<!-- rpc-table:end -->"
        let start = try #require(document.range(of: begin), "docs/PROTOCOL.md lacks the rpc-table markers")
        let stop = try #require(document.range(of: end, range: start.upperBound..<document.endIndex))
        let shown = String(document[start.upperBound..<stop.lowerBound])
        let table = RPCCatalog.markdownTable() + "\n"
        if shown != table, ProcessInfo.processInfo.environment["BERTH_WRITE_PROTOCOL_TABLE"] == "1" {
            try document.replacingCharacters(in: start.upperBound..<stop.lowerBound, with: table)
                .write(to: url, atomically: true, encoding: .utf8)
            return
        }
        #expect(
            shown == table,
            "docs/PROTOCOL.md's method table differs from RPCCatalog; run BERTH_WRITE_PROTOCOL_TABLE=1 swift test --filter RPCCatalogTests"
        )
    }
}
