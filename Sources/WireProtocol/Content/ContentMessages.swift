/// A node asks for the manifest of a template version (`tag`, or the newest when empty).
public struct ManifestRequest: WireMessage, Equatable {
    public static let messageType = MessageType.manifestRequest
    public var requestID: UInt64
    public var templateID: String
    public var tag: String

    public init(requestID: UInt64, templateID: String, tag: String) {
        self.requestID = requestID
        self.templateID = templateID
        self.tag = tag
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, requestID)
        w.write(2, templateID)
        w.write(3, tag)
    }

    public init(from r: inout PayloadReader) throws {
        self.init(requestID: 0, templateID: "", tag: "")
        while let tag = try r.next() {
            switch tag.number {
            case 1: requestID = try r.uint64(tag)
            case 2: templateID = try r.string(tag)
            case 3: self.tag = try r.string(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// The answer to ``ManifestRequest``: the manifest, or an error.
public struct ManifestResponse: WireMessage, Equatable {
    public static let messageType = MessageType.manifestResponse
    public var requestID: UInt64
    public var manifest: TemplateManifest?
    public var error: String

    public init(requestID: UInt64, manifest: TemplateManifest? = nil, error: String = "") {
        self.requestID = requestID
        self.manifest = manifest
        self.error = error
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, requestID)
        w.write(2, manifest)
        w.write(3, error)
    }

    public init(from r: inout PayloadReader) throws {
        self.init(requestID: 0)
        while let tag = try r.next() {
            switch tag.number {
            case 1: requestID = try r.uint64(tag)
            case 2: manifest = try r.message(tag)
            case 3: error = try r.string(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// A node asks for one chunk. A node keeps a bounded number of these outstanding
/// (its window), which is the pull's flow control: the control plane only sends what
/// was asked for.
public struct ChunkRequest: WireMessage, Equatable {
    public static let messageType = MessageType.chunkRequest
    public var requestID: UInt64
    public var hash: ChunkHash

    public init(requestID: UInt64, hash: ChunkHash) {
        self.requestID = requestID
        self.hash = hash
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, requestID)
        w.write(2, bytes: hash.bytes)
    }

    public init(from r: inout PayloadReader) throws {
        var id: UInt64 = 0
        var hash: ChunkHash?
        while let tag = try r.next() {
            switch tag.number {
            case 1: id = try r.uint64(tag)
            case 2: hash = ChunkHash(bytes: try r.bytes(tag))
            default: try r.skip(tag)
            }
        }
        self.init(requestID: id, hash: try PayloadReader.require(hash, "hash", in: "ChunkRequest"))
    }
}

/// One chunk's bytes (control plane to node for a pull, node to control plane for a push),
/// or why it cannot be sent.
public struct ChunkData: WireMessage, Equatable {
    public static let messageType = MessageType.chunkData
    public var requestID: UInt64
    public var data: [UInt8]
    public var error: String

    public init(requestID: UInt64, data: [UInt8] = [], error: String = "") {
        self.requestID = requestID
        self.data = data
        self.error = error
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, requestID)
        w.write(2, bytes: data)
        w.write(3, error)
    }

    public init(from r: inout PayloadReader) throws {
        self.init(requestID: 0)
        while let tag = try r.next() {
            switch tag.number {
            case 1: requestID = try r.uint64(tag)
            case 2: data = try r.bytes(tag)
            case 3: error = try r.string(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// A node pushing content (save image) asks which chunks the control plane lacks, or,
/// in the answer, the control plane lists them. Also the acknowledgement of an uploaded
/// chunk (`hashes` holds the one stored).
public struct ChunkList: WireMessage, Equatable {
    public static let messageType = MessageType.chunkList
    public var requestID: UInt64
    public var hashes: [ChunkHash]
    public var error: String

    public init(requestID: UInt64, hashes: [ChunkHash] = [], error: String = "") {
        self.requestID = requestID
        self.hashes = hashes
        self.error = error
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, requestID)
        w.write(2, bytes: hashes.flatMap(\.bytes))
        w.write(3, error)
    }

    public init(from r: inout PayloadReader) throws {
        self.init(requestID: 0)
        while let tag = try r.next() {
            switch tag.number {
            case 1: requestID = try r.uint64(tag)
            case 2: hashes = try ChunkHash.split(try r.bytes(tag))
            case 3: error = try r.string(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// What a node's template cache holds; sent after every change and in the hello.
public struct CacheReport: WireMessage, Equatable {
    public static let messageType = MessageType.cacheReport
    public var templates: [TemplateRef]
    /// Bytes of distinct chunks in the cache.
    public var cacheBytes: Int

    public init(templates: [TemplateRef] = [], cacheBytes: Int = 0) {
        self.templates = templates
        self.cacheBytes = cacheBytes
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, templates)
        w.write(2, cacheBytes)
    }

    public init(from r: inout PayloadReader) throws {
        self.init()
        while let tag = try r.next() {
            switch tag.number {
            case 1: templates.append(try r.message(tag))
            case 2: cacheBytes = try r.int(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// Progress of a distribution's pull on one node (0.0–1.0); `done` at the end, with
/// `error` set when it failed or was cancelled.
public struct PullProgress: WireMessage, Equatable {
    public static let messageType = MessageType.pullProgress
    public var distributionID: String
    public var progress: Double
    public var done: Bool
    public var error: String
    /// Bytes fetched from the control plane for this pull (the chunks the node lacked).
    public var bytesFetched: Int

    public init(distributionID: String, progress: Double, done: Bool = false, error: String = "", bytesFetched: Int = 0)
    {
        self.distributionID = distributionID
        self.progress = progress
        self.done = done
        self.error = error
        self.bytesFetched = bytesFetched
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, distributionID)
        w.write(2, progress)
        w.write(3, done)
        w.write(4, error)
        w.write(5, bytesFetched)
    }

    public init(from r: inout PayloadReader) throws {
        self.init(distributionID: "", progress: 0)
        while let tag = try r.next() {
            switch tag.number {
            case 1: distributionID = try r.string(tag)
            case 2: progress = try r.double(tag)
            case 3: done = try r.bool(tag)
            case 4: error = try r.string(tag)
            case 5: bytesFetched = try r.int(tag)
            default: try r.skip(tag)
            }
        }
    }
}

/// The outcome of a save-image command on the node: the new version's manifest (its
/// chunks already uploaded), or why it was not saved.
public struct ImageReport: WireMessage, Equatable {
    public static let messageType = MessageType.imageReport
    public var requestID: String
    public var instanceID: String
    public var manifest: TemplateManifest?
    public var error: String
    public var scriptResult: ScriptResult?
    /// Bytes uploaded (the chunks the control plane lacked).
    public var bytesUploaded: Int

    public init(
        requestID: String,
        instanceID: String,
        manifest: TemplateManifest? = nil,
        error: String = "",
        scriptResult: ScriptResult? = nil,
        bytesUploaded: Int = 0
    ) {
        self.requestID = requestID
        self.instanceID = instanceID
        self.manifest = manifest
        self.error = error
        self.scriptResult = scriptResult
        self.bytesUploaded = bytesUploaded
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, requestID)
        w.write(2, instanceID)
        w.write(3, manifest)
        w.write(4, error)
        w.write(5, scriptResult)
        w.write(6, bytesUploaded)
    }

    public init(from r: inout PayloadReader) throws {
        self.init(requestID: "", instanceID: "")
        while let tag = try r.next() {
            switch tag.number {
            case 1: requestID = try r.string(tag)
            case 2: instanceID = try r.string(tag)
            case 3: manifest = try r.message(tag)
            case 4: error = try r.string(tag)
            case 5: scriptResult = try r.message(tag)
            case 6: bytesUploaded = try r.int(tag)
            default: try r.skip(tag)
            }
        }
    }
}
