import BerthTestSupport
import ControlPlane
import Foundation
import Persistence
import RESTGateway
import Testing

/// Replays every curl example of the Anka controller API reference, as written, with the
/// real curl, bash and jq, against real gateways.
///
/// The document is copied verbatim into `Fixtures/`. Only two things stand between the
/// text and this machine, both outside the command text: a `curl` wrapper on `PATH` that
/// adds `--connect-to` so the documented hosts (`anka.controller`, `anka.registry`) reach
/// the test gateways, and a `base64` wrapper that accepts macOS's `-b 0` (GNU spells it
/// `-w 0`). Examples with an `Authorization` header go to a gateway with the documented
/// root token `1111111111`; the others to one without authentication, as the document
/// assumes; `https://` examples to an HTTPS gateway.
@Suite struct CurlExampleReplayTests {
    static let documentedRootToken = "1111111111"

    /// Examples whose documented order makes them fail here, with the reason: the revert of
    /// `00510971…` follows the example that deletes that template.
    static let expectedFailures = [
        "registry/revert?id=00510971-5c37-4a60-a9c6-ea185397d9b4": "No such template"
    ]

    /// Objects the examples name by id, created before the replay so that they can succeed.
    enum Documented {
        static let nodes = [
            "f8707005-4630-4c9c-8403-c9c5964097f6", "3c101836-9540-4733-9482-604d0c5fbe30",
            "64230242-321c-442a-bd96-d87edd0943a3",
        ]
        static let groups = ["89a66167-62b1-42bb-5a0b-ff667906b8f5", "e41d4b47-4c10-4264-5519-2d52af568bdd"]
        static let waitingInstances = [
            "c0f36a87-41d9-44a8-66e1-6c5afae15b80", "c983c3bf-a0c0-43dc-54dc-2fd9f7d62fce",
            "04b7ca7a-945c-4bdc-5123-68b2e4c8ad13",
        ]
        static let startedInstance = "c2af6080-3ae3-4cd3-64e5-2193f31b9aa5"
        /// Templates the registry examples show, delete and revert, with their tags.
        static let templates: [(id: String, name: String, tags: [String])] = [
            ("d937553f-ab5f-405a-8d91-198f5001794e", "14.5-arm64-teamcity", ["v1"]),
            ("00510971-5c37-4a60-a9c6-ea185397d9b4", "documented-delete", ["a", "b"]),
            ("a3cc47f0-3a73-11e9-b515-c4b301c47c6b", "documented-revert", ["p120190904183122", "v2", "v3"]),
            ("eaef3af8-cb54-4c3e-baf9-839053472f15", "documented-distribute", ["v1"]),
            ("cb1473f2-1f0a-413c-a376-236bfd7d718f", "documented-image-target", ["latest-vm-1801"]),
            ("e2729233-fbca-4e71-82de-511028191e33", "documented-image-target-2", ["v1"]),
        ]
        /// Running instances the save-image examples save (on the node their examples name).
        static let imageInstances = ["cfc3cafd-d326-459d-7b3b-3c41b1a3efb7", "6f1776ad-3b6d-40b3-4bf9-21fe986bc26d"]
        /// The distribution and save-image requests the examples look up by id.
        static let distribution = "74efc824-2fcb-4e07-5e7d-7f9cc98e0ee5"
        static let imageRequest = "cc55f7dd-5280-4120-461c-9b0ef9b40131"
    }

    /// The curl commands of the document's code blocks, continuation lines joined as a shell would read them.
    static func examples() throws -> [String] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/anka-controller-api.md")
        let lines = try String(contentsOf: url, encoding: .utf8).components(separatedBy: "\n")
        var commands: [String] = []
        var inBlock = false
        var index = 0
        while index < lines.count {
            let line = lines[index]
            index += 1
            if line.trimmingCharacters(in: .whitespaces).hasPrefix("```") {
                inBlock.toggle()
                continue
            }
            var text = line.trimmingCharacters(in: .whitespaces)
            if text.hasPrefix("❯") { text = String(text.dropFirst()).trimmingCharacters(in: .whitespaces) }
            guard inBlock, text.hasPrefix("curl ") else { continue }
            var command = text
            while !isComplete(command), index < lines.count {
                command += "\n" + lines[index]
                index += 1
            }
            commands.append(command)
        }
        return commands
    }

    /// Quotes balanced and no trailing line continuation.
    static func isComplete(_ command: String) -> Bool {
        var single = false
        var double = false
        for character in command {
            if character == "'" && !double { single.toggle() }
            if character == "\"" && !single { double.toggle() }
        }
        return !single && !double && !command.trimmingCharacters(in: .whitespaces).hasSuffix("\\")
    }

    static func writeWrappers(to directory: URL, plain: Int, authenticated: Int, https: Int) throws {
        let realCurl = ["/usr/bin/curl", "/usr/local/bin/curl", "/bin/curl"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }!
        let curl = """
            #!/bin/sh
            # Test wrapper: route the documented hosts to the test gateways; arguments pass unchanged.
            port=\(plain)
            for arg in "$@"; do
              case "$arg" in *Authorization:*) port=\(authenticated);; esac
            done
            for arg in "$@"; do
              case "$arg" in https://*) port=\(https);; esac
            done
            exec \(realCurl) \\
              --connect-to anka.controller:80:127.0.0.1:$port --connect-to anka.controller:8090:127.0.0.1:$port \\
              --connect-to anka.registry:8089:127.0.0.1:$port --connect-to anka.registry:8090:127.0.0.1:$port \\
              --connect-to anka.controller:443:127.0.0.1:$port "$@"
            """
        let base64 = """
            #!/bin/sh
            # Test wrapper: macOS base64 spells "no line wrapping" -b 0; GNU spells it -w 0.
            if [ "$1" = "-b" ]; then shift 2; set -- -w 0 "$@"; fi
            exec /usr/bin/env -i PATH=/usr/bin:/bin base64 "$@"
            """
        for (name, text) in [("curl", curl), ("base64", base64)] {
            let file = directory.appendingPathComponent(name)
            try Data((text + "\n").utf8).write(to: file)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: file.path)
        }
    }

    static func seedDocumentedObjects(_ database: BerthDatabase) async throws {
        try await TestTemplates.seed(database)
        let now = BerthDatabase.nowMicros()
        for template in Documented.templates {
            try await database.insertTemplate(
                TemplateRow(
                    id: template.id,
                    name: template.name,
                    arch: "arm64",
                    cpuCores: 4,
                    ramMb: 8192,
                    createdAt: now
                ),
                versions: template.tags.enumerated().map {
                    TemplateVersionRow(
                        templateId: template.id,
                        number: $0.offset,
                        tag: $0.element,
                        size: 1 << 30,
                        createdAt: now
                    )
                }
            )
        }
        for (i, id) in Documented.nodes.enumerated() {
            var node = NodeRow(id: id, name: "documented-node-\(i)", createdAt: now)
            node.maxVmCount = 2
            try await database.saveNode(node)
        }
        for (i, id) in Documented.groups.enumerated() {
            try await database.saveGroup(
                NodeGroupRow(
                    id: id,
                    name: "documented-group-\(i)",
                    description: "",
                    fallbackGroupId: nil,
                    createdAt: now
                ),
                creating: true
            )
        }
        var rows = Documented.waitingInstances.map {
            InstanceRow(id: $0, state: "Scheduling", templateId: TestTemplates.linux, crTime: now)
        }
        var started = InstanceRow(
            id: Documented.startedInstance,
            state: "Started",
            templateId: TestTemplates.linux,
            crTime: now
        )
        started.nodeId = Documented.nodes[1]
        rows.append(started)
        for id in Documented.imageInstances {
            var instance = InstanceRow(id: id, state: "Started", templateId: TestTemplates.linux, crTime: now)
            instance.nodeId = Documented.nodes[2]
            rows.append(instance)
        }
        try await database.insertInstances(rows)
        try await database.insertDistribution(
            DistributionRow(
                id: Documented.distribution,
                templateId: Documented.templates[3].id,
                tag: "v1",
                requestedAt: now
            ),
            nodes: [DistributionNodeRow(distributionId: Documented.distribution, nodeId: Documented.nodes[2])]
        )
        try await database.insertImageRequest(
            ImageRequestRow(
                id: Documented.imageRequest,
                instanceId: Documented.startedInstance,
                nodeId: Documented.nodes[1],
                status: "pending",
                request: [],
                createdAt: now
            )
        )
    }

    @Test func everyDocumentedCurlExampleWorksAsWritten() async throws {
        let commands = try Self.examples()
        #expect(commands.count >= 40, "found \(commands.count) examples")

        let directory = DataDirectory(TestPaths.temporaryDirectory("replay"))
        try directory.initialize()
        try await Self.seedDocumentedObjects(try directory.openDatabase())
        let cp = try await TestControlPlane.start(directory: directory)
        let plain = try await TestGateway.start(cp, name: "plain")
        let authenticated = try await TestGateway.start(cp, rootToken: Self.documentedRootToken, name: "auth")
        let pki = try TestWebPKI()
        let server = try pki.server()
        let https = try await TestGateway.start(
            cp,
            rootToken: Self.documentedRootToken,
            name: "https",
            tls: try GatewayTLS.load(certificatePath: server.certificate, keyPath: server.key, clientCAPath: nil)
        )
        // The key the update and delete examples act on.
        #expect(
            try await authenticated.http.send("POST", "/api/v1/apikey", body: #"{"id":"developer3","ttl":600}"#).status
                == 200
        )
        let wrappers = TestPaths.temporaryDirectory("wrappers")
        try Self.writeWrappers(to: wrappers, plain: plain.port, authenticated: authenticated.port, https: https.port)
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = wrappers.path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")

        var replayed = 0
        for command in commands {
            let output = try await Shell.run("/bin/bash", ["-o", "pipefail", "-c", command], environment: environment)
            let text = output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let value = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
            let json = value as? [String: Any]
            #expect(output.exitCode == 0, "\(command)\n\(output.stderr)")
            #expect(value != nil, "not JSON:\n\(command)\n\(text)")
            if let expected = Self.expectedFailures.first(where: { command.contains($0.key) })?.value {
                #expect(json?["status"] as? String == "FAIL", "\(command)\n\(text)")
                #expect((json?["message"] as? String)?.contains(expected) == true, "\(command)\n\(text)")
                replayed += 1
            } else if command.contains("jq '.body[1]'") {
                // The filter leaves one save-image request, not the envelope.
                #expect(json?["id"] is String && json?["status"] is String, "\(command)\n\(text)")
                replayed += 1
            } else {
                #expect(json != nil, "not a JSON envelope:\n\(command)\n\(text)")
                #expect(json?["status"] as? String == "OK", "\(command)\n\(text)")
                replayed += 1
            }
        }
        #expect(replayed == commands.count)
        print("replayed \(replayed) documented curl examples")
        for gateway in [plain, authenticated, https] { await gateway.stop() }
        await cp.stop()
    }
}
