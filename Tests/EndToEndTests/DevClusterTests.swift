import BerthTestSupport
import DevCluster
import Foundation
import Testing

/// What `berth dev` runs, checked through its REST API: seeded templates, simulated
/// nodes enrolled through the real join path, the printed root token enforced.
@Suite struct DevClusterTests {
    @Test func theDevFlowStartsListsAndTerminatesAnInstance() async throws {
        var options = DevCluster.Options()
        options.httpPort = 0
        options.bootTime = .milliseconds(20)
        options.pullTime = .milliseconds(20)
        options.dataDirectory = TestPaths.temporaryDirectory("dev")
        let (ready, readyContinuation) = AsyncStream.makeStream(of: DevCluster.Endpoints.self)
        let cluster = Task {
            try await DevCluster(options: options, logger: TestLogging.logger("dev")).run {
                readyContinuation.yield($0)
            }
        }
        var iterator = ready.makeAsyncIterator()
        let endpoints = try #require(await iterator.next())
        #expect(endpoints.nodeIDs.count == 2)
        let token = try #require(endpoints.rootToken)
        let http = HTTPTestClient(
            base: "http://127.0.0.1:\(endpoints.httpPort)",
            authorization: "Basic " + Data("root:\(token)".utf8).base64EncodedString()
        )
        #expect(try await HTTPTestClient(base: http.base, authorization: nil).send("GET", "/api/v1/vm").status == 401)

        let vmid = SeedTemplates.all[1].id
        let started = try await http.send("POST", "/api/v1/vm", body: #"{"vmid": "\#(vmid)"}"#)
        let id = try #require((started.json["body"] as? [String])?.first)
        // Wait as a client would, on the server's event (a loop of reads timed out on a busy
        // machine, and could not be cancelled between reads).
        let waited = try await http.send("GET", "/berth/v1/vm/wait?id=\(id)&state=Started&timeout=60")
        #expect(waited.status == 200, "\(waited.text)")
        let shown = try await http.send("GET", "/api/v1/vm?id=\(id)")
        #expect((shown.json["body"] as? [String: Any])?["instance_state"] as? String == "Started")
        #expect(try await http.send("DELETE", "/api/v1/vm", body: #"{"id": "\#(id)"}"#).status == 200)
        cluster.cancel()
        _ = await cluster.result
    }
}
