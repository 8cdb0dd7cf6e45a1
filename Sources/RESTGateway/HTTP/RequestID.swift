import WireProtocol

/// The id that ties one HTTP request to the RPCs it makes and to the control plane's log.
///
/// The gateway takes the caller's `X-Request-ID` when it is a plausible id (1–64 letters,
/// digits, `.`, `_` or `-`), or makes one from the system CSPRNG; answers with it in
/// `X-Request-ID`; logs it as `request_id`; and sends it in every RPC the request makes
/// (``RPCRequest/requestID``), read from this task-local by ``ControlPlaneClient``.
enum RequestID {
    @TaskLocal static var current = ""

    static let headerName = "X-Request-ID"

    /// The caller's id when usable, else a new one.
    static func accept(_ offered: String?) -> String {
        if let offered, isPlausible(offered) { return offered }
        return RandomID.hex(16)
    }

    static func isPlausible(_ value: String) -> Bool {
        (1...64).contains(value.utf8.count)
            && value.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                    true
                default: false
                }
            }
    }
}
