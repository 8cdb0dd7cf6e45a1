/// A command from the control plane to a node.
///
/// `commandID` increases within one control-plane database's history and is persisted
/// before the command is sent; `epoch` names the control-plane start that issued it. The
/// node applies each `(epoch, commandID)` at most once and acknowledges it with
/// ``CommandAck``; unacknowledged commands are sent again after a reconnect, so each is
/// applied exactly once. A command of another epoch than the node's last is always new to
/// it (a restored database issues ids again, under a new epoch).
public struct NodeCommand: WireMessage, Equatable {
    public static let messageType = MessageType.nodeCommand

    public enum Kind: UInt8, Sendable, CustomStringConvertible {
        case start = 1
        case stop = 2
        case terminate = 3
        case restart = 4
        /// Update the node agent (Anka `PUT /api/v1/node/update`); `instanceID` is empty.
        case updateAgent = 5
        /// Fetch a template version into the cache (a distribution); `template` is set.
        case pullTemplate = 6
        /// Stop the pull of distribution `template.distributionID`.
        case cancelPull = 7
        /// Drop every cached version of `template.templateID`.
        case removeTemplate = 8
        /// Save the instance's content as a new version (Anka save image); `saveImage` is set.
        case saveImage = 9

        public var description: String {
            switch self {
            case .start: "start"
            case .stop: "stop"
            case .terminate: "terminate"
            case .restart: "restart"
            case .updateAgent: "update_agent"
            case .pullTemplate: "pull_template"
            case .cancelPull: "cancel_pull"
            case .removeTemplate: "remove_template"
            case .saveImage: "save_image"
            }
        }
    }

    public var commandID: UInt64
    /// The control-plane epoch that issued it (0 from a control plane without epochs).
    public var epoch: UInt64 = 0
    public var kind: Kind
    public var instanceID: String
    public var start: StartSpec?
    public var template: TemplateCommand?
    public var saveImage: SaveImageSpec?

    public init(
        commandID: UInt64,
        kind: Kind,
        instanceID: String,
        start: StartSpec? = nil,
        template: TemplateCommand? = nil,
        saveImage: SaveImageSpec? = nil
    ) {
        self.commandID = commandID
        self.kind = kind
        self.instanceID = instanceID
        self.start = start
        self.template = template
        self.saveImage = saveImage
    }

    /// Kinds that act on the node, not on one instance (their `instanceID` is empty).
    public var isNodeWide: Bool {
        switch kind {
        case .updateAgent, .pullTemplate, .cancelPull, .removeTemplate: true
        default: false
        }
    }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, commandID)
        w.write(2, kind)
        w.write(3, instanceID)
        w.write(4, start)
        w.write(5, template)
        w.write(6, saveImage)
        w.write(7, epoch)
    }

    public init(from r: inout PayloadReader) throws {
        var id: UInt64?
        var kind: Kind?
        var instanceID: String?
        while let tag = try r.next() {
            switch tag.number {
            case 1: id = try r.uint64(tag)
            case 2: kind = try r.enumeration(tag)
            case 3: instanceID = try r.string(tag)
            case 4: start = try r.message(tag)
            case 5: template = try r.message(tag)
            case 6: saveImage = try r.message(tag)
            case 7: epoch = try r.uint64(tag)
            default: try r.skip(tag)
            }
        }
        self.commandID = try PayloadReader.requireNonZero(id, "commandID", in: "NodeCommand", zero: 0)
        self.kind = try PayloadReader.require(kind, "kind", in: "NodeCommand")
        self.instanceID = instanceID ?? ""
        if !isNodeWide { _ = try PayloadReader.requireNonZero(instanceID, "instanceID", in: "NodeCommand", zero: "") }
    }
}
