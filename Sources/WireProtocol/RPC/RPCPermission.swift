/// What a caller needs before the control plane runs an RPC.
///
/// Controller permissions carry the names Anka documents (see `docs/permissions.md`);
/// resource permissions on nodes and templates are checked inside the method, per object.
public enum RPCPermission: Hashable, Sendable, CustomStringConvertible {
    /// No credential at all (the TAP handshake that obtains one).
    case none
    /// Any authenticated caller.
    case authenticated
    /// Root only: methods without a documented permission.
    case root
    /// This controller permission (root holds every one).
    case controller(String)

    public var description: String {
        switch self {
        case .none: "none"
        case .authenticated: "authenticated"
        case .root: "root"
        case .controller(let name): name
        }
    }
}
