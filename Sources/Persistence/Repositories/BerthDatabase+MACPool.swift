import GRDB

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
        try await writer.write { db in
            let before = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM mac_addresses") ?? 0
            let statement = try db.makeStatement(sql: "INSERT OR IGNORE INTO mac_addresses (value, mac) VALUES (?, ?)")
            var value = first
            while value <= last {
                try statement.execute(arguments: [Int64(value), Self.macString(value)])
                value += 1
            }
            return (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM mac_addresses") ?? 0) - before
        }
    }

    /// Deletes every free address; addresses held by instances stay. Returns how many stayed.
    public func purgeFreeMACs() async throws -> Int {
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM mac_addresses WHERE instance_id IS NULL")
            return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM mac_addresses") ?? 0
        }
    }

    public func countMACs(inUse: Bool) async throws -> Int {
        try await writer.read { db in
            try Int.fetchOne(
                db,
                sql: "SELECT COUNT(*) FROM mac_addresses WHERE instance_id IS \(inUse ? "NOT NULL" : "NULL")"
            ) ?? 0
        }
    }

    /// Addresses in order, after `last` when given; only those in use with `inUseOnly`.
    public func macs(limit: Int, after last: UInt64?, inUseOnly: Bool) async throws -> [MACEntry] {
        try await writer.read { db in
            var sql = "SELECT mac, instance_id FROM mac_addresses WHERE value > ?"
            if inUseOnly { sql += " AND instance_id IS NOT NULL" }
            sql += " ORDER BY value LIMIT ?"
            return try Row.fetchAll(db, sql: sql, arguments: [last.map { Int64($0) } ?? -1, limit]).map {
                MACEntry(mac: $0["mac"], instanceID: $0["instance_id"] ?? "")
            }
        }
    }

    static func claimMAC(_ db: Database, instanceID: String, wanted: String) throws -> String {
        if !wanted.isEmpty {
            guard
                let holder = try Row.fetchOne(
                    db,
                    sql: "SELECT instance_id FROM mac_addresses WHERE mac = ?",
                    arguments: [wanted]
                )
            else {
                throw PersistenceError(.notFound, "MAC address \(wanted) is not in the managed pool")
            }
            guard (holder["instance_id"] as String?) == nil else {
                throw PersistenceError(.conflict, "MAC address \(wanted) is in use")
            }
            try db.execute(
                sql: "UPDATE mac_addresses SET instance_id = ? WHERE mac = ?",
                arguments: [instanceID, wanted]
            )
            return wanted
        }
        guard
            let free = try String.fetchOne(
                db,
                sql: "SELECT mac FROM mac_addresses WHERE instance_id IS NULL ORDER BY value LIMIT 1"
            )
        else {
            throw PersistenceError(.conflict, "no free MAC address in the managed pool")
        }
        try db.execute(sql: "UPDATE mac_addresses SET instance_id = ? WHERE mac = ?", arguments: [instanceID, free])
        return free
    }

    static func releaseMAC(_ db: Database, instanceID: String) throws {
        try db.cachedStatement(sql: "UPDATE mac_addresses SET instance_id = NULL WHERE instance_id = ?")
            .execute(arguments: [instanceID])
    }
}
