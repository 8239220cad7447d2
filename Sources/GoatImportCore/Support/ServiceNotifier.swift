import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// systemd's service notification protocol (sd_notify(3)) without libsystemd: each message is
/// one datagram to the unix socket named by `$NOTIFY_SOCKET` (a leading `@` names a socket in
/// the abstract namespace). Without the variable every call does nothing, so the program can
/// notify unconditionally. Sends never block: a full socket drops the message, as
/// sd_notify does.
public final class ServiceNotifier: @unchecked Sendable {
    private let fd: Int32
    private var address = sockaddr_un()
    private let addressLength: socklen_t
    private let lock = NSLock()

    /// nil when `NOTIFY_SOCKET` is unset or unusable (not a unix socket path).
    public init?(environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard let name = environment["NOTIFY_SOCKET"], name.count > 1,
              name.hasPrefix("/") || name.hasPrefix("@") else { return nil }
        var bytes = Array(name.utf8)
        if bytes[0] == UInt8(ascii: "@") { bytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { return nil }
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        // An abstract name is exactly its bytes; a path ends at its NUL.
        addressLength = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (bytes[0] == 0 ? 0 : 1))
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return nil }
    }

    deinit { close(fd) }

    /// Startup is finished (`Type=notify` units are "active" from here).
    public func ready() { send("READY=1") }

    /// The program is shutting down (after SIGTERM): the unit shows "deactivating".
    public func stopping() { send("STOPPING=1") }

    /// The line `systemctl status` shows. One line: a newline would start another assignment.
    public func status(_ text: String) {
        send("STATUS=" + String(text.map { $0 == "\n" || $0 == "\r" ? " " : $0 }))
    }

    /// Sends one message; false when it could not be sent.
    @discardableResult
    public func send(_ message: String) -> Bool {
        lock.lock(); defer { lock.unlock() }
        let bytes = Array(message.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bytes.withUnsafeBufferPointer { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), sa, addressLength) }
            }
        }
        return sent == bytes.count
    }
}
