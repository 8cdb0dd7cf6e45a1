import Persistence
import WireProtocol

extension Fleet {
    static let logTimeout: Duration = .seconds(10)

    /// A slice of an instance's log, fetched from the node that runs it.
    func instanceLog(_ request: LogRequest) async throws -> LogChunk {
        guard let row = instances[request.instanceID] else {
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
        let key = LogWaiterKey(nodeID: nodeID, requestID: id)
        let chunk: LogChunk = try await withCheckedThrowingContinuation { continuation in
            logWaiters[key] = continuation
            session.send(LogRequest(requestID: id, instanceID: row.id, offset: request.offset, limit: request.limit))
            Task {
                try? await Task.sleep(for: Self.logTimeout)
                self.logTimedOut(key)
            }
        }
        guard chunk.error.isEmpty else { throw ControlPlaneError.notFound(chunk.error) }
        return chunk
    }

    /// Node `nodeID` answered a log request; an answer to a request it was not sent is dropped.
    func logArrived(nodeID: String, _ chunk: LogChunk) {
        logWaiters.removeValue(forKey: LogWaiterKey(nodeID: nodeID, requestID: chunk.requestID))?
            .resume(returning: chunk)
    }

    private func logTimedOut(_ key: LogWaiterKey) {
        logWaiters.removeValue(forKey: key)?.resume(
            throwing: ControlPlaneError(.unavailable, "the node did not send the log in time")
        )
    }
}

/// A log request in flight: the node it was sent to, and its id.
struct LogWaiterKey: Hashable, Sendable {
    var nodeID: String
    var requestID: UInt64
}
