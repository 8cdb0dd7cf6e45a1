import Foundation
import Persistence
import WireProtocol

/// Filtered, sorted, paged lists for people (the dashboard), answered from memory. Only
/// the page is turned into records, so an answer costs a pass over the rows plus a sort of
/// the matches, and its size follows the page, not the fleet.
extension Fleet {
    /// One page of the instances `search` matches.
    func searchInstances(_ search: InstanceSearch) throws -> SearchPage<InstanceRecord> {
        let (limit, sort) = try Self.page(
            limit: search.limit,
            offset: search.offset,
            sort: search.sort,
            keys: InstanceSearch.sortKeys,
            maximum: InstanceSearch.maximumLimit
        )
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
            if !search.tags.isEmpty, !InstanceTags.matches(row.tags, wanted: search.tags) { continue }
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
        let (limit, sort) = try Self.page(
            limit: search.limit,
            offset: search.offset,
            sort: search.sort,
            keys: NodeSearch.sortKeys,
            maximum: NodeSearch.maximumLimit
        )
        let text = Array(search.text.lowercased().utf8)
        let memberships = groups.memberships
        var total = 0
        // Filtered and sorted as small values; only the page is built into records.
        var matches: [NodeMatch] = []
        for node in nodes.values {
            if let permitted, !permitted.contains(node.id) { continue }
            total += 1
            if !search.groupID.isEmpty, memberships[node.id]?.contains(search.groupID) != true { continue }
            if !text.isEmpty,
                !(Self.contains(text, in: node.id) || Self.contains(text, in: node.name)
                    || Self.contains(text, in: node.ipAddress))
            {
                continue
            }
            let (row, state, used) = live(node)
            if !search.state.isEmpty, search.state == "Drain mode" ? !row.drainMode : state != search.state {
                continue
            }
            matches.append(NodeMatch(row: row, state: state, vmCount: used.count))
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
                case "cpu": ordered(a.row.cpuUtil, b.row.cpuUtil)
                case "ram": ordered(a.row.ramUtil, b.row.ramUtil)
                case "created": ordered(a.row.createdAt, b.row.createdAt)
                default: nil
                }
            if let decided { return decided }
            return ordered(a.displayName, b.displayName) ?? (a.row.id < b.row.id)
        }
        return SearchPage(
            items: nodeRecords(matches.dropFirst(search.offset).prefix(limit).map(\.row)),
            matching: matches.count,
            total: total
        )
    }

    /// Checks a search's paging and order: the page size (0 means 50; otherwise
    /// 1 … `maximum`) and the sort key (empty means the first of `keys`).
    private static func page(
        limit: Int,
        offset: Int,
        sort: String,
        keys: [String],
        maximum: Int
    ) throws -> (limit: Int, sort: String) {
        guard limit == 0 || (1...maximum).contains(limit) else {
            throw ControlPlaneError.badRequest("limit must be between 1 and \(maximum)")
        }
        guard offset >= 0 else { throw ControlPlaneError.badRequest("offset must not be negative") }
        let sort = sort.isEmpty ? keys[0] : sort
        guard keys.contains(sort) else {
            throw ControlPlaneError.badRequest("sort must be one of \(keys.joined(separator: ", "))")
        }
        return (limit == 0 ? 50 : limit, sort)
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

/// A node that matched a search: its row as shown now, and what the sort needs besides.
private struct NodeMatch {
    let row: NodeRow
    let state: String
    let vmCount: Int

    var displayName: String { row.name.isEmpty ? row.id : row.name }
}

/// An instance that matched a search, as the sort needs it.
private struct SearchMatch {
    let key: String?
    let created: Int64
    let id: String
}
