import Foundation
import Logging
import X509

/// When certificates near their end: the CA's expiry is warned about in the log (and shown
/// by `berth ca status` and `berth_ca_expiry_timestamp_seconds`) this many days ahead.
public enum CertificateLifetimes {
    public static let expiryWarningDays = 90

    /// Logs a warning when `certificate` expires within ``expiryWarningDays`` (an error once
    /// it has); `true` when it did.
    @discardableResult
    static func warnIfExpiring(_ certificate: Certificate, name: String, now: Date = Date(), logger: Logger) -> Bool {
        let days = Int(certificate.notValidAfter.timeIntervalSince(now) / 86_400)
        guard days < expiryWarningDays else { return false }
        let metadata: Logger.Metadata = [
            "certificate": "\(name)", "expires": "\(certificate.notValidAfter.formatted(.iso8601))", "days": "\(days)",
        ]
        if days < 0 {
            logger.error("certificate has expired: nodes and gateways cannot connect", metadata: metadata)
        } else {
            logger.warning("certificate expires soon; plan its replacement (berth ca status)", metadata: metadata)
        }
        return true
    }
}
