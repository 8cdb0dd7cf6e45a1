import ServiceLifecycle

/// Adapts an async body to swift-service-lifecycle; the body is cancelled on SIGINT/SIGTERM.
struct RunService: Service {
    let body: @Sendable () async throws -> Void

    func run() async throws {
        try await cancelWhenGracefulShutdown { try await body() }
    }

    /// Runs `body` until it returns or the process is asked to stop.
    static func run(label: String, _ body: @escaping @Sendable () async throws -> Void) async throws {
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: RunService(body: body))],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: .init(label: label)
            )
        )
        try await group.run()
    }
}
