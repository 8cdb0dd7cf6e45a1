import Foundation

extension BerthDatabase {
    /// One address of the pool.
    public struct MACEntry: Sendable, Equatable {
        public var mac: String
        /// The instance holding it; empty when free.
        public var instanceID: String
    }

    /// `AA:BB:CC:DD:EE:FF` for a 48-bit value.
    public static func macString(_ value: UInt64) -> String {
        (0..<6).reversed().map { String(format: "%02X", (value >> (UInt64($0) * 8)) & 0xFF) }.joined(separator: ":")
    }

    /// The 48-bit value of `AA:BB:CC:DD:EE:FF`, or `nil`.
    public static func macValue(_ text: String) -> UInt64? {
        let parts = text.split(separator: ":")
        guard parts.count == 6 else { return nil }
        var value: UInt64 = 0
        for part in parts {
            guard part.count == 2, let byte = UInt64(part, radix: 16) else { return nil }
            value = value << 8 | byte
        }
        return value
    }

    /// Adds every address of `first...last` that is not in the pool yet. Returns how many.
    @discardableResult
    public func populateMACs(first: UInt64, last: UInt64) async throws -> Int {
        try await engine.write { db in
            // Several hundred addresses per statement: a pool is up to 65,536 of them, and
            // on PostgreSQL each statement is a round trip.
            var added = 0
            var value = first
            while value <= last {
                let end = min(last, value + 499)
                var arguments: [SQLValue] = []
                for address in value...end { arguments += [.integer(Int64(address)), .text(Self.macString(address))] }
                added += try db.execute(
                    "INSERT INTO mac_addresses (value, mac) VALUES "
                        + Array(repeating: "(?, ?)", count: Int(end - value + 1)).joined(separator: ", ")
                        + " ON CONFLICT DO NOTHING",
                    arguments
                )
                if end == last { break }
                value = end + 1
            }
            return added
        }
    }

    /// Deletes every free address; addresses held by instances stay. Returns how many stayed.
    public func purgeFreeMACs() async throws -> Int {
        try await engine.write { db in
            try db.execute("DELETE FROM mac_addresses WHERE instance_id IS NULL", [])
            return try db.value("SELECT COUNT(*) FROM mac_addresses").int ?? 0
        }
    }

    public func countMACs(inUse: Bool) async throws -> Int {
        try await engine.read { db in
            try db.value("SELECT COUNT(*) FROM mac_addresses WHERE instance_id IS \(inUse ? "NOT NULL" : "NULL")").int ?? 0
        }
    }

    /// Addresses in order, after `last` when given; only those in use with `inUseOnly`.
    public func macs(limit: Int, after last: UInt64?, inUseOnly: Bool) async throws -> [MACEntry] {
        var sql = "SELECT mac, instance_id FROM mac_addresses WHERE value > ?"
        if inUseOnly { sql += " AND instance_id IS NOT NULL" }
        sql += " ORDER BY value LIMIT ?"
        let query = sql
        return try await engine.read { db in
            try db.rows(query, [.integer(last.map { Int64($0) } ?? -1), SQLValue(limit)]).map {
                MACEntry(mac: $0[0].string ?? "", instanceID: $0[1].string ?? "")
            }
        }
    }

    static func claimMAC(_ db: any SQLTransaction, instanceID: String, wanted: String) throws -> String {
        if !wanted.isEmpty {
            guard let holder = try db.row("SELECT instance_id FROM mac_addresses WHERE mac = ?", [.text(wanted)]) else {
                throw PersistenceError(.notFound, "MAC address \(wanted) is not in the managed pool")
            }
            guard holder[0].isNull else {
                throw PersistenceError(.conflict, "MAC address \(wanted) is in use")
            }
            try db.execute("UPDATE mac_addresses SET instance_id = ? WHERE mac = ?", [.text(instanceID), .text(wanted)])
            return wanted
        }
        guard
            let free = try db.value("SELECT mac FROM mac_addresses WHERE instance_id IS NULL ORDER BY value LIMIT 1").string
        else {
            throw PersistenceError(.conflict, "no free MAC address in the managed pool")
        }
        try db.execute("UPDATE mac_addresses SET instance_id = ? WHERE mac = ?", [.text(instanceID), .text(free)])
        return free
    }

    static func releaseMAC(_ db: any SQLTransaction, instanceID: String) throws {
        try db.executeLater("UPDATE mac_addresses SET instance_id = NULL WHERE instance_id = ?", [.text(instanceID)])
    }
}
