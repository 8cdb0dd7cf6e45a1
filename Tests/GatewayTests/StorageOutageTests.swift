import BerthTestSupport
import ControlPlane
import Foundation
import Persistence
import Testing

/// What REST callers see while the control plane's database cannot be written (PostgreSQL
/// down, or failing over): 503 with the FAIL envelope, nothing acknowledged, and service
/// again once the database is back.
@Suite struct StorageOutageTests {
    @Test func whileTheDatabaseIsDownCallsAre503WithTheEnvelopeAndNothingIsAcknowledged() async throws {
        try #require(TestPostgres.isAvailable, "needs PostgreSQL (apt-get install postgresql) and root for runuser")
        try await TestPostgres.with { cluster in
            let cp = try await TestControlPlane.start(store: TestStore(location: try PostgresLocation(url: cluster.url)))
            try await TestTemplates.seed(cp.database)
            let gateway = try await TestGateway.start(cp, rootToken: "outage-root")
            let body = #"{"vmid": "\#(TestTemplates.linux)"}"#
            let before = try await gateway.http.send("POST", "/api/v1/vm", body: body)
            #expect(before.status == 200 && before.json["status"] as? String == "OK", "\(before.text)")

            try await cluster.kill()
            for _ in 0..<3 {
                let refused = try await gateway.http.send("POST", "/api/v1/vm", body: body)
                #expect(refused.status == 503, "\(refused.status) \(refused.text)")
                #expect(refused.json["status"] as? String == "FAIL", "\(refused.text)")
                let message = try #require(refused.json["message"] as? String)
                #expect(message.contains("database is unavailable"), "\(message)")
                #expect(!message.contains("127.0.0.1"), "no database address for REST callers: \(message)")
            }

            try await cluster.startServer()
            var after = try await gateway.http.send("POST", "/api/v1/vm", body: body)
            // The first write after the restart may meet a connection the server closed.
            if after.status == 503 { after = try await gateway.http.send("POST", "/api/v1/vm", body: body) }
            #expect(after.status == 200 && after.json["status"] as? String == "OK", "\(after.text)")
            // Only the acknowledged starts exist.
            let stored = try await cp.database.instances().count
            #expect(stored == 2, "\(stored) instances")
            await gateway.stop()
            await cp.stop()
        }
    }
}
