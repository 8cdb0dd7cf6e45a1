/// Protocol version negotiation.
///
/// The client sends the range it speaks in ``Hello``; the server picks the highest version
/// both speak and returns it in ``Welcome``, or answers with an ``ErrorFrame``
/// (``WireError/Code/unsupportedVersion``) and closes.
public enum ProtocolVersion {
    /// The newest version this build speaks.
    public static let current: UInt32 = 1
    /// The oldest version this build still speaks.
    public static let minimumSupported: UInt32 = 1

    /// The version both sides speak, or `nil` when the ranges do not overlap.
    public static func negotiate(
        clientMin: UInt32,
        clientMax: UInt32,
        serverMin: UInt32 = minimumSupported,
        serverMax: UInt32 = current
    ) -> UInt32? {
        let high = min(clientMax, serverMax)
        let low = max(clientMin, serverMin)
        return high >= low ? high : nil
    }
}
