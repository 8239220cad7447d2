#if canImport(Glibc)
import Glibc
#endif

/// Sleeps until something may have changed for a followed file: an inotify event on the file
/// (IN_MODIFY, IN_MOVE_SELF, IN_DELETE_SELF, IN_ATTRIB) or its directory (IN_CREATE,
/// IN_MOVED_TO), a `wake()` from another thread (a self-pipe), or a timeout. Without inotify
/// (not Linux, out of watches, some network file systems) it degrades to polling.
///
/// Events carry no information the follower uses: any wake-up makes it re-check the file,
/// so a lost or coalesced event costs at most one poll interval.
final class FileWatcher {
    private let inotifyFD: Int32
    private let wakeFD: Int32       // read end of a self-pipe
    private let wakeWriteFD: Int32
    private var fileWatch: Int32 = -1
    private var dirWatch: Int32 = -1
    private var watchedDirectory: String?

    var usesInotify: Bool { inotifyFD >= 0 }

    /// What `wait` polls: the wake pipe, and inotify when in use (for waiting on several).
    var descriptors: [Int32] { inotifyFD >= 0 ? [wakeFD, inotifyFD] : [wakeFD] }

    init(useInotify: Bool) {
        inotifyFD = useInotify ? inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC)) : -1
        // A self-pipe rather than an eventfd: Glibc's module map exports neither eventfd nor pipe2.
        // Out of descriptors (EMFILE) it does without: `poll` skips a -1, a stop is noticed at
        // the next re-check, and opening the log reports the error that ends the run.
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) != 0 { fds = [-1, -1] }
        for fd in fds where fd >= 0 {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wakeFD = fds[0]
        wakeWriteFD = fds[1]
    }

    deinit {
        for fd in [inotifyFD, wakeFD, wakeWriteFD] where fd >= 0 { close(fd) }
    }

    /// Watches the file now at `path` (its inode: the watch follows renames) and its directory.
    func watch(file path: String) {
        guard inotifyFD >= 0 else { return }
        if fileWatch >= 0 { inotify_rm_watch(inotifyFD, fileWatch); fileWatch = -1 }
        let fileMask = UInt32(IN_MODIFY | IN_MOVE_SELF | IN_DELETE_SELF | IN_ATTRIB)
        fileWatch = inotify_add_watch(inotifyFD, path, fileMask)
        let dir = Self.directory(of: path)
        if dir != watchedDirectory {
            if dirWatch >= 0 { inotify_rm_watch(inotifyFD, dirWatch) }
            dirWatch = inotify_add_watch(inotifyFD, dir, UInt32(IN_CREATE | IN_MOVED_TO))
            watchedDirectory = dir
        }
    }

    /// Wakes a thread blocked in `wait` (callable from any thread).
    func wake() {
        guard wakeWriteFD >= 0 else { return }
        var one: UInt8 = 1
        _ = write(wakeWriteFD, &one, 1)
    }

    /// Blocks for at most `seconds` (0: just drain pending events). Returns true when woken by
    /// `wake()`.
    @discardableResult
    func wait(seconds: Double) -> Bool {
        var fds = [pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)]
        if inotifyFD >= 0 { fds.append(pollfd(fd: inotifyFD, events: Int16(POLLIN), revents: 0)) }
        let ms = seconds <= 0 ? 0 : Int32(min(seconds * 1000, Double(Int32.max)).rounded(.up))
        let rc = poll(&fds, nfds_t(fds.count), ms)
        if rc <= 0 { return false }
        if fds.count > 1 && fds[1].revents != 0 { drainInotify() }
        if fds[0].revents != 0 {
            // Left unread: once stopped, every later wait returns at once too.
            return true
        }
        return false
    }

    private func drainInotify() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while buffer.withUnsafeMutableBytes({ read(inotifyFD, $0.baseAddress!, $0.count) }) > 0 {}
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let dir = String(path[..<slash])
        return dir.isEmpty ? "/" : dir
    }
}
