import Logging
import Persistence
import Telemetry
import WireProtocol

/// Turns one gateway RPC into a call on the fleet and wraps the answer.
///
/// The method's descriptor (``RPCCatalog``) decides what happens around its handler: the
/// controller permission checked before it runs, and the audit event after a success.
/// Every error becomes an ``RPCResponse`` with a status; nothing thrown here reaches
/// the connection, so one bad request never closes the gateway's connection.
struct RPCDispatcher: Sendable {
    let handlers: RPCHandlerTable
    let keys: KeyStore
    let authorizer: Authorizer
    let eventLog: EventLog
    let accessTokens: AccessTokens
    let configuration: ControlPlaneConfiguration
    let logger: Logger
    let metrics: ControlPlaneMetrics
    /// Whether storage is in a full episode, so that it is logged once, not per request.
    let storage = StorageAlarm()

    init(
        fleet: Fleet,
        keys: KeyStore,
        authorizer: Authorizer,
        eventLog: EventLog,
        enrollment: EnrollmentService,
        configuration: ControlPlaneConfiguration,
        metrics: ControlPlaneMetrics,
        logger: Logger
    ) {
        let accessTokens = AccessTokens(database: fleet.database)
        self.handlers = RPCRoutes(
            fleet: fleet,
            keys: keys,
            authorizer: authorizer,
            eventLog: eventLog,
            accessTokens: accessTokens,
            enrollment: enrollment,
            configuration: configuration
        ).table()
        self.accessTokens = accessTokens
        self.keys = keys
        self.authorizer = authorizer
        self.eventLog = eventLog
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
    }

    /// Answers `request`, records its time and any error status, and logs it: changes
    /// (audited methods) at `info`, reads at `debug`, with the gateway's `request_id`.
    func handle(_ request: RPCRequest) async -> RPCResponse {
        let clock = ContinuousClock()
        let began = clock.now
        let response = await answer(request)
        let duration = clock.now - began
        metrics.recordRPC(method: request.method, status: response.status == .ok ? nil : response.status, duration: duration)
        let audited = handlers[request.method]?.descriptor.audited ?? false
        logger.log(level: audited ? .info : .debug, "rpc", metadata: logMetadata(request, response, duration))
        return response
    }

    /// A call's log fields: the method, the outcome, the request id, and what it touched.
    private func logMetadata(_ request: RPCRequest, _ response: RPCResponse, _ duration: Duration) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "method": "\(request.method)",
            "status": "\(response.status)",
            "duration_ms": "\(duration.milliseconds)",
        ]
        if !request.requestID.isEmpty { metadata["request_id"] = "\(request.requestID)" }
        if response.status != .ok { metadata["error"] = "\(response.message)" }
        if response.status == .ok, request.method == RPCCatalog.startInstances.method,
            let ids = try? IDList(bytes: response.body)
        {
            metadata["instances"] = "\(ids.ids.joined(separator: ","))"
        } else if let id = try? IDQuery(bytes: request.body).id, !id.isEmpty {
            metadata["subject"] = "\(id)"
        }
        return metadata
    }

    private func answer(_ request: RPCRequest) async -> RPCResponse {
        guard let handler = handlers[request.method] else {
            return RPCResponse(status: .notImplemented, message: "unknown method \(request.method.rawValue)")
        }
        do {
            let principal = try await authenticate(request.principal)
            try await authorizer.authorize(principal, for: handler.descriptor)
            let body = try await handler.run(request.body, principal)
            if handler.descriptor.audited {
                storage.reportWritable(logger: logger)
                await audit(request, principal: principal, answer: body)
            }
            return RPCResponse(status: .ok, body: body)
        } catch let error as ControlPlaneError {
            return RPCResponse(status: error.status, message: error.message)
        } catch let error as WireError {
            return RPCResponse(status: .badRequest, message: "malformed request body: \(error.reason)")
        } catch let error as PersistenceError where error.code == .unavailable || error.code == .fenced {
            // Nothing was acknowledged: the caller retries, as during any failover.
            logger.warning(
                "rpc refused: the database cannot be written",
                metadata: ["method": "\(request.method)", "error": "\(error)", "request_id": "\(request.requestID)"]
            )
            let refusal = ControlPlaneError.storageUnavailable
            return RPCResponse(status: refusal.status, message: refusal.message)
        } catch  where PersistenceError.isStorageFull(error) {
            storage.reportFull(method: request.method, error: error, logger: logger)
            return RPCResponse(
                status: .storageFull,
                message: "control plane storage is full; free disk space on the control plane's host"
            )
        } catch {
            logger.error(
                "rpc failed",
                metadata: ["method": "\(request.method)", "error": "\(error)", "request_id": "\(request.requestID)"]
            )
            return RPCResponse(status: .internalError, message: "internal error")
        }
    }

    /// The principal as the control plane knows it. A key's session, or a root or OIDC
    /// dashboard session (root or OIDC with a session id), is checked on every call, so
    /// deleting the key or logging out ends it; a key's name and groups come from the store,
    /// and a dashboard OIDC user's from the session, not the bearer.
    func authenticate(_ claimed: Principal) async throws -> Principal {
        // An access token opens tunnels to its instance (``authorizeTunnel(_:instanceID:)``)
        // and makes no call at all.
        if claimed.kind == .accessToken {
            throw ControlPlaneError(.forbidden, "Permission denied: an access token only opens tunnels to its instance")
        }
        let dashboard = (claimed.kind == .root || claimed.kind == .oidc) && !claimed.sessionID.isEmpty
        guard claimed.kind == .apiKey || dashboard else { return claimed }
        var principal = claimed
        switch await keys.authenticate(sessionID: claimed.sessionID, token: claimed.token) {
        case .root where claimed.kind == .root:
            break
        case .key(let key) where claimed.kind == .apiKey:
            principal.name = key.id
            principal.groups = key.groupNames
        case .oidc(let user) where claimed.kind == .oidc:
            principal.name = user.name
            principal.groups = user.groups
        default:
            throw ControlPlaneError(.unauthenticated, "Authentication Required")
        }
        return principal
    }

    /// Who a principal is, as the event log names it.
    static func actor(_ principal: Principal) -> String {
        switch principal.kind {
        case .root: "root"
        case .anonymous: "anonymous"
        case .apiKey, .certificate, .oidc: principal.name.isEmpty ? "\(principal.kind)" : principal.name
        case .accessToken: "access token from \(principal.name)"
        }
    }

    /// Authenticates a tunnel's caller as a call's, and checks `connect_vm`, or that an
    /// access token is for this instance; returns the principal as the control plane knows it.
    func authorizeTunnel(_ claimed: Principal, instanceID: String) async throws -> Principal {
        if claimed.kind == .accessToken {
            guard let claims = await accessTokens.verify(claimed.token) else {
                throw ControlPlaneError(.unauthenticated, "Authentication Required")
            }
            guard claims.i == instanceID else {
                throw ControlPlaneError(.forbidden, "Permission denied: this access token is for another instance")
            }
            return Principal(kind: .accessToken, name: claims.u)
        }
        let principal = try await authenticate(claimed)
        try await authorizer.requireController(principal, "connect_vm")
        return principal
    }

    /// Records an audited success as `api.<method>`. `principal` is the one the control
    /// plane checked (a key's id, not what the bearer claims).
    private func audit(_ request: RPCRequest, principal: Principal, answer: [UInt8]) async {
        let actor = Self.actor(principal)
        // Field 1 of every audited body is the object's id or name (a start's ids are in the answer).
        var subject = (try? IDQuery(bytes: request.body).id) ?? ""
        if request.method == RPCCatalog.startInstances.method, let ids = try? IDList(bytes: answer) {
            subject = ids.ids.joined(separator: ",")
        } else if request.method == RPCCatalog.createGroup.method, let group = try? GroupRecord(bytes: answer) {
            subject = group.id
        }
        await eventLog.record(
            kind: "api.\(request.method)",
            subject: subject,
            message: "\(request.method) by \(actor)",
            actor: actor
        )
    }
}
