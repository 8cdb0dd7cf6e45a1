import BerthTestSupport
import ControlPlane
import Foundation
import NodeAgent
import Testing
import WireProtocol

#if canImport(Glibc)
import Glibc
#endif

/// Startup scripts on the `process` driver: real processes, a real shell, over the REST API.
@Suite struct StartupScriptTests {
    struct Fleet {
        let cp: TestControlPlane
        let gateway: TestGateway
        let agent: TestAgent
        let driver: ProcessDriver
        let events: AsyncStream<FleetEvent>

        func start(_ fields: String) async throws -> String {
            let reply = try await gateway.http.send(
                "POST",
                "/api/v1/vm",
                body: #"{"vmid": "\#(TestTemplates.linux)", \#(fields)}"#
            )
            #expect(reply.status == 200, "\(reply.text)")
            return try #require((reply.json["body"] as? [String])?.first)
        }

        func vm(_ id: String) async throws -> [String: Any] {
            try #require(try await gateway.http.send("GET", "/api/v1/vm?id=\(id)").json["body"] as? [String: Any])
        }

        func stop() async {
            await agent.stop()
            await gateway.stop()
            await cp.stop()
        }
    }

    static func fleet() async throws -> Fleet {
        let cp = try await TestControlPlane.start()
        try await TestTemplates.seed(cp.database)
        let driver = ProcessDriver(configuration: .init(root: TestPaths.temporaryDirectory("process-driver")))
        let agent = cp.startAgent(try await cp.enroll(name: "linux-1"), name: "linux-1", using: driver)
        try await agent.waitConnected()
        let gateway = try await TestGateway.start(cp)
        return Fleet(cp: cp, gateway: gateway, agent: agent, driver: driver, events: cp.controlPlane.events.subscribe())
    }

    static func base64(_ script: String) -> String { Data(script.utf8).base64EncodedString() }

    static func isAlive(_ pid: Int32) -> Bool { kill(pid, 0) == 0 }

    @Test func aMonitoredScriptRunsInTheInstanceDirectoryAndReportsItsOutput() async throws {
        let fleet = try await Self.fleet()
        let script = Self.base64("echo hello from $INSTANCE_ID; echo warn >&2; pwd > where.txt\n")
        let id = try await fleet.start(#""startup_script": "\#(script)", "script_monitoring": true"#)
        _ = try await fleet.events.instance(where: { $0.instanceID == id && $0.state == .started })
        let vm = try await fleet.vm(id)
        let result = try #require(vm["startup_script"] as? [String: Any])
        #expect(result["return_code"] as? Int == 0)
        #expect(result["did_timeout"] as? Bool == false)
        #expect(result["stdout"] as? String == "hello from \(id)\n")
        #expect(result["stderr"] as? String == "warn\n")
        #expect(result["errors"] == nil)
        let directory = fleet.driver.directory(of: id)
        let written = try String(contentsOf: directory.appendingPathComponent("where.txt"), encoding: .utf8)
        #expect(written.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix(id))
        // The VM is a real process; terminating ends it and removes its directory.
        let pid = try #require(await fleet.driver.pid(of: id))
        #expect(Self.isAlive(pid))
        #expect(try await fleet.gateway.http.send("DELETE", "/api/v1/vm", body: #"{"id": "\#(id)"}"#).status == 200)
        _ = try await fleet.events.instance(where: { $0.instanceID == id && $0.state == .terminated })
        #expect(!FileManager.default.fileExists(atPath: directory.path))
        await fleet.stop()
    }

    /// Scripts written for Anka run under bash, as `sh` is bash in a macOS VM. Veertu's own
    /// GitHub Action starts with `set -exo pipefail`, which dash (Debian's `/bin/sh`) refuses.
    @Test func aBashScriptRunsWithBashAndTheResultNamesTheShell() async throws {
        let fleet = try await Self.fleet()
        let script = Self.base64("set -exo pipefail\nnames=(a b)\n[[ ${#names[@]} == 2 ]] && echo \"bash ${names[1]}\"\n")
        let id = try await fleet.start(#""startup_script": "\#(script)", "script_monitoring": true"#)
        _ = try await fleet.events.instance(where: { $0.instanceID == id && $0.state == .started })
        let result = try #require(try await fleet.vm(id)["startup_script"] as? [String: Any])
        #expect(result["return_code"] as? Int == 0, "\(result)")
        #expect(result["stdout"] as? String == "bash b\n")
        #expect(result["shell"] as? String == ScriptRunner.shell)
        #expect(ScriptRunner.shell.hasSuffix("/bash"), "this host has bash; Debian always does")
        await fleet.stop()
    }

    /// The simulated driver runs scripts the same way.
    @Test func theSimulatedDriverRunsScriptsWithBashToo() async throws {
        let driver = SimulatedDriver(configuration: .fast)
        let result = await driver.runScript(
            instanceID: "sim-\(UInt64.random(in: 1...UInt64.max))",
            script: Array("set -o pipefail\n[[ -n $BASH_VERSION ]] && echo yes\n".utf8),
            timeout: .seconds(30)
        )
        #expect(result.succeeded, "\(result)")
        #expect(result.stdout == "yes\n")
        #expect(result.shell == ScriptRunner.shell)
    }

    @Test func aFailedScriptPutsTheInstanceInErrorAndTheHandlerDecidesTheVM() async throws {
        let fleet = try await Self.fleet()
        let failing = Self.base64("echo trying; exit 3\n")
        // 0: stop the VM.
        let stopped = try await fleet.start(#""startup_script": "\#(failing)", "script_monitoring": true"#)
        let error = try await fleet.events.instance(where: { $0.instanceID == stopped && $0.state == .error })
        #expect(error.message == "startup script failed with exit code 3")
        let vm = try await fleet.vm(stopped)
        #expect((vm["startup_script"] as? [String: Any])?["return_code"] as? Int == 3)
        #expect((vm["startup_script"] as? [String: Any])?["stdout"] as? String == "trying\n")
        #expect(await fleet.driver.pid(of: stopped) == nil)
        #expect(FileManager.default.fileExists(atPath: fleet.driver.directory(of: stopped).path))
        // 1: keep it running.
        let kept = try await fleet.start(
            #""startup_script": "\#(failing)", "script_monitoring": true, "script_fail_handler": 1"#
        )
        _ = try await fleet.events.instance(where: { $0.instanceID == kept && $0.state == .error })
        let keptPID = try #require(await fleet.driver.pid(of: kept))
        #expect(Self.isAlive(keptPID))
        // 2: delete it.
        let deleted = try await fleet.start(
            #""startup_script": "\#(failing)", "script_monitoring": true, "script_fail_handler": 2"#
        )
        _ = try await fleet.events.instance(where: { $0.instanceID == deleted && $0.state == .error })
        #expect(!FileManager.default.fileExists(atPath: fleet.driver.directory(of: deleted).path))
        // Terminating an Error instance still works, and ends a kept process.
        #expect(try await fleet.gateway.http.send("DELETE", "/api/v1/vm", body: #"{"id": "\#(kept)"}"#).status == 200)
        _ = try await fleet.events.instance(where: { $0.instanceID == kept && $0.state == .terminated })
        #expect(!Self.isAlive(keptPID))
        await fleet.stop()
    }

    @Test func aScriptThatRunsTooLongTimesOutAndItsChildrenEnd() async throws {
        let fleet = try await Self.fleet()
        let marker = TestPaths.temporaryDirectory("timeout").appendingPathComponent("late")
        let slow = Self.base64("echo started; (sleep 30; touch '\(marker.path)') & sleep 30\n")
        let id = try await fleet.start(#""startup_script": "\#(slow)", "script_monitoring": true, "script_timeout": 1"#)
        let error = try await fleet.events.instance(timeout: 15, where: { $0.instanceID == id && $0.state == .error })
        #expect(error.message == "startup script timed out after 1s")
        let result = try #require(try await fleet.vm(id)["startup_script"] as? [String: Any])
        #expect(result["did_timeout"] as? Bool == true)
        #expect(result["return_code"] as? Int == -1)
        #expect(result["stdout"] as? String == "started\n")
        await fleet.stop()
    }

    @Test func anUnmonitoredScriptDoesNotHoldTheStartOrReportAResult() async throws {
        let fleet = try await Self.fleet()
        let id = try await fleet.start(#""startup_script": "\#(Self.base64("exit 9\n"))""#)
        _ = try await fleet.events.instance(where: { $0.instanceID == id && $0.state == .started })
        #expect(try await fleet.vm(id)["startup_script"] == nil)
        // Stop and restart act on the real process: restart starts a new one.
        let before = try #require(await fleet.driver.pid(of: id))
        #expect(
            try await fleet.gateway.http.send("POST", "/api/v1/rpc/vm/restart", body: #"{"id": "\#(id)"}"#).status
                == 200
        )
        // The next Started event of this instance is the restart's.
        _ = try await fleet.events.instance(where: { $0.instanceID == id && $0.state == .started })
        let after = await fleet.driver.pid(of: id)
        #expect(after != nil && after != before)
        #expect(!Self.isAlive(before))
        await fleet.stop()
    }

    @Test func instanceLogsComeFromTheNodeByByteOffset() async throws {
        let fleet = try await Self.fleet()
        let failing = Self.base64("echo compiling; echo 'ld: symbol not found' >&2; exit 2\n")
        let id = try await fleet.start(
            #""startup_script": "\#(failing)", "script_monitoring": true, "script_fail_handler": 1"#
        )
        _ = try await fleet.events.instance(where: { $0.instanceID == id && $0.state == .error })
        let http = fleet.gateway.http
        let whole = try #require(
            try await http.send("GET", "/berth/v1/vm/logs?id=\(id)").json["body"] as? [String: Any]
        )
        let output = try #require(whole["output"] as? String)
        #expect(output.contains("start: template ubuntu-22.04"))
        #expect(output.contains("startup script: exit 2"))
        #expect(output.contains("compiling"))
        #expect(output.contains("ld: symbol not found"))
        let size = try #require(whole["size"] as? Int)
        #expect(whole["offset"] as? Int == 0)
        #expect(whole["length"] as? Int == size)

        // A window, and the tail with a negative offset.
        let window = try #require(
            try await http.send("GET", "/berth/v1/vm/logs?id=\(id)&offset=5&limit=10").json["body"] as? [String: Any]
        )
        #expect(window["offset"] as? Int == 5)
        #expect((window["output"] as? String) == String(output.utf8.dropFirst(5).prefix(10))!)
        let tail = try #require(
            try await http.send("GET", "/berth/v1/vm/logs?id=\(id)&offset=-20").json["body"] as? [String: Any]
        )
        #expect(tail["offset"] as? Int == size - 20)
        #expect((tail["output"] as? String).map { output.hasSuffix($0) } == true)

        // The error log as a download.
        let download = try await http.send("GET", "/berth/v1/vm/logs?id=\(id)&format=text")
        #expect(download.status == 200)
        #expect(download.contentType.hasPrefix("text/plain"))
        #expect(download.text == output)

        // Bad input and unknown instances get the envelope.
        #expect(try await http.send("GET", "/berth/v1/vm/logs").status == 400)
        #expect(try await http.send("GET", "/berth/v1/vm/logs?id=\(id)&limit=0").status == 400)
        #expect(try await http.send("GET", "/berth/v1/vm/logs?id=nope").status == 404)
        await fleet.stop()
    }
}
