import ControlPlane
import Foundation
import WireProtocol

/// A wait that ran past its deadline.
public struct TestTimeout: Error, CustomStringConvertible {
    public var what: String
    public init(what: String) { self.what = what }
    public var description: String { "timed out waiting for \(what)" }
}

/// Runs `body`, failing with ``TestTimeout`` if it has not finished after `seconds`.
///
/// The deadline only bounds a wait for an event; it never stands in for one.
public func withTimeout<T: Sendable>(
    _ seconds: Double,
    _ what: String,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
            throw TestTimeout(what: what)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

extension AsyncStream where Element == FleetEvent {
    /// The first instance event matching `predicate`.
    public func instance(
        timeout: Double = 10,
        _ what: String = "instance event",
        where predicate: @escaping @Sendable (InstanceRecord) -> Bool
    ) async throws -> InstanceRecord {
        try await withTimeout(timeout, what) {
            for await event in self {
                if case .instance(let record) = event, predicate(record) { return record }
            }
            throw TestTimeout(what: "\(what): stream ended")
        }
    }

    /// Waits until every id in `ids` has reached `state`.
    public func instances(_ ids: Set<String>, reach state: InstanceState, timeout: Double = 30) async throws {
        guard !ids.isEmpty else { return }
        try await withTimeout(timeout, "\(ids.count) instances to reach \(state)") {
            var remaining = ids
            for await event in self {
                if case .instance(let record) = event, record.state == state { remaining.remove(record.instanceID) }
                if remaining.isEmpty { return }
            }
            throw TestTimeout(what: "stream ended")
        }
    }

    /// The first node event matching `state` for `id`.
    public func node(_ id: String, becomes state: String, timeout: Double = 30) async throws {
        try await withTimeout(timeout, "node \(id) to become \(state)") {
            for await event in self {
                if case .node(let nodeID, let current) = event, nodeID == id, current == state { return }
            }
            throw TestTimeout(what: "stream ended")
        }
    }

    /// The first event matching `predicate`.
    @discardableResult
    public func first(
        _ what: String,
        timeout: Double = 10,
        where predicate: @escaping @Sendable (FleetEvent) -> Bool
    ) async throws -> FleetEvent {
        try await withTimeout(timeout, what) {
            for await event in self where predicate(event) { return event }
            throw TestTimeout(what: "\(what): stream ended")
        }
    }
}
