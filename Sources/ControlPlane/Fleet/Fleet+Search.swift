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
        let text = Array(search.text.lowercased().utf8)
        let key: (InstanceRow) -> String? =
            switch sort {
            case "state": { $0.state }
            case "template": { ($0.templateName.isEmpty ? $0.templateId : $0.templateName) + ":" + $0.tag }
            case "node": { $0.nodeId ?? "" }
            case "name": { $0.name }
            case "external_id": { $0.externalId }
            default: { _ in nil }
            }
        // Matches are sorted as small values (the sort key, creation time and id), not as
        // rows: a row is dozens of fields, and a sort moves its elements many times.
        var matches: [SearchMatch] = []
        for row in instances.rows.values {
            if let state {
                guard row.state == state else { continue }
            } else if row.state == "Terminated" {
                continue
            }
            if !search.nodeID.isEmpty, row.nodeId != search.nodeID { continue }
            if !search.groupID.isEmpty, row.groupId != search.groupID { continue }
            if !search.externalID.isEmpty, !row.externalId.contains(search.externalID) { continue }
            if !text.isEmpty,
                !(Self.contains(text, in: row.id) || Self.contains(text, in: row.name)
                    || Self.contains(text, in: row.externalId) || Self.contains(text, in: row.templateName))
            {
                continue
            }
            matches.append(SearchMatch(key: key(row), created: row.crTime, id: row.id))
        }
        let ascending = search.ascending
        matches.sort { a, b in
            if let keyA = a.key, let keyB = b.key, keyA != keyB { return ascending ? keyA < keyB : keyA > keyB }
            // Creation order, then the id, so every order is total and a page is stable.
            if a.created != b.created { return ascending ? a.created < b.created : a.created > b.created }
            return a.id < b.id
        }
        let page = matches.dropFirst(search.offset).prefix(limit)
        return SearchPage(
            items: page.compactMap { instances[$0.id].map(InstanceRecord.init) },
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
        let text = Array(search.text.lowercased().utf8)
        let memberships = groups.memberships
        let candidates = nodes.values.filter { row in
            if let permitted, !permitted.contains(row.id) { return false }
            if !search.groupID.isEmpty, memberships[row.id]?.contains(search.groupID) != true { return false }
            return text.isEmpty || Self.contains(text, in: row.id) || Self.contains(text, in: row.name)
                || Self.contains(text, in: row.ipAddress)
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

    /// Whether `field` contains `needle` (lowercased UTF-8), ignoring case. ASCII is folded
    /// in place, byte by byte, with no allocation; a field with other letters is lowercased
    /// whole first.
    private static func contains(_ needle: [UInt8], in field: String) -> Bool {
        var field = field
        return field.withUTF8 { bytes in
            if bytes.contains(where: { $0 >= 0x80 }) {
                return Array(String(decoding: bytes, as: UTF8.self).lowercased().utf8).contains(needle)
            }
            guard bytes.count >= needle.count else { return false }
            for start in 0...(bytes.count - needle.count) {
                var index = 0
                while index < needle.count {
                    var byte = bytes[start + index]
                    if byte >= 0x41 && byte <= 0x5A { byte |= 0x20 }
                    guard byte == needle[index] else { break }
                    index += 1
                }
                if index == needle.count { return true }
            }
            return false
        }
    }
}

/// An instance that matched a search, as the sort needs it.
private struct SearchMatch {
    let key: String?
    let created: Int64
    let id: String
}
