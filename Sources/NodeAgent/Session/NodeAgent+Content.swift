import Foundation
import WireProtocol

/// A content request's connection ended before its answer came (it is sent again).
struct ConnectionLost: Error {}

/// An answer to one of the agent's content requests.
enum ContentReply: Sendable {
    case manifest(ManifestResponse)
    case chunk(ChunkData)
    case list(ChunkList)

    var requestID: UInt64 {
        switch self {
        case .manifest(let m): m.requestID
        case .chunk(let c): c.requestID
        case .list(let l): l.requestID
        }
    }
}

/// Template content over the node connection: pulls (start and distribution) and
/// pushes (save image), each with at most ``NodeAgent/Configuration/transferWindow``
/// chunks in flight.
extension NodeAgent {
    /// Sends a request and waits for the answer with the same request id.
    ///
    /// Every content request is idempotent (a manifest, a chunk by hash, a chunk list, an
    /// upload the registry stores by hash), so when the connection ends first the request is
    /// sent again on the next connection: a transfer resumes from the chunks it already
    /// holds. It fails only when no connection comes back within
    /// ``NodeAgent/Configuration/transferResumeTimeout``, or with the control plane's answer.
    func contentCall(_ make: (UInt64) -> some WireMessage) async throws -> ContentReply {
        let deadline = ContinuousClock.now + configuration.transferResumeTimeout
        while true {
            if channel == nil { try await waitForConnection(until: deadline) }
            let id = nextContentRequest
            nextContentRequest &+= 1
            do {
                return try await withCheckedThrowingContinuation { continuation in
                    contentWaiters[id] = continuation
                    send(make(id))
                }
            } catch is ConnectionLost {
                try Task.checkCancellation()
                logger.info("connection lost during a transfer; resuming on the next connection")
            }
        }
    }

    /// Waits for the next connection to the control plane, or throws once `deadline` passes.
    private func waitForConnection(until deadline: ContinuousClock.Instant) async throws {
        let id = nextConnectionWaiter
        nextConnectionWaiter &+= 1
        let timeout = Task { [weak self] in
            try? await Task.sleep(until: deadline)
            await self?.expireConnectionWaiter(id)
        }
        defer { timeout.cancel() }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                if channel != nil {
                    continuation.resume()
                } else if Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                } else {
                    connectionWaiters[id] = continuation
                }
            }
        } onCancel: {
            Task { await self.cancelConnectionWaiter(id) }
        }
    }

    private func expireConnectionWaiter(_ id: UInt64) {
        connectionWaiters.removeValue(forKey: id)?.resume(
            throwing: DriverError(
                "the connection to the control plane ended during a transfer and did not come back within \(configuration.transferResumeTimeout)"
            )
        )
    }

    private func cancelConnectionWaiter(_ id: UInt64) {
        connectionWaiters.removeValue(forKey: id)?.resume(throwing: CancellationError())
    }

    /// A new connection is up: transfers waiting for one go on.
    func resumeConnectionWaiters() {
        let waiters = connectionWaiters
        connectionWaiters = [:]
        for waiter in waiters.values { waiter.resume() }
    }

    func resumeContent(_ reply: ContentReply) {
        contentWaiters.removeValue(forKey: reply.requestID)?.resume(returning: reply)
    }

    /// The connection ended: requests in flight are sent again on the next one.
    func failContentWaiters() {
        let waiters = contentWaiters
        contentWaiters = [:]
        for waiter in waiters.values { waiter.resume(throwing: ConnectionLost()) }
    }

    /// The cached manifest for a start, pulling the version first when the cache lacks it.
    func ensureTemplate(for spec: StartSpec, instanceID id: String) async throws -> TemplateManifest {
        if let cached = await cache.manifest(templateID: spec.templateID, tag: spec.tag) { return cached }
        emit(InstanceStatus(instanceID: id, state: .pulling, progress: 0))
        log(id, "pulling \(spec.templateName):\(spec.tag)")
        let manifest = try await pull(templateID: spec.templateID, tag: spec.tag) { progress, _ in
            await self.emit(InstanceStatus(instanceID: id, state: .pulling, progress: progress * 0.9))
        }.manifest
        try await driver.prepare(spec) { progress in
            await self.emit(InstanceStatus(instanceID: id, state: .pulling, progress: 0.9 + progress * 0.1))
        }
        log(id, "pulled \(spec.templateName):\(spec.tag) (\(manifest.totalSize) bytes)")
        return manifest
    }

    /// Fetches a version's manifest and the chunks the cache lacks, records it, and returns
    /// it with the bytes fetched.
    ///
    /// `progress` gets the share of missing bytes received and the bytes so far, at most
    /// once per 2 %.
    func pull(
        templateID: String,
        tag: String,
        progress: @escaping @Sendable (Double, Int) async -> Void
    ) async throws -> (manifest: TemplateManifest, fetched: Int) {
        let reply = try await contentCall { ManifestRequest(requestID: $0, templateID: templateID, tag: tag) }
        guard case .manifest(let response) = reply else { throw DriverError("unexpected answer to a manifest request") }
        guard response.error.isEmpty else { throw DriverError(response.error) }
        guard let manifest = response.manifest else { throw DriverError("the control plane sent no manifest") }
        let received = try await transfer(await cache.missing(in: manifest), progress: progress) { hash in
            try await self.fetchChunk(hash)
        }
        try await cache.add(manifest)
        send(await cache.report())
        logger.info(
            "pulled a template version",
            metadata: [
                "template": "\(manifest.templateName):\(manifest.tag)", "fetched": "\(received)",
                "size": "\(manifest.totalSize)",
            ]
        )
        return (manifest, received)
    }

    /// Moves `chunks` with at most ``NodeAgent/Configuration/transferWindow`` in flight (the
    /// flow control of pulls and pushes) and returns the bytes moved. `progress` gets the
    /// share of bytes done and the bytes so far, at most once per 2 %.
    private func transfer(
        _ chunks: [(hash: ChunkHash, size: Int)],
        progress: @Sendable (Double, Int) async -> Void,
        each: @escaping @Sendable (ChunkHash) async throws -> Int
    ) async throws -> Int {
        let total = chunks.reduce(0) { $0 + $1.size }
        var moved = 0
        var reported = -1
        try await withThrowingTaskGroup(of: Int.self) { group in
            var pending = chunks.makeIterator()
            for _ in 0..<max(1, configuration.transferWindow) {
                guard let next = pending.next() else { break }
                group.addTask { try await each(next.hash) }
            }
            while let bytes = try await group.next() {
                moved += bytes
                let share = total > 0 ? Double(moved) / Double(total) : 1
                if Int(share * 50) > reported {
                    reported = Int(share * 50)
                    await progress(share, moved)
                }
                if let next = pending.next() { group.addTask { try await each(next.hash) } }
            }
        }
        return moved
    }

    private func fetchChunk(_ hash: ChunkHash) async throws -> Int {
        try Task.checkCancellation()  // a cancelled distribution stops asking
        guard case .chunk(let chunk) = try await contentCall({ ChunkRequest(requestID: $0, hash: hash) }) else {
            throw DriverError("unexpected answer to a chunk request")
        }
        guard chunk.error.isEmpty else { throw DriverError(chunk.error) }
        try await cache.store(chunk.data, as: hash)
        bytesFetched += chunk.data.count
        return chunk.data.count
    }

    /// A distribution's pull, reported as ``PullProgress``.
    func distributionPull(_ command: TemplateCommand) async {
        let id = command.distributionID
        do {
            let pulled = try await pull(templateID: command.templateID, tag: command.tag) { share, bytes in
                await self.send(PullProgress(distributionID: id, progress: share, bytesFetched: bytes))
            }
            send(PullProgress(distributionID: id, progress: 1, done: true, bytesFetched: pulled.fetched))
        } catch is CancellationError {
            send(PullProgress(distributionID: id, progress: 0, done: true, error: "cancelled"))
        } catch {
            logger.warning("distribution pull failed", metadata: ["distribution": "\(id)", "error": "\(error)"])
            send(PullProgress(distributionID: id, progress: 0, done: true, error: "\(error)"))
        }
    }

    // MARK: save image

    /// Runs the script, stops the instance, uploads what the registry lacks and reports
    /// the manifest. On failure the instance runs again and the report carries the error.
    func saveImage(instanceID id: String, spec: SaveImageSpec) async {
        emit(InstanceStatus(instanceID: id, state: .pushing, progress: 0))
        log(id, "save image \(spec.requestID): started")
        var scriptResult: ScriptResult?
        if !spec.script.isEmpty {
            let result = await driver.runScript(
                instanceID: id,
                script: spec.script,
                timeout: .seconds(max(1, spec.scriptTimeoutSeconds))
            )
            log(id, "save image script: " + Self.describe(result))
            scriptResult = result
            if !result.succeeded && spec.cancelOnScriptFailure {
                // The outcome first, then the state, so a client that sees Started finds the result.
                report(
                    ImageReport(
                        requestID: spec.requestID,
                        instanceID: id,
                        error: "Script execution failed",
                        scriptResult: result
                    )
                )
                let info = await driver.instances().first { $0.instanceID == id }?.vmInfo
                emit(InstanceStatus(instanceID: id, state: .started, vmInfo: info))
                return
            }
        }
        do {
            let info = try await driver.stop(instanceID: id)
            let (manifest, uploaded) = try await pushContent(of: id)
            log(id, "save image \(spec.requestID): uploaded \(uploaded) of \(manifest.totalSize) bytes")
            emit(InstanceStatus(instanceID: id, state: .stopped, vmInfo: info))
            report(
                ImageReport(
                    requestID: spec.requestID,
                    instanceID: id,
                    manifest: manifest,
                    scriptResult: scriptResult,
                    bytesUploaded: uploaded
                )
            )
        } catch {
            log(id, "save image \(spec.requestID) failed: \(error)")
            let info = try? await driver.restart(instanceID: id)
            emit(InstanceStatus(instanceID: id, state: .started, vmInfo: info))
            report(
                ImageReport(requestID: spec.requestID, instanceID: id, error: "\(error)", scriptResult: scriptResult)
            )
        }
    }

    private func report(_ report: ImageReport) {
        imageReports[report.requestID] = report
        send(report)
    }

    /// Uploads an instance's content and returns its manifest and the bytes sent.
    private func pushContent(of id: String) async throws -> (TemplateManifest, Int) {
        let source = instanceTemplates[id]
        let manifest: TemplateManifest
        let read: @Sendable (ChunkHash) async throws -> [UInt8]
        if let directory = await driver.contentDirectory(instanceID: id) {
            let sizes = Dictionary(
                (source?.files ?? []).map { ($0.path, $0.chunkSize) },
                uniquingKeysWith: { first, _ in first }
            )
            let fallback = configuration.chunkSize
            let chunker = try DirectoryChunker(directory: directory) { sizes[$0] ?? fallback }
            manifest = chunker.manifest
            read = { try chunker.read($0) }
        } else if let source {
            manifest = source
            let cache = self.cache
            read = { try await cache.read($0) }
        } else {
            throw DriverError("the agent does not know instance \(id)'s content (it restarted since the start)")
        }
        let distinct = manifest.distinctChunks
        var missing: [(hash: ChunkHash, size: Int)] = []
        for start in stride(from: 0, to: distinct.count, by: 50_000) {
            let batch = distinct[start..<min(distinct.count, start + 50_000)]
            guard
                case .list(let answer) = try await contentCall({ ChunkList(requestID: $0, hashes: batch.map(\.hash)) })
            else { throw DriverError("unexpected answer to a chunk query") }
            guard answer.error.isEmpty else { throw DriverError(answer.error) }
            let absent = Set(answer.hashes)
            missing += batch.filter { absent.contains($0.hash) }
        }
        let sent = try await transfer(missing) { share, _ in
            await self.emit(InstanceStatus(instanceID: id, state: .pushing, progress: share))
        } each: { hash in
            try await self.uploadChunk(hash, read: read)
        }
        return (manifest, sent)
    }

    private func uploadChunk(_ hash: ChunkHash, read: @Sendable (ChunkHash) async throws -> [UInt8]) async throws -> Int
    {
        let data = try await read(hash)
        guard case .list(let answer) = try await contentCall({ ChunkData(requestID: $0, data: data) }) else {
            throw DriverError("unexpected answer to a chunk upload")
        }
        guard answer.error.isEmpty else { throw DriverError(answer.error) }
        guard answer.hashes == [hash] else {
            throw DriverError("the control plane stored chunk \(hash.hex) under another hash (changed while saving?)")
        }
        bytesUploaded += data.count
        return data.count
    }
}
