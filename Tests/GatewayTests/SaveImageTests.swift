import BerthTestSupport
import ControlPlane
import Foundation
import NodeAgent
import Testing
import WireProtocol

#if canImport(Glibc)
import Glibc
#endif

/// Save image on the `process` driver: the instance's files, changed by a script, go back
/// to the registry as a new tag; only the chunks that changed are uploaded.
@Suite struct SaveImageTests {
    static func base64(_ script: String) -> String { Data(script.utf8).base64EncodedString() }

    @Test func aSavedInstanceBecomesANewTagAndOnlyChangedChunksAreUploaded() async throws {
        let cp = try await TestControlPlane.start()
        let driver = ProcessDriver(configuration: .init(root: TestPaths.temporaryDirectory("save-image")))
        let node = cp.startAgent(try await cp.enroll(name: "builder"), name: "builder", using: driver)
        try await node.waitConnected()
        let gateway = try await TestGateway.start(cp)
        let http = gateway.http
        let source = try TemplateContentTests.makeTemplate(seed: 11)
        let pushed = try await TemplateContentTests.push(source, name: "golden", tag: "v1", gateway: gateway)
        let templateID = try #require(pushed["template_id"] as? String)
        let events = cp.controlPlane.events.subscribe()

        func start() async throws -> String {
            let reply = try await http.send("POST", "/api/v1/vm", body: #"{"vmid": "\#(templateID)"}"#)
            let id = try #require((reply.json["body"] as? [String])?.first)
            try await events.instances([id], reach: .started)
            return id
        }

        // The instance runs on its own copy of the template's files.
        let first = try await start()
        let disk = driver.directory(of: first).appendingPathComponent("disk")
        #expect(
            try Data(contentsOf: disk.appendingPathComponent("disk.img"))
                == Data(contentsOf: source.appendingPathComponent("disk.img"))
        )

        // The script changes the first block of the disk and adds a file; then the save.
        let script = Self.base64(
            "printf 'patched' | dd of=\"$DISK_DIR/disk.img\" bs=1 seek=0 conv=notrunc 2>/dev/null\n"
                + "echo installed > \"$DISK_DIR/tools.txt\"\necho saved\n"
        )
        let posted = try await http.send(
            "POST",
            "/api/v1/image",
            body:
                #"{"id": "\#(first)", "target_vm_id": "\#(templateID)", "tag": "v2", "description": "with tools", "script": "\#(script)"}"#
        )
        #expect(posted.status == 200, "\(posted.text)")
        let requestID = try #require((posted.json["body"] as? [String: Any])?["request_id"] as? String)
        _ = try await events.instance { $0.instanceID == first && $0.state == .pushing }
        try await events.instances([first], reach: .terminated)  // Anka: a saved instance is gone

        let request = try #require(
            try await http.send("GET", "/api/v1/image?id=\(requestID)").json["body"] as? [String: Any]
        )
        #expect(request["status"] as? String == "done")
        #expect(request["error"] is NSNull)
        #expect((request["script_result"] as? [String: Any])?["return_code"] as? Int == 0)
        #expect((request["script_result"] as? [String: Any])?["stdout"] as? String == "saved\n")
        #expect(request["uploaded_bytes"] as? Int == TemplateContentTests.chunk + "installed\n".utf8.count)
        #expect((request["request"] as? [String: Any])?["Tag"] as? String == "v2")

        let shown = try #require(
            try await http.send("GET", "/api/v1/registry/vm?id=\(templateID)").json["body"] as? [String: Any]
        )
        let newest = try #require((shown["versions"] as? [[String: Any]])?.first)
        #expect(newest["tag"] as? String == "v2")
        #expect(newest["description"] as? String == "with tools")
        #expect(Set(newest["images"] as? [String] ?? []) == ["disk.img", "tools.txt"])

        // A new instance of v2 starts from the saved content.
        let second = try #require(
            try await http.send("POST", "/api/v1/vm", body: #"{"vmid": "\#(templateID)", "tag": "v2"}"#).json["body"]
                as? [String]
        ).first!
        try await events.instances([second], reach: .started)
        let secondDisk = driver.directory(of: second).appendingPathComponent("disk")
        #expect(
            try String(contentsOf: secondDisk.appendingPathComponent("tools.txt"), encoding: .utf8) == "installed\n"
        )
        let head = try Data(contentsOf: secondDisk.appendingPathComponent("disk.img")).prefix(7)
        #expect(String(decoding: head, as: UTF8.self) == "patched")

        // cancel_on_script_failure: nothing is saved and the instance keeps running.
        let failing = try await http.send(
            "POST",
            "/api/v1/image",
            body:
                #"{"id": "\#(second)", "new_template_name": "never", "tag": "x", "script": "\#(Self.base64("echo nope >&2; exit 3"))", "cancel_on_script_failure": true}"#
        )
        let failedID = try #require((failing.json["body"] as? [String: Any])?["request_id"] as? String)
        _ = try await events.instance { $0.instanceID == second && $0.state == .pushing }
        _ = try await events.instance { $0.instanceID == second && $0.state == .started }
        let failed = try #require(
            try await http.send("GET", "/api/v1/image?id=\(failedID)").json["body"] as? [String: Any]
        )
        #expect(failed["status"] as? String == "error")
        #expect((failed["error"] as? [String: Any])?["Message"] as? String == "Script execution failed")
        #expect((failed["script_result"] as? [String: Any])?["return_code"] as? Int == 3)
        #expect((failed["script_result"] as? [String: Any])?["stderr"] as? String == "nope\n")
        let pid = try #require(await driver.pid(of: second))
        #expect(kill(pid, 0) == 0, "the instance's process still runs")
        let names = (try #require(try await http.send("GET", "/api/v1/registry/vm").json["body"] as? [[String: Any]]))
            .compactMap { $0["name"] as? String }
        #expect(!names.contains("never"))

        // revert_before_push replaces the newest tag (v2) with the saved one (v3).
        let reverted = try await http.send(
            "POST",
            "/api/v1/image",
            body: #"{"id": "\#(second)", "target_vm_id": "\#(templateID)", "tag": "v3", "revert_before_push": true}"#
        )
        #expect(reverted.status == 200, "\(reverted.text)")
        try await events.instances([second], reach: .terminated)
        let after = try #require(
            try await http.send("GET", "/api/v1/registry/vm?id=\(templateID)").json["body"] as? [String: Any]
        )
        #expect((after["versions"] as? [[String: Any]])?.compactMap { $0["tag"] as? String } == ["v3", "v1"])
        let list = try #require(try await http.send("GET", "/api/v1/image").json["body"] as? [[String: Any]])
        #expect(list.count == 3)

        // Refusals in the FAIL envelope: unknown instance, missing tag, a tag that exists.
        #expect(
            try await http.send("POST", "/api/v1/image", body: #"{"id": "nope", "tag": "t", "new_template_name": "n"}"#)
                .failedOnItsMerits
        )
        #expect(try await http.send("POST", "/api/v1/image", body: #"{"id": "\#(second)"}"#).failedOnItsMerits)
        let third = try await start()
        let duplicate = try await http.send(
            "POST",
            "/api/v1/image",
            body: #"{"id": "\#(third)", "target_vm_id": "\#(templateID)", "tag": "v1"}"#
        )
        #expect(duplicate.failedOnItsMerits)
        #expect(duplicate.json["status"] as? String == "FAIL")

        await node.stop()
        await gateway.stop()
        await cp.stop()
    }
}
