#if canImport(Glibc)
import Glibc
#endif

/// An errno with what was being done, rendered the way command-line users expect
/// (`access.log: No such file or directory`).
public struct SystemError: Error, CustomStringConvertible, Equatable {
    public let errno: Int32
    public let context: String

    public init(errno: Int32, context: String) {
        self.errno = errno
        self.context = context
    }

    public var description: String {
        "\(context): \(String(cString: strerror(errno)))"
    }
}
