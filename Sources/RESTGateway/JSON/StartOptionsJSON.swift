import Foundation
import WireProtocol

/// Reads and validates the optional VM fields of Anka's start request.
enum StartOptionsJSON {
    static func parse(_ json: RequestJSON) throws -> StartOptions {
        var options = StartOptions()
        if let script = try json.string("startup_script"), !script.isEmpty {
            guard let decoded = Data(base64Encoded: script.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw GatewayError(.badRequest, "startup_script must be base64")
            }
            options.startupScript = Array(decoded)
        }
        if let condition = try json.int("startup_script_condition") {
            guard condition == 0 || condition == 1 else {
                throw GatewayError(.badRequest, "startup_script_condition must be 0 or 1")
            }
            options.startupScriptCondition = condition
        }
        options.scriptMonitoring = try json.bool("script_monitoring") ?? false
        if let timeout = try json.int("script_timeout") {
            guard timeout > 0 else { throw GatewayError(.badRequest, "script_timeout must be positive") }
            options.scriptTimeout = timeout
        }
        if let handler = try json.int("script_fail_handler") {
            guard (0...2).contains(handler) else {
                throw GatewayError(.badRequest, "script_fail_handler must be 0 (stop), 1 (keep) or 2 (delete)")
            }
            options.scriptFailHandler = handler
        }
        options.nameTemplate = try json.string("name_template") ?? ""
        options.usbDevice = try json.string("usb_device") ?? ""
        if let mac = try json.string("mac_address"), !mac.isEmpty {
            guard mac.wholeMatch(of: /([0-9A-F]{2}:){5}[0-9A-F]{2}/) != nil else {
                throw GatewayError(.badRequest, "mac_address must be six capital hex pairs separated by ':'")
            }
            options.macAddress = mac
        }
        options.vlanTag = try json.string("vlan_tag") ?? ""
        options.videoController = try choice(json, "video_controller", ["fbuf", "pg"])
        options.hvapic = try choice(json, "hvapic", ["forceOn", "forceOff"])
        options.csrActiveConfig = try choice(json, "csr_active_config", ["forceOn"])
        options.networkLocal = try choice(json, "network_local", ["forceOn", "forceOff"])
        options.hwSerial = try json.string("hw_serial") ?? ""
        options.hwUUID = try json.string("hw_uuid") ?? ""
        options.networkMode = try json.string("network_mode") ?? ""
        options.vncPassword = try json.string("vnc_password") ?? ""
        options.portForwarding = try portForwarding(json)
        if let disk = try json.object("disk") {
            let diskJSON = RequestJSON(fields: disk)
            guard let size = try diskJSON.string("size"), size.wholeMatch(of: /[0-9]+[KMGT]?/) != nil else {
                throw GatewayError(.badRequest, "disk.size must be a size such as 256G")
            }
            options.diskSize = size
            options.diskSkipContainerResize = try diskJSON.bool("skip_container_resize") ?? false
        }
        return options
    }

    static func choice(_ json: RequestJSON, _ key: String, _ allowed: [String]) throws -> String {
        guard let value = try json.string(key), !value.isEmpty else { return "" }
        guard allowed.contains(value) else {
            throw GatewayError(.badRequest, "\(key) must be one of \(allowed.joined(separator: ", "))")
        }
        return value
    }

    /// `port_forwarding_override`: `guest_port` required; `host_port`, `name`, `protocol` optional.
    static func portForwarding(_ json: RequestJSON) throws -> [PortForward] {
        guard json.has("port_forwarding_override") else { return [] }
        guard let rules = json.fields["port_forwarding_override"] as? [Any] else {
            throw GatewayError(.badRequest, "port_forwarding_override must be an array of objects")
        }
        return try rules.enumerated().map { index, value in
            guard let fields = value as? [String: Any] else {
                throw GatewayError(.badRequest, "port_forwarding_override[\(index)] must be an object")
            }
            let rule = RequestJSON(fields: fields)
            guard let guest = try rule.int("guest_port"), (1...65_535).contains(guest) else {
                throw GatewayError(.badRequest, "port_forwarding_override[\(index)].guest_port must be a port number")
            }
            let host = try rule.int("host_port") ?? 0
            guard (0...65_535).contains(host) else {
                throw GatewayError(.badRequest, "port_forwarding_override[\(index)].host_port must be a port number")
            }
            let proto = try rule.string("protocol") ?? "tcp"
            guard proto == "tcp" || proto == "udp" else {
                throw GatewayError(.badRequest, "port_forwarding_override[\(index)].protocol must be tcp or udp")
            }
            return PortForward(guestPort: guest, hostPort: host, proto: proto, name: try rule.string("name") ?? "")
        }
    }
}
