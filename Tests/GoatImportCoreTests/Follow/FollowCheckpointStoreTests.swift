import Foundation
import Testing
@testable import GoatImportCore
#if canImport(Glibc)
import Glibc
#endif

@Suite("Follow: checkpoint store")
struct FollowCheckpointStoreTests {
    static func sample(_ n: UInt64, offset: Int64 = 12345, at date: Date = Date(timeIntervalSince1970: 1_800_000_000)) -> Checkpoint {
        Checkpoint(fingerprint: FileFingerprint(value: n), offset: offset, tail: "0123456789abcdef",
                   line: 678, path: "/var/log/nginx/access.log", updated: date)
    }

    @Test func roundTripCreatesPrivateFileAndDirectories() throws {
        let dir = FollowTempDir()
        let path = dir.file("a/b/state.json")
        let store = try CheckpointStore(path: path)
        #expect(store.checkpoints.isEmpty)
        let now = Date(timeIntervalSince1970: 1_800_000_100)
        store.update(Self.sample(1))
        store.update(Self.sample(0xdead_beef, offset: 7))
        try store.save(now: now)

        var st = stat()
        #expect(stat(path, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o600)
        #expect(stat(dir.file("a/b"), &st) == 0)
        #expect(st.st_mode & 0o777 == 0o700)
        // Only the state file is left behind (no temporary files).
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.file("a/b")) == ["state.json"])

        let loaded = try CheckpointStore(path: path)
        #expect(loaded.checkpoint(for: FileFingerprint(value: 1)) == Self.sample(1))
        #expect(loaded.checkpoint(for: FileFingerprint(value: 0xdead_beef))?.offset == 7)
        #expect(loaded.checkpoints.count == 2)

        let json = try String(contentsOfFile: path, encoding: .utf8)
        #expect(json.contains("\"version\":1"))
        #expect(json.contains("\"fingerprint\":\"00000000deadbeef\""))
        #expect(json.contains("\"updated\":\"2027-01-15T08:00:00Z\""))

        // Saving again replaces the file and keeps it 0600.
        loaded.update(Self.sample(1, offset: 99999))
        try loaded.save(now: now)
        #expect(stat(path, &st) == 0 && st.st_mode & 0o777 == 0o600)
        #expect(try CheckpointStore(path: path).checkpoint(for: FileFingerprint(value: 1))?.offset == 99999)
    }

    @Test func corruptOrUnknownVersionIsAnErrorNamingThePath() throws {
        let dir = FollowTempDir()
        for (text, what) in [("{\"version\":1,\"files\":[{\"fingerprint\":\"zz\"}]}", "corrupt"),
                             ("not json", "corrupt"),
                             ("", "corrupt"),
                             ("{\"version\":1,\"files\":[{\"fingerprint\":\"0000000000000001\",\"offset\":-5,\"tail\":\"\",\"updated\":\"2026-11-27T10:00:00Z\"}]}", "corrupt"),
                             ("{\"version\":7,\"files\":[]}", "version")] {
            dir.write("state.json", text)
            do {
                _ = try CheckpointStore(path: dir.file("state.json"))
                Issue.record("expected an error for \(text)")
            } catch let error as CheckpointError {
                #expect(error.description.contains(dir.file("state.json")))
                #expect(error.description.contains(what))
            }
        }
    }

    @Test func secondLockFails() throws {
        let dir = FollowTempDir()
        let path = dir.file("state.json")
        let first = try CheckpointStore(path: path)
        try first.lock()
        var st = stat()
        #expect(stat(path + ".lock", &st) == 0 && st.st_mode & 0o777 == 0o600)
        let second = try CheckpointStore(path: path)
        #expect(throws: CheckpointError.locked(path: path + ".lock")) { try second.lock() }
        do { try second.lock() } catch {
            #expect("\(error)".contains("another goatimport run holds the lock"))
            #expect("\(error)".contains(path + ".lock"))
        }
        first.unlock()
        // A process spawned meanwhile by another test (fork, then exec) briefly holds a copy
        // of the descriptor, and with it the lock: retry for a moment.
        var attempts = 0
        while true {
            do { try second.lock(); break } catch CheckpointError.locked(_) where attempts < 100 {
                attempts += 1
                usleep(10_000)
            }
        }
    }

    @Test func prunesEntriesNotSeenForThirtyDays() throws {
        let dir = FollowTempDir()
        let store = try CheckpointStore(path: dir.file("state.json"), durable: false)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        store.update(Self.sample(1, at: now.addingTimeInterval(-31 * 86400)))
        store.update(Self.sample(2, at: now.addingTimeInterval(-29 * 86400)))
        store.update(Self.sample(3, at: now.addingTimeInterval(-40 * 86400)))
        store.markSeen(FileFingerprint(value: 3), at: now)
        try store.save(now: now)
        let loaded = try CheckpointStore(path: dir.file("state.json"))
        #expect(Set(loaded.checkpoints.map(\.fingerprint.value)) == [2, 3])
    }

    @Test func defaultPath() {
        #expect(CheckpointStore.defaultPath(environment: ["STATE_DIRECTORY": "/var/lib/goatimport", "HOME": "/h"])
                == "/var/lib/goatimport/state.json")
        #expect(CheckpointStore.defaultPath(environment: ["XDG_STATE_HOME": "/x", "HOME": "/h"]) == "/x/goatimport/state.json")
        #expect(CheckpointStore.defaultPath(environment: ["HOME": "/h"]) == "/h/.local/state/goatimport/state.json")
    }
}
