import BerthTestSupport
import ControlPlane
import Foundation
import Persistence
import Testing

/// The registry's template endpoints in Anka's shapes.
@Suite struct RegistryHTTPTests {
    @Test func listShowRevertAndDeleteTemplates() async throws {
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        let now = BerthDatabase.nowMicros()
        let id = "a3cc47f0-3a73-11e9-b515-c4b301c47c6b"
        try await cp.database.insertTemplate(
            TemplateRow(id: id, name: "revertable", arch: "amd64", cpuCores: 2, ramMb: 4096, createdAt: now),
            versions: ["t0", "t1", "t2", "t3"].enumerated().map {
                TemplateVersionRow(templateId: id, number: $0.offset, tag: $0.element, size: 100, createdAt: now)
            }
        )
        let gateway = try await TestGateway.start(cp)
        let http = gateway.http

        let list = try #require(try await http.send("GET", "/api/v1/registry/vm").json["body"] as? [[String: Any]])
        let entry = try #require(list.first { $0["id"] as? String == id })
        #expect(entry["name"] as? String == "revertable")
        #expect(entry["size"] as? Int == 400)
        #expect(entry["arch"] as? String == "amd64")
        #expect(entry["last_push"] as? Int == Int(now / 1_000_000))
        #expect(entry["last_pull"] as? Int == 0)
        #expect(entry["versions"] == nil)
        let light = try #require(
            try await http.send("GET", "/api/v1/registry/vm?apiVer=v1").json["body"] as? [[String: Any]]
        )
        #expect(light.allSatisfy { $0["size"] == nil && $0["arch"] == nil && $0["id"] != nil })

        func tags() async throws -> [String] {
            let shown = try #require(
                try await http.send("GET", "/api/v1/registry/vm?id=\(id)").json["body"] as? [String: Any]
            )
            let versions = try #require(shown["versions"] as? [[String: Any]])
            return versions.map { $0["tag"] as? String ?? "" }
        }
        #expect(try await tags() == ["t3", "t2", "t1", "t0"])
        // No tag or number: the newest goes.
        let dropped = try await http.send("DELETE", "/api/v1/registry/revert?id=\(id)")
        #expect(dropped.status == 200)
        #expect(dropped.json["body"] is NSNull)
        #expect(try await tags() == ["t2", "t1", "t0"])
        #expect(try await http.send("DELETE", "/api/v1/registry/revert?id=\(id)&tag=t1").status == 200)
        #expect(try await tags() == ["t1", "t0"])
        #expect(try await http.send("DELETE", "/api/v1/registry/revert?id=\(id)&number=0").status == 200)
        #expect(try await tags() == ["t0"])
        #expect(try await http.send("DELETE", "/api/v1/registry/revert?id=\(id)").failedOnItsMerits)
        #expect(try await http.send("DELETE", "/api/v1/registry/revert?id=\(id)&tag=nope").failedOnItsMerits)

        // A template in use cannot be deleted; a free one can.
        let started = try await http.send("POST", "/api/v1/vm", body: #"{"vmid": "\#(id)"}"#)
        let instance = try #require((started.json["body"] as? [String])?.first)
        let busy = try await http.send("DELETE", "/api/v1/registry/vm?id=\(id)")
        #expect(busy.failedOnItsMerits, "\(busy.text)")
        #expect(try await http.send("DELETE", "/api/v1/vm", body: #"{"id": "\#(instance)"}"#).status == 200)
        #expect(try await http.send("DELETE", "/api/v1/registry/vm?id=\(id)").status == 200)
        #expect(try await http.send("GET", "/api/v1/registry/vm?id=\(id)").failedOnItsMerits)
        #expect(try await http.send("DELETE", "/api/v1/registry/vm?id=\(id)").failedOnItsMerits)
        #expect(try await http.send("DELETE", "/api/v1/registry/vm").failedOnItsMerits)
        await gateway.stop()
        await cp.stop()
    }
}
