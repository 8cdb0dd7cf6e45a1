/// Body of ``RPCCatalog/commitTemplateVersion``: a new version whose chunks are uploaded.
///
/// `templateID` names an existing template; otherwise `templateName` is looked up, and a
/// template is created with that name when none has it.
public struct CommitVersionRequest: WireCodable, Equatable {
    public var templateID: String = ""
    public var templateName: String = ""
    public var tag: String = ""
    public var description: String = ""
    public var arch: String = ""
    public var cpuCores: Int = 0
    public var ramMB: Int = 0
    public var manifest = TemplateManifest()

    public init() {}

    public func encode(to w: inout PayloadWriter) {
        w.write(1, templateID)
        w.write(2, templateName)
        w.write(3, tag)
        w.write(4, description)
        w.write(5, arch)
        w.write(6, cpuCores)
        w.write(7, ramMB)
        w.write(8, manifest)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: templateID = try r.string(tag)
            case 2: templateName = try r.string(tag)
            case 3: self.tag = try r.string(tag)
            case 4: description = try r.string(tag)
            case 5: arch = try r.string(tag)
            case 6: cpuCores = try r.int(tag)
            case 7: ramMB = try r.int(tag)
            case 8: manifest = try r.message(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// Body of ``RPCCatalog/distributeTemplate`` (Anka `POST /api/v1/registry/vm/distribute`).
public struct DistributeRequest: WireCodable, Equatable {
    public var templateID: String = ""
    public var tag: String = ""
    public var number: Int?
    public var nodeIDs: [String] = []
    public var groupID: String = ""
    /// The resource-permission group (resource management).
    public var permissionGroup: String = ""

    public init() {}

    public func encode(to w: inout PayloadWriter) {
        w.write(1, templateID)
        w.write(2, tag)
        w.write(3, number)
        w.write(4, nodeIDs)
        w.write(5, groupID)
        w.write(6, permissionGroup)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: templateID = try r.string(tag)
            case 2: self.tag = try r.string(tag)
            case 3: number = try r.int(tag)
            case 4: nodeIDs.append(try r.string(tag))
            case 5: groupID = try r.string(tag)
            case 6: permissionGroup = try r.string(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// One node's part of a distribution.
public struct DistributionNodeStatus: WireCodable, Equatable {
    public var nodeID: String = ""
    public var progress: Double = 0
    /// The node holds the version (Anka's `status: true`).
    public var done: Bool = false
    /// Why it failed, or `cancelled`.
    public var error: String = ""
    public var bytesFetched: Int = 0

    public init(
        nodeID: String = "",
        progress: Double = 0,
        done: Bool = false,
        error: String = "",
        bytesFetched: Int = 0
    ) {
        self.nodeID = nodeID
        self.progress = progress
        self.done = done
        self.error = error
        self.bytesFetched = bytesFetched
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, nodeID)
        w.write(2, progress)
        w.write(3, done)
        w.write(4, error)
        w.write(5, bytesFetched)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: nodeID = try r.string(tag)
            case 2: progress = try r.double(tag)
            case 3: done = try r.bool(tag)
            case 4: error = try r.string(tag)
            case 5: bytesFetched = try r.int(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// A distribution request and its per-node status.
public struct DistributionRecord: WireCodable, Equatable {
    public var id: String = ""
    public var templateID: String = ""
    public var tag: String = ""
    public var requestedAtMicros: Int = 0
    public var cancelled: Bool = false
    public var nodes: [DistributionNodeStatus] = []

    public init() {}

    public func encode(to w: inout PayloadWriter) {
        w.write(1, id)
        w.write(2, templateID)
        w.write(3, tag)
        w.write(4, requestedAtMicros)
        w.write(5, cancelled)
        w.write(6, nodes)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: id = try r.string(tag)
            case 2: templateID = try r.string(tag)
            case 3: self.tag = try r.string(tag)
            case 4: requestedAtMicros = try r.int(tag)
            case 5: cancelled = try r.bool(tag)
            case 6: nodes.append(try r.message(tag))
            default: try r.skip(tag)
            }
        }
    }
}

/// Answer of ``RPCCatalog/listDistributions``, newest first.
public struct DistributionList: WireCodable, Equatable {
    public var distributions: [DistributionRecord]

    public init(distributions: [DistributionRecord]) { self.distributions = distributions }

    public func encode(to w: inout PayloadWriter) { w.write(1, distributions) }

    public init(from r: inout PayloadReader) throws {
        distributions = []
        while let tag = try r.next() {
            if tag.number == 1 { distributions.append(try r.message(tag)) } else { try r.skip(tag) }
        }
    }
}

/// Body of ``RPCCatalog/removeTemplateFromNodes`` (Anka `DELETE /api/v1/registry/vm/remove`).
public struct RemoveFromNodesRequest: WireCodable, Equatable {
    public var templateID: String = ""
    /// Every node holding it when empty.
    public var nodeIDs: [String] = []

    public init(templateID: String = "", nodeIDs: [String] = []) {
        self.templateID = templateID
        self.nodeIDs = nodeIDs
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, templateID)
        w.write(2, nodeIDs)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: templateID = try r.string(tag)
            case 2: nodeIDs.append(try r.string(tag))
            default: try r.skip(tag)
            }
        }
    }
}

/// Answer of ``RPCCatalog/registryDisk``: the registry's storage.
public struct RegistryDisk: WireCodable, Equatable {
    /// The file system that holds the registry.
    public var totalBytes: Int = 0
    public var freeBytes: Int = 0
    /// Bytes of distinct chunks stored (what the registry occupies).
    public var storedBytes: Int = 0
    /// Sum of all versions' sizes (what it would take without sharing chunks).
    public var logicalBytes: Int = 0
    public var chunkCount: Int = 0

    public init() {}

    public func encode(to w: inout PayloadWriter) {
        w.write(1, totalBytes)
        w.write(2, freeBytes)
        w.write(3, storedBytes)
        w.write(4, logicalBytes)
        w.write(5, chunkCount)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: totalBytes = try r.int(tag)
            case 2: freeBytes = try r.int(tag)
            case 3: storedBytes = try r.int(tag)
            case 4: logicalBytes = try r.int(tag)
            case 5: chunkCount = try r.int(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// Body of ``RPCCatalog/saveImage`` (Anka `POST /api/v1/image`), and the request kept
/// with each save-image record.
public struct SaveImageRequest: WireCodable, Equatable {
    public var instanceID: String = ""
    public var tag: String = ""
    public var newTemplateName: String = ""
    public var targetTemplateID: String = ""
    public var description: String = ""
    public var suspend: Bool = true
    public var script: [UInt8] = []
    public var revertBeforePush: Bool = false
    public var revertTag: String = ""
    public var doSuspendSanityTest: Bool = false
    public var cancelOnScriptFailure: Bool = false

    public init() {}

    public func encode(to w: inout PayloadWriter) {
        w.write(1, instanceID)
        w.write(2, tag)
        w.write(3, newTemplateName)
        w.write(4, targetTemplateID)
        w.write(5, description)
        w.writeExplicit(6, suspend)  // defaults to true
        w.write(7, bytes: script)
        w.write(8, revertBeforePush)
        w.write(9, revertTag)
        w.write(10, doSuspendSanityTest)
        w.write(11, cancelOnScriptFailure)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: instanceID = try r.string(tag)
            case 2: self.tag = try r.string(tag)
            case 3: newTemplateName = try r.string(tag)
            case 4: targetTemplateID = try r.string(tag)
            case 5: description = try r.string(tag)
            case 6: suspend = try r.bool(tag)
            case 7: script = try r.bytes(tag)
            case 8: revertBeforePush = try r.bool(tag)
            case 9: revertTag = try r.string(tag)
            case 10: doSuspendSanityTest = try r.bool(tag)
            case 11: cancelOnScriptFailure = try r.bool(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// A save-image request and how it went (Anka `GET /api/v1/image`).
public struct ImageRequestRecord: WireCodable, Equatable {
    public var id: String = ""
    /// `pending`, `done` or `error`.
    public var status: String = "pending"
    public var request = SaveImageRequest()
    public var nodeID: String = ""
    /// The template the version went to (the target, or the one created).
    public var templateID: String = ""
    public var error: String = ""
    public var scriptResult: ScriptResult?
    public var createdAtMicros: Int = 0
    public var bytesUploaded: Int = 0

    public init() {}

    public func encode(to w: inout PayloadWriter) {
        w.write(1, id)
        w.write(2, status)
        w.write(3, request)
        w.write(4, nodeID)
        w.write(5, templateID)
        w.write(6, error)
        w.write(7, scriptResult)
        w.write(8, createdAtMicros)
        w.write(9, bytesUploaded)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: id = try r.string(tag)
            case 2: status = try r.string(tag)
            case 3: request = try r.message(tag)
            case 4: nodeID = try r.string(tag)
            case 5: templateID = try r.string(tag)
            case 6: error = try r.string(tag)
            case 7: scriptResult = try r.message(tag)
            case 8: createdAtMicros = try r.int(tag)
            case 9: bytesUploaded = try r.int(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// Answer of ``RPCCatalog/listImageRequests``, newest first.
public struct ImageRequestList: WireCodable, Equatable {
    public var requests: [ImageRequestRecord]

    public init(requests: [ImageRequestRecord]) { self.requests = requests }

    public func encode(to w: inout PayloadWriter) { w.write(1, requests) }

    public init(from r: inout PayloadReader) throws {
        requests = []
        while let tag = try r.next() {
            if tag.number == 1 { requests.append(try r.message(tag)) } else { try r.skip(tag) }
        }
    }
}
