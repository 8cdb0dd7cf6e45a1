import Foundation

/// The instance calls most REST tests make, over a real HTTP connection.
extension HTTPTestClient {
    /// Starts one instance of `template` with the extra JSON `fields` (`"a": 1, "b": 2`) and
    /// returns its id; a refusal throws with the answer.
    public func startInstance(template: String = TestTemplates.linux, _ fields: String = "") async throws -> String {
        let reply = try await send(
            "POST",
            "/api/v1/vm",
            body: #"{"vmid": "\#(template)"\#(fields.isEmpty ? "" : ", " + fields)}"#
        )
        guard reply.status == 200, reply.json["status"] as? String == "OK",
            let id = (reply.json["body"] as? [String])?.first
        else { throw RefusedCall(answer: reply.text) }
        return id
    }

    /// `GET /api/v1/vm?id=`'s body: the instance in Anka's shape.
    public func instance(_ id: String) async throws -> [String: Any] {
        let reply = try await send("GET", "/api/v1/vm?id=\(id)")
        guard let body = reply.json["body"] as? [String: Any] else { throw RefusedCall(answer: reply.text) }
        return body
    }

    /// A call answered with something other than what the test needed.
    public struct RefusedCall: Error, CustomStringConvertible {
        public var answer: String
        public var description: String { "refused: \(answer)" }
    }
}
