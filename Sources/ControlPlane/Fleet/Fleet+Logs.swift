import Persistence
import WireProtocol

extension Fleet {
    static let logTimeout: Duration = .seconds(10)

    /// A slice of an instance's log, fetched from the node that runs it.
    func instanceLog(_ request: LogRequest) async throws -> LogChunk {
        guard let row = try await database.instance(id: request.instanceID) else {
            throw ControlPlaneError.notFound("No such instance \(request.instanceID)")
        }
        guard let nodeID = row.nodeId else {
            throw ControlPlaneError.notFound("instance \(row.id) has not been placed on a node yet; it has no log")
        }
        guard let link = links[nodeID], link.ready else {
            throw ControlPlaneError(.unavailable, "node \(nodeID) is offline; the instance's log is on that node")
        }
        let id = nextLogRequest
        nextLogRequest &+= 1
        let session = link.session
        let chunk: LogChunk = try await withCheckedThrowingContinuation { continuation in
            logWaiters[id] = continuation
            session.send(LogRequest(requestID: id, instanceID: row.id, offset: request.offset, limit: request.limit))
            Task {
                try? await Task.sleep(for: Self.logTimeout)
                self.logTimedOut(id)
            }
        }
        guard chunk.error.isEmpty else { throw ControlPlaneError.notFound(chunk.error) }
        return chunk
    }

    /// A node answered a log request.
    func logArrived(_ chunk: LogChunk) {
        logWaiters.removeValue(forKey: chunk.requestID)?.resume(returning: chunk)
    }

    private func logTimedOut(_ id: UInt64) {
        logWaiters.removeValue(forKey: id)?.resume(
            throwing: ControlPlaneError(.unavailable, "the node did not send the log in time")
        )
    }
}
