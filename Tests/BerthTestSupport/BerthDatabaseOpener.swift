import ControlPlane
import Foundation
import Persistence

/// Opens the database of a control plane data directory (for seeding in process tests).
public enum BerthDatabaseOpener {
    public static func open(_ dataDirectory: String) throws -> BerthDatabase {
        try DataDirectory(URL(fileURLWithPath: dataDirectory)).openDatabase()
    }
}
