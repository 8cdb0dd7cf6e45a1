import Foundation
import GRDB
import Testing

@testable import Persistence

/// The database file is what the docs say it is: FULL syncs, bytes as BLOBs (issue 12).
@Suite struct StorageFormatTests {
    let path: String

    init() throws {
        path = try TemporaryDatabase.path("berth-format")
    }

    @Test func theWriterCommitsWithSynchronousFull() async throws {
        let db = try BerthDatabase(path: path)
        // 2 is FULL; GRDB's WAL set-up alone leaves the writer at 1 (NORMAL).
        #expect(try await db.writerSynchronous() == 2)
        // It holds for writes after the first, on the one writer connection.
        try await db.saveNode(NodeRow(id: "n1", name: "n1", createdAt: 1))
        #expect(try await db.writerSynchronous() == 2)
    }

    /// Checkpoints run on their own connection, not in a commit: the writer's automatic one
    /// waits for a log far larger than SQLite's default, and ``BerthDatabase/checkpoint()``
    /// copies the whole log while the writer goes on.
    @Test func checkpointsRunOnTheirOwnConnection() async throws {
        let db = try BerthDatabase(path: path)
        #expect(try await db.writerAutocheckpoint() == BerthDatabase.autocheckpointPages)
        for index in 0..<50 { try await db.saveNode(NodeRow(id: "n\(index)", name: "n\(index)", createdAt: 1)) }
        let first = try await db.checkpoint()
        #expect(first.logPages > 0)
        #expect(first.copiedPages == first.logPages)
        // Written after the checkpoint, and still read back: the log goes on being used.
        try await db.saveNode(NodeRow(id: "late", name: "late", createdAt: 1))
        #expect(try await db.node(id: "late") != nil)
        #expect(try await db.count(table: "nodes") == 51)
    }

    /// `InstanceRow` is encoded and decoded by hand (it is on the scheduler's hot path): every
    /// stored property has its column, every column of the table is written, and a row with
    /// every field set comes back equal.
    /// The other hand-encoded records (journaled per state change and per command): each
    /// property has its column, every column is written, and a row reads back the same.
    @Test func transitionAndCommandRowsRoundTripEveryColumn() async throws {
        let queue = try DatabaseQueue(path: path)
        try Schema.migrator.migrate(queue)
        var transition = InstanceTransitionRow(instanceId: "i1", state: "Started", message: "m", ts: 12)
        transition.id = 5
        var command = NodeCommandRow(nodeId: "n1", instanceId: "i1", kind: "start", payload: [1, 2], createdAt: 3)
        command.id = 9
        command.epoch = 77
        command.ackedAt = 4
        let (storedTransition, storedCommand) = (transition, command)
        let (transitionColumns, commandColumns, transitionBack, commandBack) = try await queue.write { db in
            try db.execute(sql: "INSERT INTO templates (id, name, created_at) VALUES ('t1', 'tn', 1)")
            try InstanceRow(id: "i1", state: "Started", templateId: "t1", crTime: 11).insert(db)
            try db.execute(sql: "INSERT INTO nodes (id, name, created_at) VALUES ('n1', 'n1', 1)")
            var transition = storedTransition
            var command = storedCommand
            try transition.insert(db)
            try command.insert(db)
            return (
                try db.columns(in: "instance_transitions").map(\.name),
                try db.columns(in: "node_commands").map(\.name),
                try InstanceTransitionRow.fetchOne(db, key: 5),
                try NodeCommandRow.fetchOne(db, key: 9)
            )
        }
        #expect(Set(try transition.databaseDictionary.keys) == Set(transitionColumns))
        #expect(try transition.databaseDictionary.count == Mirror(reflecting: transition).children.count)
        #expect(Set(try command.databaseDictionary.keys) == Set(commandColumns))
        #expect(try command.databaseDictionary.count == Mirror(reflecting: command).children.count)
        #expect(transitionBack == transition)
        #expect(commandBack == command)

        // The journal's cached INSERTs write the same columns: a transition appended (its id
        // assigned by SQLite), a numbered command, and an unnumbered one (stamped with the
        // newest epoch, given the next id).
        var numbered = NodeCommandRow(nodeId: "n1", instanceId: "i1", kind: "stop", payload: [3], createdAt: 5)
        numbered.id = 20
        numbered.epoch = 78
        let appended = InstanceTransitionRow(instanceId: "i1", state: "Stopped", message: "m2", ts: 13)
        let unnumbered = NodeCommandRow(nodeId: "n1", instanceId: "i1", kind: "start", payload: nil, createdAt: 6)
        let storedNumbered = numbered
        let (transitions, commands) = try await queue.write { db in
            try db.execute(sql: "INSERT INTO command_epochs (epoch, first_id, started_at) VALUES (79, 21, 1)")
            try appended.append(SQLiteTransaction(db: db))
            try storedNumbered.insertNumbered(SQLiteTransaction(db: db))
            try unnumbered.insertNumbered(SQLiteTransaction(db: db))
            return (
                try InstanceTransitionRow.order(Column("id")).fetchAll(db),
                try NodeCommandRow.order(Column("id")).fetchAll(db)
            )
        }
        #expect(transitions.count == 2)
        #expect(transitions.last.map { [$0.instanceId, $0.state, $0.message] } == ["i1", "Stopped", "m2"])
        #expect(transitions.last?.ts == 13)
        #expect((transitions.last?.id ?? 0) > 5)
        #expect(commands.count == 3)
        #expect(commands[1] == numbered)
        #expect(commands[2].id == 21)
        #expect(commands[2].epoch == 79)
        #expect(commands[2].kind == "start")
    }

    @Test func anInstanceRowRoundTripsEveryColumn() async throws {
        let queue = try DatabaseQueue(path: path)
        try Schema.migrator.migrate(queue)
        var row = InstanceRow(id: "i1", state: "Started", templateId: "t1", crTime: 11)
        row.message = "m"
        row.templateName = "tn"
        row.tag = "v1"
        row.version = 3
        row.nodeId = "n1"
        row.targetNodeId = "n2"
        row.inflightReqid = "r"
        row.priority = 7
        row.groupId = "g"
        row.permissionGroup = "p"
        row.startOptions = [1, 2]
        row.macAddress = "aa"
        row.scriptResult = [3]
        row.usbDeviceId = "u"
        row.name = "nm"
        row.externalId = "x"
        row.metadata = "{}"
        row.vcpu = 2
        row.vramMb = 4096
        row.arch = "arm64"
        row.vlan = "vl"
        row.progress = 0.5
        row.vminfo = [4, 5]
        row.waitReason = "w"
        row.deleteLock = true
        row.tags = ["a", "b:c"]
        row.stopReason = "driver_error"
        row.stoppedBy = "node n1"
        row.stoppedAt = 13
        row.restartPolicy = "always"
        row.maxRestarts = 3
        row.restartCount = 1
        row.restartAt = 14
        row.envId = "e1"
        row.ts = 12
        let written = try row.databaseDictionary.keys
        let stored = row
        let (columns, back) = try await queue.write { db in
            try db.execute(
                sql: "INSERT INTO templates (id, name, created_at) VALUES ('t1', 'tn', 1)"
            )
            try stored.insert(db)
            return (try db.columns(in: "instances").map(\.name), try InstanceRow.fetchOne(db, key: "i1"))
        }
        #expect(Set(written) == Set(columns))
        #expect(written.count == Mirror(reflecting: row).children.count)
        #expect(back == row)

        // The journal's UPDATE writes every column but the id: change them all, read back.
        var changed = InstanceRow(id: "i1", state: "Stopped", templateId: "t2", crTime: 21)
        changed.message = "m2"
        changed.templateName = "tn2"
        changed.tag = "v2"
        changed.version = 4
        changed.nodeId = nil
        changed.targetNodeId = "n3"
        changed.inflightReqid = "r2"
        changed.priority = 8
        changed.groupId = "g2"
        changed.permissionGroup = "p2"
        changed.startOptions = nil
        changed.macAddress = "bb"
        changed.scriptResult = [6, 7]
        changed.usbDeviceId = "u2"
        changed.name = "nm2"
        changed.externalId = "x2"
        changed.metadata = "{\"a\":1}"
        changed.vcpu = 3
        changed.vramMb = 8192
        changed.arch = "amd64"
        changed.vlan = "vl2"
        changed.progress = 0.75
        changed.vminfo = nil
        changed.waitReason = "w2"
        changed.deleteLock = false
        changed.tags = []
        changed.stopReason = "node_lost"
        changed.stoppedBy = "root"
        changed.stoppedAt = 23
        changed.restartPolicy = "on_failure"
        changed.maxRestarts = 4
        changed.restartCount = 2
        changed.restartAt = 24
        changed.envId = "e2"
        changed.ts = 22
        for (property, value) in Mirror(reflecting: changed).children where property != "id" {
            let old = Mirror(reflecting: row).children.first { $0.label == property }?.value
            #expect("\(String(describing: old))" != "\(String(describing: value))", "\(property ?? "") must change")
        }
        let update = changed
        let (found, missing, updated) = try await queue.write { db in
            try db.execute(sql: "INSERT INTO templates (id, name, created_at) VALUES ('t2', 'tn2', 1)")
            let found = try update.updateAllColumns(SQLiteTransaction(db: db))
            let gone = InstanceRow(id: "no-such", state: "Stopped", templateId: "t2", crTime: 1)
            return (found, try gone.updateAllColumns(SQLiteTransaction(db: db)), try InstanceRow.fetchOne(db, key: "i1"))
        }
        #expect(found)
        #expect(!missing)
        #expect(updated == changed)

        // A created instance is one cached INSERT of every column: a second row through it
        // reads back the same, and a second insert of one id fails.
        var created = changed
        created.id = "i2"
        let insert = created
        let (inserted, duplicateRefused) = try await queue.write { db in
            try insert.insertAllColumns(SQLiteTransaction(db: db))
            let refused = (try? insert.insertAllColumns(SQLiteTransaction(db: db))) == nil
            return (try InstanceRow.fetchOne(db, key: "i2"), refused)
        }
        #expect(inserted == created)
        #expect(duplicateRefused)
    }

    @Test func byteFieldsAreStoredAsBlobs() async throws {
        let db = try BerthDatabase(path: path)
        let hash: [UInt8] = (0..<32).map { UInt8($0 * 7 & 0xff) }
        try await db.insertJoinToken(
            JoinTokenRow(id: "tok", secretHash: hash, description: "", createdAt: 1, expiresAt: 2)
        )
        var node = NodeRow(id: "n1", name: "n1", createdAt: 1)
        node.templates = [0, 1, 2, 255]
        try await db.saveNode(node)
        #expect(try await db.storageClasses(table: "join_tokens", column: "secret_hash") == ["blob"])
        #expect(try await db.storageClasses(table: "nodes", column: "templates") == ["blob"])
        #expect(try await db.node(id: "n1")?.templates == [0, 1, 2, 255])
        // An empty byte field is an empty BLOB, not NULL and not "[]".
        node.templates = []
        try await db.saveNode(node)
        #expect(try await db.storageClasses(table: "nodes", column: "templates") == ["blob"])
        #expect(try await db.node(id: "n1")?.templates == [])
    }

    @Test func aDatabaseWithJSONTextBytesIsMigratedToBlobs() async throws {
        // A file as the previous release left it: migrated to v12, bytes written as JSON text.
        do {
            let queue = try DatabaseQueue(path: path)
            try Schema.migrator.migrate(queue, upTo: "v12-revocation-index")
            try await queue.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO nodes (id, name, created_at, templates) VALUES ('n1', 'n1', 1, '[10,20,30]');
                        INSERT INTO join_tokens (id, secret_hash, description, created_at, expires_at)
                            VALUES ('tok', '[1,2,3,250]', '', 1, 2);
                        INSERT INTO nodes (id, name, created_at) VALUES ('n2', 'n2', 1);
                        """
                )
            }
        }
        let db = try BerthDatabase(path: path)
        #expect(try await db.storageClasses(table: "nodes", column: "templates") == ["blob", "null"])
        #expect(try await db.storageClasses(table: "join_tokens", column: "secret_hash") == ["blob"])
        #expect(try await db.node(id: "n1")?.templates == [10, 20, 30])
        #expect(try await db.node(id: "n2")?.templates == nil)
        #expect(try await db.joinToken(id: "tok")?.secretHash == [1, 2, 3, 250])
    }
}
