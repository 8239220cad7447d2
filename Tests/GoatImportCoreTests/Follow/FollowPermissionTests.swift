import Foundation
import Testing
@testable import GoatImportCore
#if canImport(Glibc)
import Glibc
#endif

/// Runs `body` as a user who is not the files' owner: as root, on a thread of its own whose
/// file-system uid is `nobody` (setfsuid is per thread and drops root's DAC override on that
/// thread only); otherwise as the current user, who cannot read a mode 000 file either.
func asUnprivileged(_ body: @escaping () throws -> Void) throws {
    guard geteuid() == 0 else { return try body() }
    // (sys/fsuid.h is not in Swift's Glibc module.)
    typealias SetID = @convention(c) (UInt32) -> Int32
    let setfsuid = unsafeBitCast(dlsym(dlopen(nil, RTLD_NOW), "setfsuid")!, to: SetID.self)
    let setfsgid = unsafeBitCast(dlsym(dlopen(nil, RTLD_NOW), "setfsgid")!, to: SetID.self)
    var failure: Error?
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        _ = setfsgid(65534)
        _ = setfsuid(65534)
        defer { _ = setfsuid(0); _ = setfsgid(0); done.signal() }
        do { try body() } catch { failure = error }
    }
    thread.start()
    done.wait()
    if let failure { throw failure }
}

@Suite("Follow: a new log that cannot be opened yet")
struct FollowPermissionTests {
    @Test("logrotate's create (file first, owner and mode after) is waited for, not fatal")
    func unreadableNewLiveFileIsWaitedFor() throws {
        let dir = FollowTempDir()
        chmod(dir.path, 0o755)
        let live = dir.file("access.log")
        dir.write("access.log", "one\n")
        chmod(live, 0o644)
        let clock = FollowClock()
        let f = FileFollower(path: live, store: nil, options: FollowFollowerTests.options(clock))
        try asUnprivileged {
            let texts = try FollowFollowerTests.texts(f)
            #expect(texts == ["one"])
        }

        // Rotation: the old file renamed away, the new one created in place, not readable yet.
        #expect(rename(live, dir.file("access.log.1")) == 0)
        dir.write("access.log", "two\n")
        chmod(live, 0)
        try asUnprivileged {
            let before = try FollowFollowerTests.texts(f)
            clock.now += 10   // the old file's grace period is over
            let after = try FollowFollowerTests.texts(f)
            #expect(before == [] && after == [])
        }
        chmod(live, 0o644)   // logrotate's chmod/chown
        try asUnprivileged {
            let texts = try FollowFollowerTests.texts(f)
            #expect(texts == ["two"], "read once its owner and mode are set")
        }
    }

    @Test("a log that cannot be opened when following starts is still an error")
    func unreadableAtStartIsAnError() throws {
        let dir = FollowTempDir()
        chmod(dir.path, 0o755)
        dir.write("access.log", "one\n")
        chmod(dir.file("access.log"), 0)
        try asUnprivileged {
            let f = FileFollower(path: dir.file("access.log"), store: nil, options: FollowFollowerTests.options(FollowClock()))
            #expect(throws: SystemError.self) { try f.next(timeout: 0) }
        }
    }
}
