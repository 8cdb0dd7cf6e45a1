import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import WireProtocol

/// `/api/v1/vm`: start, list/show and terminate instances.
struct InstanceRoutes {
    let client: ControlPlaneClient
    let registryAddress: String
    /// How many instances one RPC page asks for.
    let pageSize: Int
    /// List entries kept as JSON between polls.
    let entryCache: ListEntryCache

    func register(on router: Router<GatewayContext>) {
        router.post("/api/v1/vm") { request, context -> Response in
            let json = try await RequestJSON.read(request)
            let body = try startRequest(json)
            let ids: IDList = try await client.rpc(RPCCatalog.startInstances, principal: context.principal, body: body)
            return AnkaJSON.ok(ids.ids)
        }
        router.get("/api/v1/vm") { request, context -> Response in
            let id = request.uri.queryParameters.get("id") ?? ""
            if !id.isEmpty {
                let list: InstanceList = try await client.rpc(
                    RPCCatalog.listInstances,
                    principal: context.principal,
                    body: InstanceQuery(id: id)
                )
                guard let record = list.instances.first else { throw GatewayError(.notFound, "No such instance \(id)") }
                return AnkaJSON.ok(InstanceJSON(record, registry: registryAddress))
            }
            let tags = InstanceTags.filter(request.uri.queryParameters.get("tags") ?? "")
            return try await list(principal: context.principal, tags: tags)
        }
        router.put("/api/v1/vm") { request, context -> Response in
            let json = try await RequestJSON.read(request)
            let id = try request.uri.queryParameters.get("id") ?? json.string("id") ?? ""
            guard !id.isEmpty else { throw GatewayError(.badRequest, "id is required") }
            var body = UpdateInstanceRequest(instanceID: id)
            body.name = try json.string("name")
            body.externalID = try json.string("external_id")
            body.metadataJSON = try metadataJSON(json)
            body.deleteLock = try json.bool("delete_lock")
            body.tags = try tags(json)
            let _: Empty = try await client.rpc(RPCCatalog.updateInstance, principal: context.principal, body: body)
            return AnkaJSON.ok()
        }
        // The reference gives no method for restart; its curl example POSTs. Accept PUT too.
        for method in [HTTPRequest.Method.post, .put] {
            router.on("/api/v1/rpc/vm/restart", method: method) { request, context -> Response in
                let json = try await RequestJSON.read(request)
                let id =
                    try json.string("id") ?? json.string("instance_id") ?? request.uri.queryParameters.get("id") ?? ""
                guard !id.isEmpty else { throw GatewayError(.badRequest, "id (or instance_id) is required") }
                let _: Empty = try await client.rpc(
                    RPCCatalog.restartInstance,
                    principal: context.principal,
                    body: IDQuery(id: id)
                )
                return AnkaJSON.ok()
            }
        }
        router.delete("/api/v1/vm") { request, context -> Response in
            let json = try await RequestJSON.read(request)
            let id = try json.string("id") ?? request.uri.queryParameters.get("id") ?? ""
            guard !id.isEmpty else { throw GatewayError(.badRequest, "id is required") }
            let _: Empty = try await client.rpc(
                RPCCatalog.terminateInstance,
                principal: context.principal,
                body: IDQuery(id: id)
            )
            return AnkaJSON.ok()
        }
    }

    /// Every instance, fetched page by page. The first page is fetched before the answer
    /// starts, so a refusal still gets its envelope; when it is the only page the body goes
    /// out whole, else each further page is streamed as it arrives (a failure then cuts
    /// the body short, which a client sees as an incomplete response, never a short list).
    /// With `tags`, only instances carrying every one of them (Berth's `?tags=a,b`).
    func list(principal: Principal, tags: [String] = []) async throws -> Response {
        let client = client
        let pageSize = pageSize
        @Sendable func fetch(after cursor: UInt64) async throws -> InstanceList.Undecoded {
            let body = try await client.rpcBody(
                RPCCatalog.listInstances,
                principal: principal,
                body: InstanceQuery(after: cursor, limit: pageSize, tags: tags)
            )
            do {
                return try InstanceList.Undecoded(bytes: body)
            } catch {
                throw GatewayError.unreadableAnswer
            }
        }
        let first = try await fetch(after: 0)
        let writer = EntryWriter(registry: registryAddress, cache: entryCache)
        var head = ByteBuffer(string: #"{"status":"OK","message":"","body":["#)
        try writer.append(first, first: true, to: &head)
        guard first.next != 0 else {
            head.writeStaticString("]}")
            return Response(status: .ok, headers: AnkaJSON.headers, body: .init(byteBuffer: head))
        }
        let firstPage = head
        let cursor = first.next
        return Response(
            status: .ok,
            headers: AnkaJSON.headers,
            body: ResponseBody { bodyWriter in
                // One page ahead: the control plane makes the next page while this one is encoded.
                var next = Task { try await fetch(after: cursor) }
                defer { next.cancel() }
                try await bodyWriter.write(firstPage)
                while true {
                    let page = try await next.value
                    if page.next != 0 {
                        let cursor = page.next
                        next = Task { try await fetch(after: cursor) }
                    }
                    var buffer = ByteBuffer()
                    try writer.append(page, first: false, to: &buffer)
                    if page.next == 0 { buffer.writeStaticString("]}") }
                    try await bodyWriter.write(buffer)
                    if page.next == 0 { break }
                }
                try await bodyWriter.finish(nil)
            }
        )
    }

    /// Writes a page's entries as JSON, each from the cache when its record's bytes are
    /// unchanged since it was last written, else decoded and written (and then kept).
    struct EntryWriter: Sendable {
        let registry: String
        let cache: ListEntryCache

        func append(_ page: InstanceList.Undecoded, first: Bool, to buffer: inout ByteBuffer) throws {
            let sink = JSONSink()
            sink.bytes.reserveCapacity(page.records.count * 1100)
            try page.bytes.withUnsafeBytes { raw in
                for (index, range) in page.records.enumerated() {
                    if !(first && index == 0) { sink.put(UInt8(ascii: ",")) }
                    let record = UnsafeRawBufferPointer(rebasing: raw[range])
                    if let json = cache.json(for: record) {
                        sink.bytes.append(contentsOf: json)
                        continue
                    }
                    let decoded: InstanceRecord
                    do {
                        decoded = try InstanceRecord(unsafeBytes: record)
                    } catch {
                        throw GatewayError.unreadableAnswer
                    }
                    let start = sink.bytes.count
                    try InstanceListWriter.appendEntry(decoded, registry: registry, to: sink)
                    cache.keep(record: record, json: Array(sink.bytes[start...]))
                }
            }
            buffer.writeBytes(sink.bytes)
        }
    }

    func startRequest(_ json: RequestJSON) throws -> StartInstancesRequest {
        var body = StartInstancesRequest()
        guard let vmid = try json.string("vmid"), !vmid.isEmpty else {
            throw GatewayError(.badRequest, "vmid is required")
        }
        body.templateID = vmid
        body.tag = try json.string("tag")
        body.version = try json.int("version")
        body.name = try json.string("name") ?? ""
        body.externalID = try json.string("external_id") ?? ""
        body.count = try json.int("count") ?? 1
        body.nodeID = try json.string("node_id") ?? ""
        body.priority = try json.int("priority")
        body.groupID = try json.string("group_id") ?? ""
        body.permissionGroup = try json.string("group") ?? ""
        body.vcpu = try json.int("vcpu")
        body.vramMB = try json.int("vram")
        body.metadataJSON = try metadataJSON(json) ?? ""
        body.options = try StartOptionsJSON.parse(json)
        body.tags = try tags(json) ?? []
        if let policy = try json.string("restart_policy") {
            guard RestartPolicy(rawValue: policy) != nil else {
                throw GatewayError(.badRequest, "restart_policy must be never, always or on_failure")
            }
            body.restartPolicy = policy
        }
        body.maxRestarts = try json.int("max_restarts")
        return body
    }

    /// `tags` (Berth's extension): a list of strings, checked against ``InstanceTags``.
    func tags(_ json: RequestJSON) throws -> [String]? {
        guard let tags = try json.stringArray("tags") else { return nil }
        do {
            return try InstanceTags.normalized(tags)
        } catch {
            throw GatewayError(.badRequest, error.message)
        }
    }

    /// `metadata` as JSON object text; values must be strings, integers or booleans.
    func metadataJSON(_ json: RequestJSON) throws -> String? {
        guard let metadata = try json.object("metadata") else { return nil }
        for (key, value) in metadata where !(value is String || value is NSNumber) {
            throw GatewayError(.badRequest, "metadata value of \(key) must be a string, integer or boolean")
        }
        let data = try JSONSerialization.data(withJSONObject: metadata, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}
