/// How a node saves an instance (Anka `POST /api/v1/image`): run `script` inside it,
/// stop it, and upload its content. The control plane decides the template and tag.
public struct SaveImageSpec: WireCodable, Equatable, Sendable {
    public var requestID: String
    /// Shell script run in the instance before it is stopped; empty for none.
    public var script: [UInt8]
    public var scriptTimeoutSeconds: Int
    /// Keep the instance running and save nothing when the script fails.
    public var cancelOnScriptFailure: Bool
    /// Anka's `suspend`; a driver without suspend stops the instance instead.
    public var suspend: Bool

    public init(
        requestID: String,
        script: [UInt8] = [],
        scriptTimeoutSeconds: Int = 300,
        cancelOnScriptFailure: Bool = false,
        suspend: Bool = true
    ) {
        self.requestID = requestID
        self.script = script
        self.scriptTimeoutSeconds = scriptTimeoutSeconds
        self.cancelOnScriptFailure = cancelOnScriptFailure
        self.suspend = suspend
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, requestID)
        w.write(2, bytes: script)
        // Both default to something other than zero, so their zero must be written.
        w.writeExplicit(3, scriptTimeoutSeconds)
        w.write(4, cancelOnScriptFailure)
        w.writeExplicit(5, suspend)
    }

    public init(from r: inout PayloadReader) throws {
        self.init(requestID: "")
        while let tag = try r.next() {
            switch tag.number {
            case 1: requestID = try r.string(tag)
            case 2: script = try r.bytes(tag)
            case 3: scriptTimeoutSeconds = try r.int(tag)
            case 4: cancelOnScriptFailure = try r.bool(tag)
            case 5: suspend = try r.bool(tag)
            default: try r.skip(tag)
            }
        }
    }
}
