/// The outcome of an instance's monitored startup script: Anka's `startup_script` object.
public struct ScriptResult: WireCodable, Equatable {
    /// Exit code; -1 when the script timed out or could not run.
    public var returnCode: Int = 0
    public var didTimeout: Bool = false
    public var stdout: String = ""
    public var stderr: String = ""
    /// Problems running the script (not its own output); empty when none.
    public var errors: [String] = []
    /// The shell that ran the script (`/bin/bash`, or `/bin/sh` where bash is missing);
    /// empty when none ran.
    public var shell: String = ""

    public init(
        returnCode: Int = 0,
        didTimeout: Bool = false,
        stdout: String = "",
        stderr: String = "",
        errors: [String] = [],
        shell: String = ""
    ) {
        self.returnCode = returnCode
        self.didTimeout = didTimeout
        self.stdout = stdout
        self.stderr = stderr
        self.errors = errors
        self.shell = shell
    }

    /// Exit 0, in time, without errors.
    public var succeeded: Bool { returnCode == 0 && !didTimeout && errors.isEmpty }

    public func encode(to w: inout PayloadWriter) {
        w.write(1, returnCode)
        w.write(2, didTimeout)
        w.write(3, stdout)
        w.write(4, stderr)
        w.write(5, errors)
        w.write(6, shell)
    }

    public init(from r: inout PayloadReader) throws {
        while let tag = try r.next() {
            switch tag.number {
            case 1: returnCode = try r.int(tag)
            case 2: didTimeout = try r.bool(tag)
            case 3: stdout = try r.string(tag)
            case 4: stderr = try r.string(tag)
            case 5: errors.append(try r.string(tag))
            case 6: shell = try r.string(tag)
            default: try r.skip(tag)
            }
        }
    }
}
