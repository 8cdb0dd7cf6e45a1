import BerthTestSupport
import Foundation
import Logging
import TLSTransport
import Testing

@testable import ControlPlane

/// The CA's expiry is warned about 90 days ahead, and reported as an error once past.
@Suite struct CertificateLifetimeTests {
    @Test func theCAIsWarnedAboutNinetyDaysAheadAndAfter() throws {
        let authority = try CertificateAuthority.create()
        let expiry = authority.certificate.notValidAfter
        let logs = LogCapture(level: .info)
        let logger = logs.logger("ca")
        #expect(!CertificateLifetimes.warnIfExpiring(authority.certificate, name: "CA", logger: logger))
        #expect(logs.all.isEmpty)
        let soon = expiry.addingTimeInterval(-30 * 86_400)
        #expect(CertificateLifetimes.warnIfExpiring(authority.certificate, name: "CA", now: soon, logger: logger))
        #expect(logs.contains("warning", "expires soon", "days=30"))
        let edge = expiry.addingTimeInterval(-91 * 86_400)
        #expect(!CertificateLifetimes.warnIfExpiring(authority.certificate, name: "CA", now: edge, logger: logger))
        let past = expiry.addingTimeInterval(86_400 * 2)
        #expect(CertificateLifetimes.warnIfExpiring(authority.certificate, name: "CA", now: past, logger: logger))
        #expect(logs.contains("error", "has expired"))
    }
}
