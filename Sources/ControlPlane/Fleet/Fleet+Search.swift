import Foundation
import Persistence
import WireProtocol

/// Filtered, sorted, paged lists for people (the dashboard), answered from memory. Only
/// the page is turned into records, so an answer costs a pass over the rows plus a sort of
/// the matches, and its size follows the page, not the fleet.
extension Fleet {
    /// One page of the instances `search` matches.
    func searchInstances(_ search: InstanceSearch) throws -> SearchPage<InstanceRecord> {
        let limit = try Self.pageSize(search.limit, maximum: InstanceSearch.maximumLimit)
        guard search.offset >= 0 else { throw ControlPlaneError.badRequest("offset must not be negative") }
        let sort = search.sort.isEmpty ? "created" : search.sort
        guard InstanceSearch.sortKeys.contains(sort) else {
            throw ControlPlaneError.badRequest(
                "sort must be one of \(InstanceSearch.sortKeys.joined(separator: ", "))"
            )
        }
        var state: String?
        if !search.state.isEmpty {
            guard let known = InstanceState(ankaName: search.state) else {
                throw ControlPlaneError.badRequest("No such state \(search.state)")
            }
            state = known.description
        }
        let text = search.text.lowercased()
        var matches: [InstanceRow] = []
        for row in instances.rows.values {
            if let state {
                guard row.state == state else { continue }
            } else if row.state == "Terminated" {
                continue
            }
            if !search.nodeID.isEmpty, row.nodeId != search.nodeID { continue }
            if !search.groupID.isEmpty, row.groupId != search.groupID { continue }
            if !search.externalID.isEmpty, !row.externalId.contains(search.externalID) { continue }
            if !text.isEmpty, !Self.contains(text, in: [row.id, row.name, row.externalId, row.templateName]) {
                continue
            }
            matches.append(row)
        }
        let ascending = search.ascending
        let key: (InstanceRow) -> String? =
            switch sort {
            case "state": { $0.state }
            case "template": { ($0.templateName.isEmpty ? $0.templateId : $0.templateName) + ":" + $0.tag }
            case "node": { $0.nodeId ?? "" }
            case "name": { $0.name }
            case "external_id": { $0.externalId }
            default: { _ in nil }
            }
        matches.sort { a, b in
            if let keyA = key(a), let keyB = key(b), keyA != keyB { return ascending ? keyA < keyB : keyA > keyB }
            // Creation order, then the id, so every order is total and a page is stable.
            if a.crTime != b.crTime { return ascending ? a.crTime < b.crTime : a.crTime > b.crTime }
            return a.id < b.id
        }
        let page = matches.dropFirst(search.offset).prefix(limit)
        return SearchPage(
            items: page.map(InstanceRecord.init),
            matching: matches.count,
            total: instances.count
        )
    }

    /// One page of the nodes `search` matches, among `permitted` (nil: every node).
    func searchNodes(_ search: NodeSearch, permitted: Set<String>?) throws -> SearchPage<NodeRecord> {
        let limit = try Self.pageSize(search.limit, maximum: NodeSearch.maximumLimit)
        guard search.offset >= 0 else { throw ControlPlaneError.badRequest("offset must not be negative") }
        let sort = search.sort.isEmpty ? "name" : search.sort
        guard NodeSearch.sortKeys.contains(sort) else {
            throw ControlPlaneError.badRequest("sort must be one of \(NodeSearch.sortKeys.joined(separator: ", "))")
        }
        let text = search.text.lowercased()
        let memberships = groups.memberships
        let candidates = nodes.values.filter { row in
            if let permitted, !permitted.contains(row.id) { return false }
            if !search.groupID.isEmpty, memberships[row.id]?.contains(search.groupID) != true { return false }
            return text.isEmpty || Self.contains(text, in: [row.id, row.name, row.ipAddress])
        }
        let total = permitted.map { permitted in nodes.keys.count { permitted.contains($0) } } ?? nodes.count
        // A node's state and load are only known once its record is built; the rows left are few.
        var matches = nodeRecords(candidates)
        if !search.state.isEmpty {
            matches.removeAll { node in
                search.state == "Drain mode" ? !node.drainMode : node.state != search.state
            }
        }
        let descending = search.descending
        func ordered<Key: Comparable>(_ a: Key, _ b: Key) -> Bool? {
            a == b ? nil : (descending ? a > b : a < b)
        }
        matches.sort { a, b in
            let decided: Bool? =
                switch sort {
                case "state": ordered(a.state, b.state)
                case "instances": ordered(a.vmCount, b.vmCount)
                case "cpu": ordered(a.cpuUtil, b.cpuUtil)
                case "ram": ordered(a.ramUtil, b.ramUtil)
                case "created": ordered(nodes[a.nodeID]?.createdAt ?? 0, nodes[b.nodeID]?.createdAt ?? 0)
                default: nil
                }
            if let decided { return decided }
            let nameA = a.name.isEmpty ? a.nodeID : a.name
            let nameB = b.name.isEmpty ? b.nodeID : b.name
            return ordered(nameA, nameB) ?? (a.nodeID < b.nodeID)
        }
        return SearchPage(
            items: Array(matches.dropFirst(search.offset).prefix(limit)),
            matching: matches.count,
            total: total
        )
    }

    /// A requested page size: 0 means 50; otherwise 1 … `maximum`.
    private static func pageSize(_ limit: Int, maximum: Int) throws -> Int {
        if limit == 0 { return 50 }
        guard (1...maximum).contains(limit) else {
            throw ControlPlaneError.badRequest("limit must be between 1 and \(maximum)")
        }
        return limit
    }

    /// Whether any of `fields` contains `needle` (already lowercased), ignoring case.
    private static func contains(_ needle: String, in fields: [String]) -> Bool {
        fields.contains { $0.lowercased().contains(needle) }
    }
}
