/// The operations a gateway can call on the control plane.
///
/// New methods get new numbers; a server answers an unknown one with
/// ``RPCStatus/notImplemented``.
public struct RPCMethod: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let status = RPCMethod(rawValue: 1)
    public static let startInstances = RPCMethod(rawValue: 10)
    public static let listInstances = RPCMethod(rawValue: 11)
    public static let terminateInstance = RPCMethod(rawValue: 12)
    public static let updateInstance = RPCMethod(rawValue: 13)
    public static let restartInstance = RPCMethod(rawValue: 14)
    /// Berth's wait-for-state: answers when an instance reaches a state, ends, or time runs out.
    public static let waitInstance = RPCMethod(rawValue: 15)
    /// The controller's event log.
    public static let listEvents = RPCMethod(rawValue: 16)
    /// A slice of an instance's log, fetched from its node.
    public static let instanceLog = RPCMethod(rawValue: 17)
    public static let listNodes = RPCMethod(rawValue: 20)
    public static let deleteNode = RPCMethod(rawValue: 21)
    public static let configureNode = RPCMethod(rawValue: 22)
    /// Anka `PUT /api/v1/node/update`: every node updates its agent.
    public static let updateNodeAgents = RPCMethod(rawValue: 23)
    public static let createGroup = RPCMethod(rawValue: 30)
    public static let listGroups = RPCMethod(rawValue: 31)
    public static let updateGroup = RPCMethod(rawValue: 32)
    public static let deleteGroup = RPCMethod(rawValue: 33)
    public static let addNodesToGroups = RPCMethod(rawValue: 34)
    public static let removeNodesFromGroups = RPCMethod(rawValue: 35)
    public static let createAPIKey = RPCMethod(rawValue: 40)
    public static let listAPIKeys = RPCMethod(rawValue: 41)
    public static let updateAPIKey = RPCMethod(rawValue: 42)
    public static let deleteAPIKey = RPCMethod(rawValue: 43)
    public static let tapHand = RPCMethod(rawValue: 44)
    public static let tapShake = RPCMethod(rawValue: 45)
    public static let listPermissionGroups = RPCMethod(rawValue: 50)
    public static let createPermissionGroup = RPCMethod(rawValue: 51)
    public static let updatePermissionGroup = RPCMethod(rawValue: 52)
    public static let deletePermissionGroup = RPCMethod(rawValue: 53)
    public static let listGroupResources = RPCMethod(rawValue: 54)
    public static let setGroupResources = RPCMethod(rawValue: 55)
    public static let permissionCatalogue = RPCMethod(rawValue: 56)
    public static let listTemplates = RPCMethod(rawValue: 70)
    public static let deleteTemplate = RPCMethod(rawValue: 71)
    public static let revertTemplate = RPCMethod(rawValue: 72)
    /// Stores one chunk of template content (≤ 4 MiB); answers its hash.
    public static let putChunk = RPCMethod(rawValue: 73)
    /// Which of the listed chunks the registry lacks.
    public static let missingChunks = RPCMethod(rawValue: 74)
    /// Adds a template version whose chunks are stored.
    public static let commitTemplateVersion = RPCMethod(rawValue: 75)
    public static let distributeTemplate = RPCMethod(rawValue: 76)
    public static let listDistributions = RPCMethod(rawValue: 77)
    public static let cancelDistribution = RPCMethod(rawValue: 78)
    public static let removeTemplateFromNodes = RPCMethod(rawValue: 79)
    public static let registryDisk = RPCMethod(rawValue: 80)
    public static let saveImage = RPCMethod(rawValue: 81)
    public static let listImageRequests = RPCMethod(rawValue: 82)
    /// A longer-lived TAP session for the caller's key, for the web dashboard's cookie.
    public static let portalSession = RPCMethod(rawValue: 83)
    /// The fleet's samples of the last hour, for the dashboard's charts.
    public static let fleetHistory = RPCMethod(rawValue: 84)
    /// Long poll: returns when anything in the fleet changed (the dashboard's live updates).
    public static let watchFleet = RPCMethod(rawValue: 85)
    /// An instance's state history.
    public static let instanceHistory = RPCMethod(rawValue: 86)
    /// Ends the caller's own session (dashboard logout); the session is its credential.
    public static let endSession = RPCMethod(rawValue: 87)
    /// The deployment's secret for signing dashboard cookies (root only: gateways ask it).
    public static let portalSecret = RPCMethod(rawValue: 88)
    public static let listMACs = RPCMethod(rawValue: 60)
    public static let populateMACs = RPCMethod(rawValue: 61)
    public static let purgeMACs = RPCMethod(rawValue: 62)

    public var description: String {
        switch self {
        case .status: "status"
        case .startInstances: "startInstances"
        case .listInstances: "listInstances"
        case .terminateInstance: "terminateInstance"
        case .updateInstance: "updateInstance"
        case .restartInstance: "restartInstance"
        case .waitInstance: "waitInstance"
        case .listEvents: "listEvents"
        case .instanceLog: "instanceLog"
        case .listNodes: "listNodes"
        case .deleteNode: "deleteNode"
        case .configureNode: "configureNode"
        case .createGroup: "createGroup"
        case .listGroups: "listGroups"
        case .updateGroup: "updateGroup"
        case .deleteGroup: "deleteGroup"
        case .addNodesToGroups: "addNodesToGroups"
        case .removeNodesFromGroups: "removeNodesFromGroups"
        case .createAPIKey: "createAPIKey"
        case .listAPIKeys: "listAPIKeys"
        case .updateAPIKey: "updateAPIKey"
        case .deleteAPIKey: "deleteAPIKey"
        case .tapHand: "tapHand"
        case .tapShake: "tapShake"
        case .updateNodeAgents: "updateNodeAgents"
        case .listPermissionGroups: "listPermissionGroups"
        case .createPermissionGroup: "createPermissionGroup"
        case .updatePermissionGroup: "updatePermissionGroup"
        case .deletePermissionGroup: "deletePermissionGroup"
        case .listGroupResources: "listGroupResources"
        case .setGroupResources: "setGroupResources"
        case .permissionCatalogue: "permissionCatalogue"
        case .listTemplates: "listTemplates"
        case .deleteTemplate: "deleteTemplate"
        case .revertTemplate: "revertTemplate"
        case .putChunk: "putChunk"
        case .missingChunks: "missingChunks"
        case .commitTemplateVersion: "commitTemplateVersion"
        case .distributeTemplate: "distributeTemplate"
        case .listDistributions: "listDistributions"
        case .cancelDistribution: "cancelDistribution"
        case .removeTemplateFromNodes: "removeTemplateFromNodes"
        case .registryDisk: "registryDisk"
        case .saveImage: "saveImage"
        case .listImageRequests: "listImageRequests"
        case .portalSession: "portalSession"
        case .fleetHistory: "fleetHistory"
        case .watchFleet: "watchFleet"
        case .instanceHistory: "instanceHistory"
        case .endSession: "endSession"
        case .portalSecret: "portalSecret"
        case .listMACs: "listMACs"
        case .populateMACs: "populateMACs"
        case .purgeMACs: "purgeMACs"
        default: "method(\(rawValue))"
        }
    }
}
